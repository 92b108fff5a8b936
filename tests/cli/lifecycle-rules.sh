#!/bin/sh
# The lifecycle's rules from the outside. Every illegal transition exits 4,
# names the key's state and what that state allows, and leaves the store's
# SQL dump unchanged; every repeat of a command that already took effect
# exits 0, says so, and leaves the dump unchanged; every --dry-run prints a
# plan and leaves the dump unchanged.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

T0=$KR_NOW

# refused STATE-PATTERN DESCRIPTION ARGS...: runs a command that must be
# refused (exit 4, one line naming the state) without changing the store.
refused() {
    pattern=$1 what=$2
    shift 2
    dump_store "$t_dir/before.sql"
    kr "$@"
    expect_rc 4 "$what"
    expect_err "$pattern" "$what"
    expect_unchanged "$t_dir/before.sql" "$what"
}

# repeated DESCRIPTION ARGS...: a command already in effect.
repeated() {
    what=$1
    shift
    dump_store "$t_dir/before.sql"
    kr "$@"
    expect_rc 0 "$what"
    expect_out "^nothing to do: " "$what says nothing changed"
    expect_unchanged "$t_dir/before.sql" "$what"
}

# dry_run DESCRIPTION PATTERN ARGS...: a dry run printing PATTERN.
dry_run() {
    what=$1 pattern=$2
    shift 2
    dump_store "$t_dir/before.sql"
    kr "$@"
    expect_rc 0 "$what"
    expect_out "^dry run: nothing was changed" "$what says it is a dry run"
    expect_out "$pattern" "$what shows the change"
    expect_unchanged "$t_dir/before.sql" "$what"
}

# --- one key in each state ----------------------------------------------
kr --now "$T0" init
kr --now "$T0" generate --kid d1 --activate
kr --now "$((T0 + 10))" generate --kid r1
kr --now "$((T0 + 10))" activate r1
kr --now "$((T0 + 20))" generate --kid a1
kr --now "$((T0 + 20))" activate a1
T=$((T0 + 3700))
kr --now "$T" retire d1
expect_rc 0 "set up: retire d1"
kr --now "$T" generate --kid p1
kr --now "$T" generate --kid v1
kr --now "$T" revoke v1 --reason "set up: leaked"
expect_rc 0 "set up: revoke v1"
states=$(sqlite3 "$STORE" "SELECT group_concat(kid || '=' || state, ' ') FROM (SELECT kid, state FROM keys ORDER BY kid)")
[ "$states" = "a1=active d1=retired p1=pending r1=retiring v1=revoked" ] &&
    pass "one key in each state" || fail "set up produced: $states"

# --- illegal transitions --------------------------------------------------
refused "cannot activate key d1: it is retired; a retired key can only be revoked or purged" \
    "activate a retired key" --now "$T" activate d1
refused "cannot activate key v1: it is revoked; a revoked key can only be purged" \
    "activate a revoked key" --now "$T" activate v1
refused "cannot retire key p1: it is pending; a pending key can be activated or revoked" \
    "retire a pending key" --now "$T" retire p1
refused "cannot retire key a1: it is active; an active key becomes retiring when another key is activated, or can be revoked" \
    "retire the active key" --now "$T" retire a1
refused "cannot retire key v1: it is revoked" \
    "retire a revoked key" --now "$T" retire v1
refused "cannot retire key a1: it is active" \
    "retire --force the active key" --now "$T" retire a1 --force
refused "cannot purge key p1: it is pending" "purge a pending key" --now "$T" purge p1
refused "cannot purge key a1: it is active" "purge the active key" --now "$T" purge a1
refused "cannot purge key r1: it is retiring; a retiring key can be activated again before its deadline, retired or revoked" \
    "purge a retiring key" --now "$T" purge r1
refused "cannot activate key r1: it is retired, because its deadline $(date -u -d "@$((T0 + 20 + 7200))" +%Y-%m-%dT%H:%M:%SZ) passed" \
    "activate a retiring key past its deadline" --now "$((T0 + 20 + 7200))" activate r1
refused "kid a1 already exists" \
    "rotate to an existing kid" --now "$T" rotate --kid a1
refused "kid a1 already exists" \
    "rotate --dry-run to an existing kid" --now "$T" rotate --kid a1 --dry-run
refused "overlap 1h is shorter than max_token_ttl \+ leeway \(1h1m\)" \
    "activate with a short overlap" --now "$T" activate p1 --overlap 1h
refused "overlap 1h is shorter" \
    "rotate with a short overlap" --now "$T" rotate --overlap 1h
refused "key r1 stopped being active at" \
    "retire within the guard window" --now "$((T0 + 20 + 60))" retire r1

# Bad input: usage errors and unknown kids change nothing either.
dump_store "$t_dir/before.sql"
kr --now "$T" revoke p1
expect_rc 2 "revoke without --reason"
expect_err "--reason is required" "revoke without --reason"
kr --now "$T" revoke p1 --reason ""
expect_rc 2 "revoke with an empty reason"
kr --now "$T" revoke p1 --reason "two
lines"
expect_rc 2 "revoke with a reason of two lines"
expect_err "one line of printable text" "revoke with a reason of two lines"
kr --now "$T" revoke p1 --reason "$(head -c 256 /dev/zero | tr '\0' x)"
expect_rc 2 "revoke with a reason of 256 bytes"
kr --now "$T" activate nosuch
expect_rc 3 "activate an unknown kid"
expect_err 'no key with kid "nosuch"' "activate an unknown kid"
kr --now "$T" retire nosuch
expect_rc 3 "retire an unknown kid"
kr --now "$T" purge nosuch
expect_rc 3 "purge an unknown kid"
kr --now "$T" rotate --bits 1024
expect_rc 2 "rotate --bits 1024"
kr --now "$T" rotate --kid 'bad kid'
expect_rc 2 "rotate with an invalid kid"
kr --now "$T" activate
expect_rc 2 "activate without a kid"
expect_unchanged "$t_dir/before.sql" "usage errors and unknown kids"

# --- repeats --------------------------------------------------------------
repeated "activate the active key" --now "$T" activate a1
expect_out "key a1 is already active" "activate names the active key"
repeated "retire a retired key" --now "$T" retire d1
repeated "revoke a revoked key" --now "$T" revoke v1 --reason "another reason"
expect_out "reason: set up: leaked" "the repeat shows the first reason"
repeated "tick with nothing due" --now "$T" tick
repeated "rotate --if-older-than on a young key" --now "$T" rotate --if-older-than 1d
kr --now "$T" purge v1
expect_rc 0 "purge the revoked key"
repeated "purge a purged key" --now "$T" purge v1
expect_out "already purged" "purge says it was already purged"
repeated "policy set of values in effect" --now "$T" policy set overlap=2h leeway=60s

# --- dry runs -------------------------------------------------------------
dry_run "activate --dry-run" "^p1: pending -> active$" --now "$T" activate p1 --dry-run
dry_run "rollback --dry-run" "^r1: retiring -> active \(rollback\)$" --now "$T" activate r1 --dry-run
dry_run "rotate --dry-run" "^\(new key\): new -> active$" --now "$T" rotate --dry-run
expect_out "^jwks after: r1 a1 p1 \(new key\)$" "rotate --dry-run lists the new key in the JWKS"
dry_run "rotate --kid --dry-run" "^k9: new -> active$" --now "$T" rotate --kid k9 --dry-run
dry_run "retire --dry-run" "^r1: retiring -> retired$" --now "$((T0 + 20 + 3660))" retire r1 --dry-run
dry_run "retire --force --dry-run" "^r1: retiring -> retired \(forced\)$" --now "$((T0 + 80))" retire r1 --force --dry-run
dry_run "revoke --dry-run" "^a1: active -> revoked$" --now "$T" revoke a1 --reason test --dry-run
dry_run "tick --dry-run" "^r1: retiring -> retired \(deadline passed\)$" --now "$((T0 + 20 + 7200))" tick --dry-run

dump_store "$t_dir/before.sql"
kr --now "$T" --json activate p1 --dry-run
expect_rc 0 "activate --dry-run --json"
if /usr/bin/python3 - "$t_dir/out" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
assert plan["dry_run"] is True, plan
assert plan["changed"] is True, plan
assert [(t["kid"], t["from"], t["to"]) for t in plan["transitions"]] == [
    ("a1", "active", "retiring"), ("p1", "pending", "active")], plan
assert plan["transitions"][0]["retire_after"] - plan["transitions"][0]["retire_allowed_at"] == 7200 - 3660, plan
assert plan["jwks_before"] == ["r1", "a1", "p1"], plan
assert plan["jwks_after"] == ["r1", "a1", "p1"], plan
PY
then pass "the JSON plan lists transitions, deadlines and JWKS kids"; else fail "the JSON plan is wrong: $(cat "$t_dir/out")"; fi
expect_unchanged "$t_dir/before.sql" "activate --dry-run --json"

# --- forced retire and revoking the active key ---------------------------
kr --now "$((T0 + 80))" retire r1 --force
expect_rc 0 "retire --force in the guard window of r1"
expect_out "^r1: retiring -> retired \(forced\)$" "the forced retire says so"
details=$(sqlite3 "$STORE" "SELECT details FROM audit WHERE kid = 'r1' AND event = 'retire'")
case $details in
    *'"cause":"forced"'*'"overridden":"key r1 stopped being active at'*) pass "the audit record keeps the overridden evidence" ;;
    *) fail "retire audit details: $details" ;;
esac

kr --now "$T" revoke a1 --reason "compromised"
expect_rc 0 "revoke the active key"
expect_out "^a1: active -> revoked$" "revoke reports the transition"
grep -q "^keyrot: revoke: warning: there is now no key active" "$t_dir/err" &&
    pass "revoke warns that no key is active" || fail "revoke gave no warning"
[ "$(sqlite3 "$STORE" "SELECT count(*) FROM keys WHERE state = 'active'")" = 0 ] &&
    pass "no key is active after revoking the active one" || fail "a key is still active"
kr --now "$T" sign --aud x
expect_rc 3 "sign without an active key"
kr --now "$T" status
expect_rc 1 "status without an active key"
expect_out "^attention: no active key" "status says there is no active key"
kr --now "$T" activate p1
expect_rc 0 "activate a pending key when none is active"
expect_out "^p1: pending -> active$" "only the new key changes"

kr check
expect_rc 0 "check passes after every rule"
finish
