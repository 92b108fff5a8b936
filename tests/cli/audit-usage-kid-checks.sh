#!/bin/sh
# Regression: `audit --kid 'bad kid!'` was accepted with exit 0 ("no
# audit record matches") while `usage --kid nosuch` exited 3, and `usage
# --kid -` exited 3 though '-' is how the usage table shows tokens counted
# without a known kid. Now both commands reject a kid that is not a valid
# key ID with exit 2, before reading the store. A valid kid that names no
# key exits 3, because keys are never deleted. usage takes '-' to select
# the placeholder rows.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool /usr/bin/python3

for command in audit usage; do
    kr "$command" --kid 'bad kid!'
    expect_rc 2 "$command --kid with an invalid kid"
    expect_err "^keyrot: $command: --kid: \"bad kid!\" is not a valid key ID: expected 1 to 128 of A-Z a-z 0-9 \. _ -$" \
        "$command --kid names the invalid kid"
done

kr --now "$KR_NOW" init || exit 99
kr --now "$KR_NOW" generate --kid k1 --activate || exit 99
kr --now "$KR_NOW" verify not-a-token

for command in audit usage; do
    kr "$command" --kid nosuch
    expect_rc 3 "$command --kid with a kid that names no key"
    expect_err "^keyrot: $command: no key with kid \"nosuch\"$" \
        "$command --kid names the unknown kid"
done

kr audit --kid k1
expect_rc 0 "audit --kid of a key"
expect_out "^[0-9]+ .* generate +k1 " "audit --kid lists the key's records"

kr usage --kid -
expect_rc 0 "usage --kid -"
expect_out "^- +- +0 +- +0 +- +- +1 malformed=1$" "usage --kid - shows the placeholder row"
kr --json usage --kid -
if /usr/bin/python3 - "$t_dir/out" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 1, rows
assert rows[0]["kid"] is None, rows
assert rows[0]["refused_by_reason"] == {"malformed": 1}, rows
PY
then pass "usage --json --kid - returns the placeholder row"
else fail "usage --json --kid -: $(head -c 300 "$t_dir/out")"
fi

finish
