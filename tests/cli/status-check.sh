#!/bin/sh
# status gives monitoring one line and exit 0 or 1; check finds every kind
# of damage it claims to, each in a store edited behind keyrot's back, and
# exits 1 for it.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

T0=$KR_NOW
DAY=86400

# --- status --------------------------------------------------------------
kr --now "$T0" init
kr --now "$T0" status
expect_rc 1 "status of an empty store"
expect_out "^attention: no active key" "status says there is no active key"

kr --now "$T0" generate --kid k1 --activate
kr --now "$((T0 + 3 * DAY))" status
expect_rc 0 "status with a young active key"
expect_out "^ok: active key k1, 3d old, rotation due 2026-04-01T01:01:00Z; 0 pending, 0 retiring$" \
    "status names the key, its age and the rotation date"
kr --now "$((T0 + 3 * DAY))" --json status
expect_out '^\{"healthy":true,"active":"k1","active_age":259200,"rotate_due_at":1775005260,"pending":0,"retiring":0,"problems":\[\]\}$' \
    "status --json"

kr --now "$((T0 + 91 * DAY))" status
expect_rc 1 "status with an active key older than rotate_every"
expect_out "active key k1 is 91d old, older than rotate_every 90d" "status says the key is too old"

T1=$((T0 + 10 * DAY))
kr --now "$T1" rotate --kid k2
kr --now "$((T1 + 7199))" status
expect_rc 0 "status in the overlap"
expect_out "; 0 pending, 1 retiring$" "status counts the retiring key"
dump_store "$t_dir/before.sql"
kr --now "$((T1 + 7200))" status
expect_rc 1 "status with a retiring key past its deadline"
expect_out "retiring key k1 passed its deadline" "status names the overdue key"
expect_unchanged "$t_dir/before.sql" "status (it only reads)"
kr --now "$((T1 + 7200))" tick
kr --now "$((T1 + 7200))" status
expect_rc 0 "status after tick"

kr --store "$t_dir/none.db" status
expect_rc 3 "status of a missing store"

# --- check ----------------------------------------------------------------
kr --now "$T1" generate --kid p1
kr check
expect_rc 0 "check on a sound store"
expect_out "^ok: 3 keys checked; every check holds$" "check reports what it checked"
kr --json check
expect_out '^\{"ok":true,"keys":3,"problems":\[\],"skipped":\[\]\}$' "check --json"

cp "$STORE" "$t_dir/sound.db"

# damage SQL DESCRIPTION PATTERN: applies SQL to a copy of the sound store
# and expects check to fail with a problem line matching PATTERN.
damage() {
    cp "$t_dir/sound.db" "$t_dir/damaged.db"
    sqlite3 "$t_dir/damaged.db" "$1" || exit 99
    "$KEYROT" --store "$t_dir/damaged.db" check >"$t_dir/out" 2>"$t_dir/err"
    t_rc=$?
    expect_rc 1 "check finds $2"
    expect_out "$3" "check names $2"
    expect_err "the store failed [0-9]+ checks?" "check's summary for $2"
}

damage "UPDATE keys SET activated_at = 5 WHERE kid = 'p1'" \
    "a pending key with an activation time" "^problem: state: p1: pending key has activated_at set$"
damage "UPDATE keys SET retired_at = NULL WHERE kid = 'k1'" \
    "a retired key without retired_at" "^problem: state: k1: retired key has no retired_at$"
damage "DROP TRIGGER keys_material_fixed; UPDATE keys SET n = (SELECT n FROM keys WHERE kid = 'k1') WHERE kid = 'p1'" \
    "a modulus that does not match the thumbprint" "^problem: thumbprint: p1: the stored thumbprint .* does not match n and e"
damage "UPDATE keys SET private_der = (SELECT private_der FROM keys WHERE kid = 'k1') WHERE kid = 'p1'" \
    "a private part of another key" "^problem: private: p1: the private part belongs to another public key$"
damage "UPDATE keys SET private_der = x'3082' WHERE kid = 'p1'" \
    "a private part that does not parse" "^problem: private: p1: the private part does not parse"
damage "DROP INDEX keys_one_active; DROP TRIGGER keys_state_transition; UPDATE keys SET state = 'active', activated_at = 1 WHERE kid = 'p1'" \
    "two active keys" "^problem: active: 2 keys are active; at most one may be$"
damage "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = 'CREATE UNIQUE INDEX keys_one_active ON keys (kid) WHERE state = ''active''' WHERE name = 'keys_one_active'" \
    "an index that does not match its table" "^problem: integrity: "

# The damaged copies never touched the real store.
kr check
expect_rc 0 "check still passes on the real store"
finish
