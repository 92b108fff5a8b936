#!/bin/sh
# An operator's whole rotation on a clock set with --now: the next key is
# registered and published in the JWKS, activated, the old key keeps
# verifying through the overlap, an early retire is refused with its
# evidence, retire succeeds once the guard window has passed, then purge.
# A second rotation is left alone: tokens of its old key become key_retired
# at the deadline although nothing ran tick.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

T0=$KR_NOW
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# jwks_kids: the kids of the JWKS that the last kr printed, one per line.
jwks_kids() {
    /usr/bin/python3 -c 'import json,sys; print("\n".join(k["kid"] for k in json.load(sys.stdin)["keys"]))' <"$t_dir/out"
}

# token_kid TOKEN: the kid in a token's header.
token_kid() {
    printf '%s' "${1%%.*}" | tr '_-' '/+' | base64 -d 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])'
}

state_of() {
    sqlite3 "$STORE" "SELECT state FROM keys WHERE kid = '$1'"
}

# --- the current key signs ------------------------------------------------
kr --now "$T0" init
expect_rc 0 "init"
kr --now "$T0" generate --kid old --activate
expect_rc 0 "generate the current key, active"

# --- register the next key: it is published before it signs ---------------
T1=$((T0 + 30 * 86400))
kr --now "$T1" generate --kid next
expect_rc 0 "generate the next key"
[ "$(state_of next)" = pending ] && pass "the next key is pending" ||
    fail "the next key is $(state_of next)"
kr --now "$T1" jwks
if jwks_kids | grep -x next >/dev/null && jwks_kids | grep -x old >/dev/null; then
    pass "the JWKS publishes the next key beside the current one"
else
    fail "the JWKS holds: $(jwks_kids | tr '\n' ' ')"
fi

# A token signed a minute before the switch, valid for an hour.
SWITCH=$((T1 + 600))
kr --now "$((SWITCH - 60))" sign --aud project --ttl 1h
expect_rc 0 "sign with the current key"
tok_old=$(cat "$t_dir/out")
[ "$(token_kid "$tok_old")" = old ] && pass "the token names kid old" ||
    fail "the token names kid $(token_kid "$tok_old")"

# --- the switch, first planned, then done ---------------------------------
dump_store "$t_dir/before.sql"
kr --now "$SWITCH" activate next --dry-run
expect_rc 0 "activate --dry-run"
expect_out "^dry run: nothing was changed" "the dry run says nothing changed"
expect_out "^old: active -> retiring \(verifies until $(iso $((SWITCH + 7200))); retire allowed from $(iso $((SWITCH + 3660)))\)$" \
    "the plan shows the old key's deadlines"
expect_out "^next: pending -> active$" "the plan shows the next key activated"
expect_out "^jwks before: old next$" "the plan shows the JWKS before"
expect_out "^jwks after: old next$" "the plan shows the JWKS after"
expect_unchanged "$t_dir/before.sql" "activate --dry-run"

kr --now "$SWITCH" activate next
expect_rc 0 "activate the next key"
expect_out "^old: active -> retiring" "the old key becomes retiring"
[ "$(state_of old)" = retiring ] && pass "the store records old as retiring" ||
    fail "old is $(state_of old)"

kr --now "$((SWITCH + 10))" sign --aud project
tok_new=$(cat "$t_dir/out")
[ "$(token_kid "$tok_new")" = next ] && pass "signing switched to kid next" ||
    fail "after the switch the token names $(token_kid "$tok_new")"

# --- the overlap ----------------------------------------------------------
kr --now "$((SWITCH + 1800))" verify --aud project "$tok_old"
expect_rc 0 "the old key's token verifies in the overlap"
expect_out "^valid: kid old" "verify names the old key"
kr --now "$((SWITCH + 1800))" jwks
jwks_kids | grep -x old >/dev/null && pass "the JWKS keeps the old key in the overlap" ||
    fail "the old key left the JWKS in the overlap"

# --- an early retire is refused, naming the evidence ----------------------
dump_store "$t_dir/before.sql"
kr --now "$((SWITCH + 1800))" retire old
expect_rc 4 "retire in the guard window"
expect_err "key old stopped being active at $(iso "$SWITCH"); a token it signed may be valid until $(iso $((SWITCH + 3660))) \(max_token_ttl 1h \+ leeway 1m\)" \
    "the refusal names when the key stopped and until when tokens live"
expect_unchanged "$t_dir/before.sql" "the refused retire"

kr --now "$((SWITCH + 3659))" retire old
expect_rc 4 "retire one second before the window ends"

# --- retire after the window, then purge ----------------------------------
kr --now "$((SWITCH + 3660))" retire old
expect_rc 0 "retire once max_token_ttl + leeway has passed"
expect_out "^old: retiring -> retired$" "retire reports the transition"
expect_out "^jwks after: next$" "the old key leaves the JWKS"
kr --now "$((SWITCH + 3660))" verify --aud project "$tok_old"
expect_rc 1 "the retired key's token is refused"
expect_out "^invalid: key_retired" "verify says key_retired"

kr --now "$((SWITCH + 3700))" purge old
expect_rc 0 "purge the retired key"
expect_out "^purged the private part of old" "purge says what it did"
kr show old
expect_out "^private part: +purged" "show reports the private part purged"
expect_out "^state: +retired" "the public record stays"
events=$(sqlite3 "$STORE" "SELECT group_concat(event, ' ') FROM (SELECT event FROM audit WHERE kid = 'old' ORDER BY seq)")
[ "$events" = "generate activate deactivate retire purge" ] &&
    pass "the audit log tells the old key's story" ||
    fail "audit events of old: $events"

kr check
expect_rc 0 "check passes after the rotation"
kr --now "$((SWITCH + 3700))" status
expect_rc 0 "status is healthy"
expect_out "^ok: active key next" "status names the active key"

# --- a rotation left alone: the deadline holds without tick ---------------
R=$((SWITCH + 86400))
kr --now "$((R - 60))" sign --aud project --ttl 1h
tok_next=$(cat "$t_dir/out")
kr --now "$R" rotate --kid third
expect_rc 0 "rotate to a third key"
expect_out "^third: new -> active$" "rotate creates and activates the key"
expect_out "^next: active -> retiring" "rotate demotes the previous key"

kr --now "$((R + 1800))" verify --aud project "$tok_next"
expect_rc 0 "the previous key's token verifies in the overlap"
kr --now "$((R + 7200))" verify --aud project "$tok_next"
expect_rc 1 "at its deadline the previous key's token is refused"
expect_out "^invalid: key_retired" "verify says key_retired at the deadline"
[ "$(state_of next)" = retiring ] &&
    pass "nothing ran tick: the store still records next as retiring" ||
    fail "next is $(state_of next) although nothing ran tick"
kr --now "$((R + 7200))" jwks
jwks_kids | grep -x next >/dev/null && fail "the JWKS still holds next past its deadline" ||
    pass "the JWKS drops next at its deadline without tick"
kr --now "$((R + 7200))" status
expect_rc 1 "status asks for attention past the deadline"
expect_out "retiring key next passed its deadline" "status names the key"

kr --now "$((R + 7200))" tick
expect_rc 0 "tick"
expect_out "^next: retiring -> retired \(deadline passed\)$" "tick retires the due key"
kr --now "$((R + 7200))" status
expect_rc 0 "status is healthy after tick"

# --- cron: rotate only when the active key is old enough ------------------
dump_store "$t_dir/before.sql"
kr --now "$((R + 86400))" rotate --if-older-than 30d
expect_rc 0 "rotate --if-older-than on a young key"
expect_out "^nothing to do: the active key third was activated 1d ago, less than 30d" \
    "rotate says why it did nothing"
expect_unchanged "$t_dir/before.sql" "rotate --if-older-than on a young key"
kr --now "$((R + 31 * 86400))" --json rotate --if-older-than 30d
expect_rc 0 "rotate --if-older-than on an old key"
expect_out '"changed":true' "the old key is rotated"
[ "$(sqlite3 "$STORE" "SELECT count(*) FROM keys")" = 4 ] &&
    pass "the rotation added one key" || fail "the store holds $(sqlite3 "$STORE" "SELECT count(*) FROM keys") keys"

kr check
expect_rc 0 "check passes at the end"
finish
