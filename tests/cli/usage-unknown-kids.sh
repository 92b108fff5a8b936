#!/bin/sh
# Regression: kids in untrusted tokens grew the usage tables without
# limit. Verifying 300 tokens, each with a new random kid, added 300
# permanent rows to usage_refused, one per kid. Now a refusal for a kid
# that the store does not know counts under the placeholder kid '-', and
# only kids of keys in the store get counts of their own.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3
need_tool /usr/bin/python3

kr --now "$KR_NOW" init || exit 99
kr --now "$KR_NOW" generate --kid k1 --activate || exit 99
kr --now "$KR_NOW" sign --aud proj
expect_rc 0 "sign a token with k1"
good=$(cat "$t_dir/out")

# 300 tokens with the shape of a real one, each under a kid never seen.
/usr/bin/python3 - "$good" >"$t_dir/hostile" <<'PY'
import base64, json, secrets, sys
_, payload, sig = sys.argv[1].split(".")
for _ in range(300):
    header = {"alg": "RS256", "typ": "JWT", "kid": "rnd-" + secrets.token_hex(8)}
    h = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    print(f"{h}.{payload}.{sig}")
PY
[ "$(wc -l <"$t_dir/hostile")" = 300 ] || exit 99

rows_before=$(sqlite3 "$STORE" "SELECT count(*) FROM usage_refused") || exit 99
"$KEYROT" --store "$STORE" --now "$KR_NOW" verify - <"$t_dir/hostile" \
    >"$t_dir/out" 2>"$t_dir/err"
t_rc=$?
expect_rc 1 "verify of 300 tokens with unknown kids"
[ "$(grep -c '^invalid: kid_unknown: no key with kid "rnd-' "$t_dir/out")" = 300 ] &&
    pass "each token is refused as kid_unknown, naming its kid" ||
    fail "verify results: $(head -c 300 "$t_dir/out")"
rows_after=$(sqlite3 "$STORE" "SELECT count(*) FROM usage_refused") || exit 99
[ "$((rows_after - rows_before))" -le 1 ] &&
    pass "300 unknown kids add at most one usage row ($((rows_after - rows_before)))" ||
    fail "300 unknown kids added $((rows_after - rows_before)) usage rows"

kr usage
expect_out "^- +- +0 +- +0 +- +- +300 kid_unknown=300$" \
    "usage counts the 300 refusals under kid '-'"
if grep -q '^rnd-' "$t_dir/out"; then
    fail "usage lists an unknown kid: $(grep -m1 '^rnd-' "$t_dir/out")"
else
    pass "usage lists no unknown kid"
fi
kr --json usage
if /usr/bin/python3 - "$t_dir/out" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
assert sorted(str(r["kid"]) for r in rows) == ["None", "k1"], rows
unknown = [r for r in rows if r["kid"] is None][0]
assert unknown["refused_by_reason"] == {"kid_unknown": 300}, rows
PY
then pass "usage --json has k1's row and one row with kid null"
else fail "usage --json: $(head -c 300 "$t_dir/out")"
fi

# A kid of a key in the store keeps its own counts.
# The signature's first character changed: still base64url, no longer
# the signature.
sig=${good##*.}
case $sig in
    A*) forged_sig=B${sig#?} ;;
    *) forged_sig=A${sig#?} ;;
esac
kr --now "$KR_NOW" verify "${good%.*}.$forged_sig"
expect_out "^invalid: bad_signature" "verify of a forged k1 token"
kr --now "$KR_NOW" verify "$good"
expect_rc 0 "verify of a good k1 token"
kr --json usage --kid k1
if /usr/bin/python3 - "$t_dir/out" <<'PY'
import json, sys
rows = {r["aud"]: r for r in json.load(open(sys.argv[1]))}
assert rows[None]["refused_by_reason"] == {"bad_signature": 1}, rows
assert rows["proj"]["accepted"] == 1, rows
assert rows["proj"]["signed"] == 1, rows
PY
then pass "a known kid's refusal and acceptance count under it"
else fail "usage --kid k1: $(head -c 400 "$t_dir/out")"
fi

# With per-token records on, the record of such a refusal names no key
# and keeps the claimed kid in its details.
kr --now "$KR_NOW" policy set usage_records=1 || exit 99
head -n 1 "$t_dir/hostile" >"$t_dir/one"
claimed=$(head -n 1 "$t_dir/hostile" | cut -d. -f1 | /usr/bin/python3 -c '
import base64, json, sys
h = sys.stdin.read().strip()
print(json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"])')
"$KEYROT" --store "$STORE" --now "$KR_NOW" verify - <"$t_dir/one" >/dev/null 2>&1
kr --json audit --event token_refused
expect_out "\"event\":\"token_refused\",\"kid\":null,\"details\":\\{.*\"kid\":\"$claimed\"" \
    "the per-token record keeps the claimed kid in its details"
kr audit verify
expect_rc 0 "the audit chain verifies"

finish
