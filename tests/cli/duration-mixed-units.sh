#!/bin/sh
# Durations that are no whole number of one unit were shown in the
# smallest exact unit: max_token_ttl 2h plus leeway 1m read "(121m)". They
# are now written largest unit first ("2h1m"), and every duration keyrot
# prints can be given back to it. rotate --if-older-than also printed
# "nothing to do" twice in one line.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

T0=$KR_NOW
kr --now "$T0" init

kr policy set max_token_ttl=2h
expect_rc 4 "max_token_ttl=2h with a 2h overlap"
expect_err "overlap 2h is shorter than max_token_ttl \+ leeway \(2h1m\)" \
    "the needed overlap reads 2h1m"

# Mixed units are accepted, and shown back the same way.
kr policy set overlap=7260 max_token_ttl=2h
expect_rc 0 "overlap 7260 seconds"
expect_out "^overlap: 2h -> 2h1m$" "7260 seconds are shown as 2h1m"
kr policy set overlap=2h1m
expect_rc 0 "overlap=2h1m as printed"
expect_out "^nothing to do: every setting is already in effect$" "2h1m is the same value"
kr policy set leeway=1m30s
expect_rc 4 "leeway 1m30s with an overlap of 2h1m"
expect_err "overlap 2h1m is shorter than max_token_ttl \+ leeway \(2h1m30s\)" \
    "seconds are kept"
kr policy set rotate_every=1d12h
expect_rc 0 "rotate_every=1d12h"
kr --json policy
expect_out '"rotate_every":129600' "1d12h is 129600 seconds"
kr policy
expect_out "^rotate_every +1d12h$" "policy shows 1d12h"

# Units must come largest first, each once, and a bare number has no unit.
dump_store "$t_dir/before.sql"
for bad in 1h30 1m1h 1h1h 5x h 1d-1; do
    kr policy set overlap="$bad"
    expect_rc 2 "overlap=$bad"
    expect_err "invalid duration '$bad'" "overlap=$bad is invalid"
done
kr policy set overlap=36600d1s
expect_rc 2 "a duration over 100 years"
expect_err "longer than 100 years" "overlap=36600d1s is too long"
expect_unchanged "$t_dir/before.sql" "invalid durations"

# rotate --if-older-than: the reason, with "nothing to do" printed once.
kr --now "$T0" generate --kid k1 --activate
kr --now "$((T0 + 86400 + 3600))" rotate --if-older-than 90d
expect_rc 0 "rotate --if-older-than on a young key"
expect_out "^nothing to do: the active key k1 was activated 1d1h ago, less than 90d$" \
    "rotate gives the age and says nothing to do once"
finish
