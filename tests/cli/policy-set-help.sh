#!/bin/sh
# "policy set --help" was read as a setting: "expected NAME=VALUE, got
# '--help'" with exit 2, or exit 3 when no store existed. It now prints the
# policy usage and exits 0, with or without a store, and changes nothing.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

kr policy set --help
expect_rc 0 "policy set --help without a store"
expect_out "^Usage: keyrot policy$" "policy set --help prints the usage"
expect_out "default_bits" "the usage lists the settings"
[ -e "$STORE" ] && fail "policy set --help created a store" ||
    pass "policy set --help creates no store"

kr init
expect_rc 0 "init"
dump_store "$t_dir/before.sql"
kr policy set -h
expect_rc 0 "policy set -h"
expect_out "^Usage: keyrot policy$" "policy set -h prints the usage"
kr policy set overlap=3h --help
expect_rc 0 "policy set NAME=VALUE --help"
expect_out "^Usage: keyrot policy$" "--help after a setting prints the usage"
expect_unchanged "$t_dir/before.sql" "policy set --help"

kr policy set --bogus
expect_rc 2 "policy set with another option"
expect_err "expected NAME=VALUE, got '--bogus'" "other options are still usage errors"
finish
