#!/bin/sh
# Usage counters equal what the test did: tokens signed per key and
# audience with the latest exp, verifications accepted with the first and
# last one, and refusals by reason, counted from one-token and batch
# (`verify -`) runs. Also show's usage, the --kid and --since filters, the
# policy switches usage_counters and usage_records (per-token audit records
# that hold the token's SHA-256, never the token), and the migration of a
# store written by schema version 1.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3
need_tool /usr/bin/python3

T0=$KR_NOW
OTHER=$t_dir/other.db

kr --now "$T0" init || exit 99
kr --now "$T0" generate --kid k1 --activate
expect_rc 0 "generate k1"
"$KEYROT" --store "$OTHER" --now "$T0" init >/dev/null 2>&1 || exit 99
"$KEYROT" --store "$OTHER" --now "$T0" generate --kid ghost --activate \
    >/dev/null 2>&1 || exit 99

# sign_to FILE NOW ARGS...: signs a token into FILE.
sign_to() {
    file=$1 now=$2
    shift 2
    kr --now "$now" "$@"
    [ "$t_rc" -eq 0 ] || { fail "sign $*: exit $t_rc"; return; }
    sed 's/^Authorization: Bearer //' "$t_dir/out" >"$t_dir/$file"
}

sign_to a1 "$T0" sign --aud proj-a
sign_to a2 "$T0" sign --aud proj-a
sign_to a3 "$T0" sign --aud proj-a
sign_to a4 "$T0" header --aud proj-a
sign_to b1 "$((T0 + 10))" sign --aud proj-b
sign_to b2 "$((T0 + 10))" sign --aud proj-b
sign_to ab "$((T0 + 10))" sign --aud proj-a --aud proj-b
"$KEYROT" --store "$OTHER" --now "$T0" sign --aud proj-a >"$t_dir/ghost" || exit 99

# A copy of a1 whose signature's first character changed: still base64url,
# but no longer the signature.
a1=$(cat "$t_dir/a1")
sig=${a1##*.}
case $sig in
    A*) forged_sig=B${sig#?} ;;
    *) forged_sig=A${sig#?} ;;
esac
printf '%s.%s\n' "${a1%.*}" "$forged_sig" >"$t_dir/forged"

cat "$t_dir/a1" "$t_dir/a2" "$t_dir/a3" "$t_dir/a4" "$t_dir/b1" "$t_dir/b2" \
    "$t_dir/ab" "$t_dir/forged" "$t_dir/ghost" >"$t_dir/batch"
echo "not-a-token" >>"$t_dir/batch"
"$KEYROT" --store "$STORE" --now "$((T0 + 20))" verify - <"$t_dir/batch" \
    >"$t_dir/out" 2>"$t_dir/err"
t_rc=$?
expect_rc 1 "verify - over a batch with three bad tokens"
[ "$(grep -c '^valid:' "$t_dir/out")" = 7 ] && pass "the batch accepts 7 tokens" ||
    fail "the batch: $(cat "$t_dir/out")"

kr --now "$((T0 + 1000))" verify "$(cat "$t_dir/a2")"
expect_out "^invalid: expired" "a2 has expired at T0+1000"
kr --now "$((T0 + 20))" verify --aud proj-c "$(cat "$t_dir/b1")"
expect_out "^invalid: aud_mismatch" "b1 is not for proj-c"
kr --now "$((T0 + 100))" verify "$(cat "$t_dir/a3")"
expect_rc 0 "a3 verifies at T0+100"

kr --json usage
expect_rc 0 "usage --json"
cp "$t_dir/out" "$t_dir/usage.json"
if /usr/bin/python3 - "$t_dir/usage.json" "$T0" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
t0 = int(sys.argv[2])
by = {(r["kid"], r["aud"]): r for r in rows}
assert set(by) == {("k1", "proj-a"), ("k1", "proj-b"), ("k1", None),
                   (None, None)}, sorted(by, key=str)
a, b = by[("k1", "proj-a")], by[("k1", "proj-b")]
assert (a["signed"], a["last_exp"]) == (5, t0 + 310), a
assert (b["signed"], b["last_exp"]) == (3, t0 + 310), b
assert (a["first_signed_at"], a["last_signed_at"]) == (t0, t0 + 10), a
assert (a["accepted"], a["first_accepted_at"], a["last_accepted_at"]) == (6, t0 + 20, t0 + 100), a
assert (b["accepted"], b["first_accepted_at"], b["last_accepted_at"]) == (3, t0 + 20, t0 + 20), b
assert a["refused_by_reason"] == {"expired": 1}, a
assert a["refused"] == 1, a
assert b["refused_by_reason"] == {"aud_mismatch": 1}, b
# Refused before the signature held: the audience is not trusted.
assert by[("k1", None)]["refused_by_reason"] == {"bad_signature": 1}
# A kid the store does not know counts under no kid, like a missing one.
assert by[(None, None)]["refused_by_reason"] == {"kid_unknown": 1, "malformed": 1}
assert all(r["late"] is None for r in rows)
PY
then pass "usage equals what was signed, accepted and refused"
else fail "usage figures: $(cat "$t_dir/usage.json")"
fi

kr usage
expect_out "^k1 +proj-a +5 +2026-01-01T01:06:10Z +6 +2026-01-01T01:01:20Z +2026-01-01T01:02:40Z +1 expired=1$" \
    "usage table row for k1 and proj-a"
expect_out "^- +- +0 +- +0 +- +- +2 kid_unknown=1 malformed=1$" \
    "usage table row for tokens without a known kid"

kr usage --kid k1
[ "$(grep -c '^k1 ' "$t_dir/out")" = 3 ] && ! grep -q '^ghost' "$t_dir/out" &&
    pass "usage --kid shows only that key" || fail "usage --kid: $(cat "$t_dir/out")"
kr usage --kid nosuchkey
expect_rc 3 "usage --kid of an unknown key"
expect_err "no key with kid .?nosuchkey" "usage --kid of an unknown key names it"
kr usage --kid ghost
expect_rc 3 "usage --kid of a kid only seen in refused tokens"
kr usage --since "$((T0 + 2 * 86400))"
expect_rc 0 "usage --since a later day"
expect_err "no usage recorded for this selection" "usage --since a later day is empty"
kr usage --since 2026-01-01
[ "$(grep -c '^k1 ' "$t_dir/out")" = 3 ] && pass "usage --since the day itself" ||
    fail "usage --since 2026-01-01: $(cat "$t_dir/out")"
kr usage --since yesterday
expect_rc 2 "usage --since with an invalid time"

kr show k1
expect_out "^usage: +audience proj-a: signed 5 \(last exp 2026-01-01T01:06:10Z\), accepted 6 \(last 2026-01-01T01:02:40Z\), refused 1 \(expired=1\)$" \
    "show includes the key's usage"
kr --json show k1
/usr/bin/python3 -c '
import json, sys
k = json.load(sys.stdin)
assert k["kid"] == "k1", k
assert len(k["usage"]) == 3, k
assert {u["aud"]: u["signed"] for u in k["usage"]} == {"proj-a": 5, "proj-b": 3, None: 0}
' <"$t_dir/out" && pass "show --json includes the usage" || fail "show --json: $(cat "$t_dir/out")"

# Per-token records: off by default, chained when on, never the token.
kr audit --event token_signed
expect_err "no audit record matches" "no per-token records by default"
kr --now "$T0" policy set usage_records=1
expect_rc 0 "policy set usage_records=1"
sign_to r1 "$((T0 + 30))" sign --aud proj-r
kr --now "$((T0 + 40))" verify "$(cat "$t_dir/r1")"
kr --now "$((T0 + 40))" verify "$(cat "$t_dir/forged")"
kr --json audit --event token_signed
digest=$(printf '%s' "$(cat "$t_dir/r1")" | sha256sum | cut -d' ' -f1)
expect_out "\"event\":\"token_signed\",\"kid\":\"k1\",\"details\":\\{\"at\":$((T0 + 30)),\"aud\":\"proj-r\",\"exp\":$((T0 + 330)),\"iat\":$((T0 + 30)),\"token_sha256\":\"$digest\"\\}" \
    "the token_signed record holds the token's SHA-256"
kr --json audit --event token_accepted
expect_out "\"token_sha256\":\"$digest\"" "the token_accepted record holds the same SHA-256"
kr --json audit --event token_refused
expect_out "\"reason\":\"bad_signature\"" "the token_refused record names the reason"
sig=$(cut -d. -f3 "$t_dir/r1")
if sqlite3 "$STORE" .dump | grep -q -- "$sig"; then
    fail "the store holds the token's signature"
else
    pass "the store holds no part of the token's signature"
fi
kr audit verify
expect_rc 0 "the chain with per-token records verifies"

# usage_counters=0 stops counting.
kr --now "$T0" policy set usage_records=0 usage_counters=0
expect_rc 0 "policy set usage_counters=0"
sign_to c1 "$((T0 + 50))" sign --aud proj-a
kr --now "$((T0 + 50))" verify "$(cat "$t_dir/c1")"
kr --json usage --kid k1
/usr/bin/python3 -c '
import json, sys
a = [r for r in json.load(sys.stdin) if r["aud"] == "proj-a"][0]
assert (a["signed"], a["accepted"]) == (5, 6), a
' <"$t_dir/out" && pass "usage_counters=0 counts nothing" || fail "usage_counters=0: $(cat "$t_dir/out")"

# A store written by schema version 1 migrates and keeps its counts.
rm -f "$STORE"
sqlite3 "$STORE" <"$TOP_SRCDIR/data/store-v1.sql" || exit 99
kr --json usage
/usr/bin/python3 -c '
import json, sys
rows = {r["aud"]: r for r in json.load(sys.stdin)}
assert rows["proj-a"]["signed"] == 2, rows
assert rows["proj-a"]["last_exp"] == 1767229700, rows
assert rows["proj-b"]["signed"] == 1, rows
' <"$t_dir/out" && pass "a version 1 store keeps its usage after migration" ||
    fail "migrated usage: $(cat "$t_dir/out")"
[ "$(sqlite3 "$STORE" 'PRAGMA user_version')" = 5 ] && pass "the store is migrated to the current version 5" ||
    fail "schema version after migration: $(sqlite3 "$STORE" 'PRAGMA user_version')"
kr audit verify
expect_rc 0 "a migrated store's chain verifies"
kr --now "$((T0 + 600))" sign --aud proj-a
expect_rc 0 "a migrated store signs"
kr --json usage
expect_out '"aud":"proj-a","signed":3' "a migrated store counts on"
kr audit verify
expect_rc 0 "a migrated store's chain verifies after new records"

finish
