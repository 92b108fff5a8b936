#!/bin/sh
# check reports a stored policy that breaks the rules policy set enforces.
# Regression: a default_bits of 3000, left by an older keyrot or a hand
# edit, passed check while generate and rotate refused to use it.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

kr init
kr check
expect_rc 0 "a new store passes check"

sqlite3 "$STORE" "UPDATE policy SET value = 3000 WHERE name = 'default_bits'" || exit 99
kr check
expect_rc 1 "check with default_bits 3000"
expect_out "^problem: policy: default_bits is 3000" "check names the bad size"

sqlite3 "$STORE" "UPDATE policy SET value = 2048 WHERE name = 'default_bits';
                  UPDATE policy SET value = 60 WHERE name = 'overlap'" || exit 99
kr --json check
expect_rc 1 "check with an overlap shorter than max_token_ttl + leeway"
expect_out '"check":"policy"' "check --json names the policy problem"

finish
