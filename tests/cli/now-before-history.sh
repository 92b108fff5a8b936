#!/bin/sh
# --now earlier than the recorded history was accepted by lifecycle
# changes: "keyrot --now $((N - 86400)) activate t2" ran a day before t1
# was activated, so t2's activation came before its creation and t1's
# retire_after before its own activation. activate, rotate, retire,
# revoke and purge now refuse (exit 4), naming the recorded time, a --now
# before the latest event of a key they change, and leave the store as it
# was; import --activate adds no key when its activation is refused.
# Reads such as status and jwks still accept any --now.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

T0=$KR_NOW
DAY=86400
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# refused_at WHEN PATTERN DESCRIPTION ARGS...: a change at --now WHEN is
# refused with exit 4 and one line matching PATTERN; the store is as it was.
refused_at() {
    when=$1 pattern=$2 what=$3
    shift 3
    dump_store "$t_dir/before.sql"
    kr --now "$when" "$@"
    expect_rc 4 "$what"
    expect_err "^keyrot: [a-z]+: (.*: )?--now $(iso "$when") is before key $pattern; a change to a key cannot be dated before its recorded history$" \
        "$what"
    expect_unchanged "$t_dir/before.sql" "$what"
}

kr --now "$T0" init
kr --now "$T0" generate --kid t1 --activate
kr --now "$T0" generate --kid t2
expect_rc 0 "set up: t1 active, t2 pending, both at T0"

# --- the trial's case and its relatives -----------------------------------
refused_at "$((T0 - DAY))" "t1 was activated at $(iso "$T0")" \
    "activate a day before the active key's activation" activate t2
refused_at "$((T0 - DAY))" "t1 was activated at $(iso "$T0")" \
    "the same activate as a dry run" activate t2 --dry-run
refused_at "$((T0 - 1))" "t1 was activated at $(iso "$T0")" \
    "activate one second before" activate t2
refused_at "$((T0 - DAY))" "t1 was activated at $(iso "$T0")" \
    "rotate before the active key's activation" rotate --kid t9
refused_at "$((T0 - DAY))" "t1 was activated at $(iso "$T0")" \
    "rotate --if-older-than before the activation" rotate --if-older-than 1d
refused_at "$((T0 - DAY))" "t1 was activated at $(iso "$T0")" \
    "generate --activate before the activation" generate --kid t8 --activate
refused_at "$((T0 - DAY))" "t2 was created at $(iso "$T0")" \
    "revoke before the key's creation" revoke t2 --reason "test"
openssl genrsa -out "$t_dir/t7.pem" 2048 2>/dev/null || exit 99
refused_at "$((T0 - DAY))" "t1 was activated at $(iso "$T0")" \
    "import --activate before the activation" import "$t_dir/t7.pem" --kid t7 --activate
[ "$(sqlite3 "$STORE" "SELECT count(*) FROM keys")" = 2 ] &&
    pass "the refused generate and import left no key" ||
    fail "a refused command added a key"

# The same second as the latest event is not earlier.
kr --now "$T0" activate t2
expect_rc 0 "activate at the second of t1's activation"
expect_out "^t1: active -> retiring" "t1 becomes retiring"

# --- retire and purge -------------------------------------------------------
kr --now "$((T0 + 10))" generate --kid t3
kr --now "$((T0 + 10))" activate t3
expect_rc 0 "set up: t2 retiring since T0 + 10"
refused_at "$((T0 + 5))" "t2 was deactivated at $(iso $((T0 + 10)))" \
    "retire --force before the key's deactivation" retire t2 --force
refused_at "$((T0 + 5))" "t3 was activated at $(iso $((T0 + 10)))" \
    "activate the retiring key back before the active one's activation" activate t2

kr --now "$((T0 + 100))" revoke t1 --reason "test"
expect_rc 0 "revoke t1 at T0 + 100"
refused_at "$((T0 + 50))" "t1 was revoked at $(iso $((T0 + 100)))" \
    "purge before the key's revocation" purge t1
kr --now "$((T0 + 100))" purge t1
expect_rc 0 "purge at the revocation's second"

# --- reads and no-op changes accept an earlier --now ------------------------
kr --now "$((T0 - DAY))" status
expect_rc 0 "status at an earlier --now"
kr --now "$((T0 - DAY))" jwks
expect_rc 0 "jwks at an earlier --now"
kr --now "$((T0 - DAY))" tick
expect_rc 0 "tick with nothing due at an earlier --now"
expect_out "^nothing to do: no retiring key is past its deadline$" "tick changes nothing"

kr check
expect_rc 0 "check passes: no history runs backwards"
finish
