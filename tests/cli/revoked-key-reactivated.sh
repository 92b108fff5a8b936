#!/bin/sh
# Regression: a revoked key brought back to active by editing the store
# passed every check. Someone with write access to the file dropped the
# keys_state_transition trigger and reset the key's row to active. Then
# check printed ok, audit verify printed intact (the log itself was
# untouched), and sign signed with the compromised key. Now check and audit verify compare
# each key's state with the newest state its audit records name and exit
# 1 naming the key, and sign refuses with exit 4. Archived history
# (audit archive) is carried by the checkpoint, so it neither raises a
# false alarm nor hides the edit.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3
need_tool /usr/bin/python3

# store_save FILE, store_restore FILE: copy the store with everything in
# its write-ahead log.
store_save() {
    sqlite3 "$STORE" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null || exit 99
    cp "$STORE" "$1" || exit 99
}
store_restore() {
    rm -f "$STORE-wal" "$STORE-shm"
    cp "$1" "$STORE" || exit 99
}

REACTIVATE="DROP TRIGGER keys_state_transition;
    UPDATE keys SET state = 'active', revoked_at = NULL, revoke_reason = NULL,
        retire_after = NULL, deactivated_at = NULL WHERE kid = 'leaked';"

kr --now "$KR_NOW" init || exit 99
kr --now "$KR_NOW" generate --kid leaked --activate
kr --now "$KR_NOW" generate --kid next
kr --now "$KR_NOW" revoke leaked --reason "key leaked"
expect_rc 0 "revoke the active key"
# Records: 1 init, 2 generate, 3 activate, 4 generate, 5 revoke.

kr check
expect_rc 0 "check of the untouched store"
kr audit verify
expect_rc 0 "audit verify of the untouched store"
kr --json audit verify
expect_out '"state_problems":\[\]\}$' "audit verify --json lists no state problem"
store_save "$t_dir/untouched.db"

sqlite3 "$STORE" "$REACTIVATE" || exit 99

kr check
expect_rc 1 "check of the reactivated key"
expect_out "^problem: history: leaked: the key is active in the store, but revoked in the audit log \(record 5, revoke\)$" \
    "check names the key, its stored state and the recorded one"
expect_err "the store failed 1 check$" "check's summary"
kr --json check
expect_out '\{"check":"history","kid":"leaked","detail":"the key is active in the store, but revoked in the audit log \(record 5, revoke\)"\}' \
    "check --json carries the history problem"

kr audit verify
expect_rc 1 "audit verify of the reactivated key"
expect_out "^intact: 5 records; head 5:" "audit verify still calls the chain intact"
expect_out "^problem: leaked: the key is active in the store, but revoked in the audit log" \
    "audit verify names the key"
expect_err "the chain is intact, but 1 key contradicts it" "audit verify's summary"
kr --json audit verify
expect_out '"intact":true,.*"state_problems":\[\{"kid":"leaked","detail":"the key is active in the store, but revoked in the audit log \(record 5, revoke\)"\}\]' \
    "audit verify --json lists the key"

dump_store "$t_dir/before.sql"
kr --now "$KR_NOW" sign --aud proj
expect_rc 4 "sign with the reactivated key"
expect_err "^keyrot: sign: key leaked is active in the store, but revoked in the audit log \(record 5, revoke\)" \
    "sign names the contradiction"
[ ! -s "$t_dir/out" ] && pass "sign prints no token" || fail "sign printed: $(cat "$t_dir/out")"
kr --now "$KR_NOW" header --aud proj
expect_rc 4 "header with the reactivated key"
expect_unchanged "$t_dir/before.sql" "the refused sign"

# Regression: status said ok for this store while sign refused it, so
# monitoring missed a signer that could no longer sign.
kr --now "$KR_NOW" status
expect_rc 1 "status with the reactivated key"
expect_out "active key leaked is revoked in the audit log" "status names the contradiction"

# A pending key promoted by hand, without its activate record.
store_restore "$t_dir/untouched.db"
sqlite3 "$STORE" "UPDATE keys SET state = 'active', activated_at = 1 WHERE kid = 'next';" || exit 99
kr check
expect_rc 1 "check of a pending key promoted by hand"
expect_out "^problem: history: next: the key is active in the store, but pending in the audit log \(record 4, generate\)$" \
    "check names the generate record"
kr --now "$KR_NOW" sign --aud proj
expect_rc 4 "sign with a key promoted by hand"

# A key row inserted by hand has no record at all.
store_restore "$t_dir/untouched.db"
sqlite3 "$STORE" "INSERT INTO keys (kid, state, bits, thumbprint, n, e,
        origin, created_at)
    SELECT 'planted', 'pending', bits, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        n, e, origin, created_at FROM keys WHERE kid = 'next';" || exit 99
kr check
expect_rc 1 "check of a key inserted by hand"
expect_out "^problem: history: planted: the key is pending in the store, but the audit log has no record of it$" \
    "check says the key has no record"

# Archived history: the checkpoint carries the states of the keys whose
# records it moved out. The cut is by wall clock, so the records after it
# come at least a second later.
store_restore "$t_dir/untouched.db"
sleep 1
cut=$(date +%s)
kr --now "$KR_NOW" generate --kid later
kr audit archive --before "$cut" --out "$t_dir/archive.jsonl"
expect_out "^archived records 1 to 5 \(5\)" "archive every record of leaked and next"
kr --json audit --event audit_archive
expect_out '"key_states":\{"leaked":"revoked","next":"pending"\}' \
    "the checkpoint carries the archived keys' states"
kr check
expect_rc 0 "check after the archive raises no false alarm"
kr audit verify
expect_rc 0 "audit verify after the archive"
store_save "$t_dir/archived.db"

sqlite3 "$STORE" "$REACTIVATE" || exit 99
kr check
expect_rc 1 "check of a reactivated key whose records were archived"
expect_out "^problem: history: leaked: the key is active in the store, but revoked in the audit log \(record 7, audit_archive\)$" \
    "check names the checkpoint"
kr --now "$KR_NOW" sign --aud proj
expect_rc 4 "sign with a reactivated key whose records were archived"
expect_err "revoked in the audit log \(record 7, audit_archive\)" "sign names the checkpoint"

# A second archive carries the first checkpoint's states forward, and an
# active key whose every record was archived still signs.
store_restore "$t_dir/archived.db"
kr --now "$KR_NOW" activate later
sleep 1
cut=$(date +%s)
kr --now "$KR_NOW" generate --kid newest
kr audit archive --before "$cut" --out "$t_dir/archive2.jsonl"
expect_out "^archived records 6 to 8 \(3\)" "archive the first checkpoint"
kr --json audit --event audit_archive
expect_out '"key_states":\{"later":"active","leaked":"revoked","next":"pending"\}' \
    "the second checkpoint carries the first one's states"
kr check
expect_rc 0 "check after two archives"
kr --now "$KR_NOW" sign --aud proj
expect_rc 0 "sign with an active key whose records were all archived"
sqlite3 "$STORE" "UPDATE keys SET state = 'revoked', revoked_at = 1,
    revoke_reason = 'edited' WHERE kid = 'later';" || exit 99
kr check
expect_rc 1 "check of a key revoked by hand after two archives"
expect_out "^problem: history: later: the key is revoked in the store, but active in the audit log \(record 10, audit_archive\)$" \
    "check names the second checkpoint"

# A key whose every record left the store before checkpoints carried key
# states cannot be compared: no false alarm. Such a store is made here by
# removing key_states from the checkpoint and rewriting the chain's hashes.
store_restore "$t_dir/archived.db"
cat >"$t_dir/strip.py" <<'PY'
import hashlib, json, sqlite3, sys

def chain_hash(seq, at, clock, actor, event, kid, details, prev):
    fields = [str(seq), str(at), "" if clock is None else str(clock), actor,
              event, kid or "", details, prev]
    data = b"".join(b"%d:%s;" % (len(f.encode()), f.encode()) for f in fields)
    return hashlib.sha256(data).hexdigest()

db = sqlite3.connect(sys.argv[1])
db.executescript("DROP TRIGGER audit_append_only;")
prev = db.execute("SELECT pruned_hash FROM audit_anchor").fetchone()[0]
rows = db.execute("SELECT seq, at, clock, actor, event, kid, details FROM audit ORDER BY seq").fetchall()
for seq, at, clock, actor, event, kid, details in rows:
    if event == "audit_archive":
        d = json.loads(details)
        del d["key_states"]
        details = json.dumps(d, separators=(",", ":"), sort_keys=True)
    h = chain_hash(seq, at, clock, actor, event, kid, details, prev)
    db.execute("UPDATE audit SET details = ?, hash = ? WHERE seq = ?", (details, h, seq))
    prev = h
db.execute("UPDATE audit_anchor SET head_hash = ?", (prev,))
db.commit()
PY
/usr/bin/python3 "$t_dir/strip.py" "$STORE" || exit 99
kr audit verify
expect_rc 0 "a store archived without key states verifies"
kr check
expect_rc 0 "check of keys whose history left the store raises no false alarm"

finish
