#!/bin/sh
# policy shows the settings and policy set changes them: all settings of one
# command are checked together and written in one transaction, a refused
# or invalid setting leaves the store unchanged, and values already in
# effect change nothing.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

kr init
kr policy
expect_rc 0 "policy"
expect_out "^token_ttl +5m$" "token_ttl defaults to 5m"
expect_out "^max_token_ttl +1h$" "max_token_ttl defaults to 1h"
expect_out "^leeway +1m$" "leeway defaults to 60s"
expect_out "^overlap +2h$" "overlap defaults to 2h"
expect_out "^rotate_every +90d$" "rotate_every defaults to 90d"
expect_out "^min_bits +2048$" "min_bits defaults to 2048"
expect_out "^default_bits +2048$" "default_bits defaults to 2048"
kr --json policy
expect_out '"token_ttl":300,"max_token_ttl":3600,"leeway":60,"overlap":7200,"rotate_every":7776000,"min_bits":2048,"default_bits":2048' \
    "policy --json, durations in seconds"

# refused_set CODE PATTERN DESCRIPTION SETTINGS...
refused_set() {
    code=$1 pattern=$2 what=$3
    shift 3
    dump_store "$t_dir/before.sql"
    kr policy set "$@"
    expect_rc "$code" "$what"
    expect_err "$pattern" "$what"
    expect_unchanged "$t_dir/before.sql" "$what"
}

refused_set 4 "overlap 2h is shorter than max_token_ttl \+ leeway \(2h1m\)" \
    "raising max_token_ttl alone past the overlap" max_token_ttl=2h
refused_set 2 "unknown policy setting 'bogus'" "an unknown setting" bogus=1
refused_set 2 "expected NAME=VALUE, got 'overlap'" "a setting without a value" overlap
refused_set 2 "invalid duration" "a duration that is not one" overlap=soon
refused_set 4 "min_bits must be between 2048 and 4096" "min_bits below 2048" min_bits=1024
refused_set 4 "token_ttl \(7200s\) may not exceed max_token_ttl \(3600s\)" \
    "token_ttl above max_token_ttl" token_ttl=2h
refused_set 2 "unknown policy setting 'bogus'" \
    "a valid setting followed by an unknown one" overlap=3h bogus=1
refused_set 2 "policy set needs at least one NAME=VALUE" "policy set with nothing"
kr policy frobnicate
expect_rc 2 "an unknown policy subcommand"

# Settings that are only consistent together, in either order.
kr policy set max_token_ttl=2h overlap=3h
expect_rc 0 "max_token_ttl and overlap together"
expect_out "^max_token_ttl: 1h -> 2h$" "the change of max_token_ttl is listed"
expect_out "^overlap: 2h -> 3h$" "the change of overlap is listed"
kr policy set overlap=4h max_token_ttl=3h
expect_rc 0 "the same kind of change in the other order"
[ "$(sqlite3 "$STORE" "SELECT count(*) FROM audit WHERE event = 'policy_set'")" = 4 ] &&
    pass "one audit record per changed value" || fail "policy_set audit records are wrong"

dump_store "$t_dir/before.sql"
kr policy set overlap=4h max_token_ttl=3h
expect_rc 0 "setting values already in effect"
expect_out "^nothing to do: every setting is already in effect$" "policy set says nothing changed"
expect_unchanged "$t_dir/before.sql" "setting values already in effect"

kr policy set default_bits=3072 rotate_every=30d token_ttl=10m
expect_rc 0 "three settings at once"
kr --json policy
expect_out '"token_ttl":600,"max_token_ttl":10800,"leeway":60,"overlap":14400,"rotate_every":2592000,"min_bits":2048,"default_bits":3072' \
    "the policy holds every change"

# The new policy is what the lifecycle uses.
kr generate --kid k1 --activate
kr generate --kid k2
kr activate k2 --overlap 3h
expect_rc 4 "an overlap below the new max_token_ttl + leeway"
expect_err "overlap 3h is shorter than max_token_ttl \+ leeway \(3h1m\)" "the refusal uses the new policy"
kr show k1
expect_out "^key: +RSA 3072$" "generate uses the new default_bits"
finish
