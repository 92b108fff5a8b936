#!/bin/sh
# For a retiring key past its deadline that nothing had moved to retired,
# retire printed "key t1 is already retired" next to the retirement it had
# just applied ("changed":true with that note in JSON), and activate worded
# its refusal differently before and after tick. Every lifecycle command
# applies due retirements first. The dry run and the real run must print
# the same plan, due retirements included. A key retired at its deadline
# is refused in the same words whether tick recorded it or not.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

T0=$KR_NOW
T=$((T0 + 8000)) # past t1's deadline T0 + 2h
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
DEADLINE=$(iso $((T0 + 7200)))

# t1 retiring with its deadline at T0 + 2h, t2 active.
kr --now "$T0" init
kr --now "$T0" generate --kid t1 --activate
kr --now "$T0" generate --kid t2 --activate
expect_rc 0 "set up: t1 retiring, t2 active"
cp -p "$STORE" "$t_dir/template.db" || exit 99

fresh_store() {
    cp -p "$t_dir/template.db" "$STORE" || exit 99
}

# same_plan DESCRIPTION ARGS...: on a fresh store, the dry run of ARGS
# (after its "dry run:" line) prints exactly what the real run prints.
same_plan() {
    what=$1
    shift
    fresh_store
    dump_store "$t_dir/before.sql"
    kr --now "$T" "$@" --dry-run
    expect_rc 0 "$what --dry-run"
    expect_unchanged "$t_dir/before.sql" "$what --dry-run"
    sed 1d "$t_dir/out" >"$t_dir/dry.out"
    kr --now "$T" "$@"
    expect_rc 0 "$what"
    if cmp -s "$t_dir/dry.out" "$t_dir/out"; then
        pass "$what: the dry run printed the real run's plan"
    else
        fail "$what: the dry run and the real run differ"
        diff "$t_dir/dry.out" "$t_dir/out"
    fi
}

# --- retire -----------------------------------------------------------------
same_plan "retire t1" retire t1
expect_out "^t1: retiring -> retired \(deadline passed\)$" \
    "retire shows the retirement at the deadline"
grep -q "already retired" "$t_dir/out" &&
    fail "retire calls the key it just retired already retired" ||
    pass "retire does not call the key already retired"
expect_out "^jwks after: t2$" "t1 left the JWKS"
kr --now "$T" retire t1
expect_rc 0 "retire t1 again"
expect_out "^nothing to do: key t1 is already retired$" "the repeat says nothing changed"

fresh_store
kr --now "$T" --json retire t1 --dry-run
expect_rc 0 "--json retire --dry-run"
if /usr/bin/python3 - "$t_dir/out" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
assert plan["dry_run"] is True, plan
assert plan["changed"] is True, plan
assert plan["note"] is None, plan
changes = [(t["kid"], t["from"], t["to"], t.get("cause")) for t in plan["transitions"]]
assert changes == [("t1", "retiring", "retired", "deadline passed")], changes
PY
then pass "the JSON plan lists the retirement without a note"; else fail "the JSON plan is wrong: $(cat "$t_dir/out")"; fi

# --- revoke -----------------------------------------------------------------
same_plan "revoke t1" revoke t1 --reason "leaked"
expect_out "^t1: retiring -> retired \(deadline passed\)$" \
    "revoke shows the retirement it applied first"
expect_out "^t1: retired -> revoked$" "revoke shows the revocation"
first=$(grep -n 'deadline passed' "$t_dir/out" | cut -d: -f1)
second=$(grep -n 'retired -> revoked' "$t_dir/out" | cut -d: -f1)
[ "$first" -lt "$second" ] && pass "the retirement is listed before the revocation" ||
    fail "the plan lists the revocation first"

# --- tick and purge ---------------------------------------------------------
same_plan "tick" tick
expect_out "^t1: retiring -> retired \(deadline passed\)$" "tick shows the retirement"

fresh_store
kr --now "$T" purge t1
expect_rc 0 "purge a retiring key past its deadline"
expect_out "^t1: retiring -> retired \(deadline passed\)$" \
    "purge shows the retirement it applied first"
expect_out "^purged the private part of t1" "purge says what it did"

# --- activate: one refusal, ticked or not -----------------------------------
fresh_store
dump_store "$t_dir/before.sql"
kr --now "$T" activate t1
expect_rc 4 "activate t1 before tick"
expect_err "^keyrot: activate: cannot activate key t1: it is retired, because its deadline $DEADLINE passed; a retired key can only be revoked or purged$" \
    "activate before tick names the passed deadline"
cp "$t_dir/err" "$t_dir/unticked.err"
expect_unchanged "$t_dir/before.sql" "the refused activate"
kr --now "$T" activate t1 --dry-run
expect_rc 4 "activate t1 --dry-run before tick"
cmp -s "$t_dir/err" "$t_dir/unticked.err" &&
    pass "the dry run is refused in the same words" ||
    fail "the dry run's refusal differs: $(cat "$t_dir/err")"

kr --now "$T" tick
expect_rc 0 "tick"
kr --now "$T" activate t1
expect_rc 4 "activate t1 after tick"
cmp -s "$t_dir/err" "$t_dir/unticked.err" &&
    pass "after tick the refusal is worded the same" ||
    fail "after tick the refusal differs: $(cat "$t_dir/err")"

# A key retired by retire before its deadline keeps the plain wording.
fresh_store
kr --now "$((T0 + 3660))" retire t1
expect_rc 0 "retire t1 once the guard window has passed"
kr --now "$T" activate t1
expect_rc 4 "activate a key retired before its deadline"
expect_err "^keyrot: activate: cannot activate key t1: it is retired; a retired key can only be revoked or purged$" \
    "the refusal of a key retired early names no deadline"

kr check
expect_rc 0 "check passes"

# A plan lists 16 state changes and counts the rest, in the singular for
# one ("and 1 more state change").
fresh_store
for i in $(seq 3 18); do
    kr --now "$T0" generate --kid "m$i" --activate
done
kr --now "$T" tick
expect_rc 0 "tick with 17 due retirements"
[ "$(grep -c 'deadline passed' "$t_dir/out")" -eq 16 ] &&
    pass "the plan lists 16 state changes" ||
    fail "the plan lists $(grep -c 'deadline passed' "$t_dir/out") state changes"
expect_out "^and 1 more state change$" "the 17th is counted in the singular"
finish
