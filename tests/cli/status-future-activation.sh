#!/bin/sh
# status printed "active key k1, -1127s old" when the active key had been
# activated at a later --now than the one status ran at. It now says the
# key was activated in the future, and when.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"

T0=$KR_NOW
kr --now "$T0" init
kr --now "$T0" generate --kid k1 --activate

kr --now "$((T0 - 1127))" status
expect_rc 0 "status before the activation"
expect_out "^ok: active key k1, activated in the future at 2026-01-01T01:01:00Z, rotation due 2026-04-01T01:01:00Z; 0 pending, 0 retiring$" \
    "status says the key was activated in the future"
grep -q -- '-1127' "$t_dir/out" && fail "status prints a negative age" ||
    pass "status prints no negative age"

kr --now "$T0" status
expect_rc 0 "status at the activation"
expect_out "^ok: active key k1, 0s old," "at the activation the key is 0s old"
finish
