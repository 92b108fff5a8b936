#!/bin/sh
# The audit log's hash chain: `audit verify` passes on an untouched store
# and, after each kind of tampering done the way an attacker with the file
# would (the sqlite3 shell, dropping the schema's guard triggers first),
# exits 1 and names the first bad record. Also the listing filters, and
# the limit that an attacker who recomputes every hash is caught only by
# an anchor kept outside the store.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"

# store_save FILE, store_restore FILE: copy the store with everything in
# its WAL, because sign and verify leave the checkpoint to later commands.
store_save() {
    sqlite3 "$STORE" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null || exit 99
    cp "$STORE" "$1" || exit 99
}
store_restore() {
    rm -f "$STORE-wal" "$STORE-shm"
    cp "$1" "$STORE" || exit 99
}
need_tool sqlite3
need_tool openssl
need_tool /usr/bin/python3

openssl genrsa -out "$t_dir/a.pem" 2048 2>/dev/null || exit 99

kr --now "$KR_NOW" init || exit 99
kr --now "$KR_NOW" import "$t_dir/a.pem" --kid key-a --activate
expect_rc 0 "import key-a"
kr --now "$KR_NOW" generate --kid key-b
expect_rc 0 "generate key-b"
kr --now "$((KR_NOW + 60))" activate key-b
expect_rc 0 "activate key-b"
# Records: 1 init, 2 import, 3 activate key-a, 4 generate key-b,
# 5 deactivate key-a, 6 activate key-b.

kr audit verify
expect_rc 0 "audit verify of an untouched store"
expect_out "^intact: 6 records; head 6:[0-9a-f]{64}$" "audit verify prints the head"
head=$(sed -n 's/.*head \(6:[0-9a-f]*\)$/\1/p' "$t_dir/out")

kr --json audit verify
expect_out '^\{"intact":true,"records":6,"archived_through":0,"head_seq":6,"head_hash":"[0-9a-f]{64}","state_problems":\[\]\}$' \
    "audit verify --json"

kr --json audit
n=$(wc -l <"$t_dir/out")
[ "$n" = 6 ] && pass "audit --json prints one line per record" ||
    fail "audit --json printed $n lines"
/usr/bin/python3 - "$t_dir/out" "$KR_NOW" <<'PY' && pass "audit --json records carry time, --now, actor, event, kid" || fail "audit --json content"
import json, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
now = int(sys.argv[2])
assert [r["seq"] for r in recs] == [1, 2, 3, 4, 5, 6], recs
assert [r["event"] for r in recs] == ["init", "import", "activate", "generate", "deactivate", "activate"]
assert recs[0]["kid"] is None, recs[0]
assert recs[1]["kid"] == "key-a", recs[1]
assert recs[0]["clock"] == now, recs[0]
assert recs[5]["clock"] == now + 60, recs[5]
assert all(abs(r["at"] - recs[0]["at"]) < 3600 for r in recs), recs
assert all("@" in r["actor"] for r in recs), recs
assert recs[4]["details"] == {"from": "active", "to": "retiring", "retire_after": now + 60 + 7200}
PY

kr audit --kid key-b
expect_rc 0 "audit --kid"
rows=$(grep -c ' key-b ' "$t_dir/out")
others=$(grep -vc -e ' key-b ' -e '^SEQ' "$t_dir/out")
[ "$rows" = 2 ] && [ "$others" = 0 ] && pass "audit --kid lists only that key's records" ||
    fail "audit --kid: $rows key-b rows, $others others"
kr audit --event activate
[ "$(grep -c ' activate ' "$t_dir/out")" = 2 ] && pass "audit --event filters by event" ||
    fail "audit --event: $(cat "$t_dir/out")"
kr audit --until 1
expect_rc 0 "audit --until before every record"
expect_err "no audit record matches" "audit --until before every record says so"
kr audit --since 2000-01-01
[ "$(grep -c '^[0-9]' "$t_dir/out")" = 6 ] && pass "audit --since a date" || fail "audit --since 2000-01-01"
kr audit --since 2026-02-31
expect_rc 2 "audit --since an impossible date"
expect_err "invalid time '2026-02-31'" "audit --since an impossible date"
kr audit verify --anchor 6:xyz
expect_rc 2 "audit verify --anchor malformed"

store_save "$t_dir/pristine.db"

# tamper NAME BAD_SEQ PATTERN SQL: restores the untouched store, runs SQL
# on it, and expects audit verify to fail at record BAD_SEQ with a message
# matching PATTERN.
tamper() {
    name=$1 bad=$2 pattern=$3 sql=$4
    store_restore "$t_dir/pristine.db"
    sqlite3 "$STORE" "DROP TRIGGER audit_append_only;
        DROP TRIGGER audit_archive_only; $sql" || exit 99
    kr audit verify
    expect_rc 1 "$name"
    expect_out "^broken: $pattern" "$name: message"
    kr --json audit verify
    expect_out "\"bad_seq\":$bad," "$name: --json names record $bad"
}

tamper "edited details" 3 "record 3 does not match its chain hash" \
    "UPDATE audit SET details = '{\"from\":\"pending\",\"to\":\"revoked\"}' WHERE seq = 3;"
tamper "edited actor" 2 "record 2 does not match its chain hash" \
    "UPDATE audit SET actor = 'someone@else' WHERE seq = 2;"
tamper "edited time" 4 "record 4 does not match its chain hash" \
    "UPDATE audit SET at = at - 86400 WHERE seq = 4;"
tamper "edited --now clock removed" 6 "record 6 does not match its chain hash" \
    "UPDATE audit SET clock = NULL WHERE seq = 6;"
# A fraction reads back as the same whole second, so only the type shows.
tamper "time turned into a fraction" 5 "record 5 has a field of a type keyrot never writes" \
    "UPDATE audit SET at = at + 0.25 WHERE seq = 5;"
tamper "deleted record" 3 "record 3 is missing: the chain goes from 2 to 4" \
    "DELETE FROM audit WHERE seq = 3;"
tamper "deleted first record" 1 "record 1 is missing" \
    "DELETE FROM audit WHERE seq = 1;"
tamper "deleted newest records" 5 "records 5 to 6 are missing" \
    "DELETE FROM audit WHERE seq >= 5;"
tamper "inserted record at the end" 7 "record 7 does not match its chain hash" \
    "INSERT INTO audit SELECT 7, at, clock, actor, 'purge', kid, details, hash FROM audit WHERE seq = 6;"
tamper "inserted record in the middle" 3 "record 3 does not match its chain hash" \
    "UPDATE audit SET seq = seq + 100 WHERE seq >= 3;
     UPDATE audit SET seq = seq - 99 WHERE seq >= 100;
     INSERT INTO audit SELECT 3, at, clock, actor, 'policy_set', NULL, '{}', hash FROM audit WHERE seq = 2;
     UPDATE audit_anchor SET head_seq = 7;"
tamper "reordered records" 4 "record 4 does not match its chain hash" \
    "UPDATE audit SET seq = -4 WHERE seq = 4;
     UPDATE audit SET seq = 4 WHERE seq = 5;
     UPDATE audit SET seq = 5 WHERE seq = -4;"
tamper "emptied log" 1 "records 1 to 6 are missing" \
    "DELETE FROM audit;"
tamper "anchor removed" 0 "the audit anchor is missing" \
    "DELETE FROM audit_anchor;"

# A record appended with a correctly recomputed hash is still caught: the
# head recorded by keyrot does not move.
store_restore "$t_dir/pristine.db"
cat >"$t_dir/forge.py" <<'PY'
# Recomputes audit hashes as keyrot does, the way an attacker would.
import hashlib, sqlite3, sys

def chain_hash(seq, at, clock, actor, event, kid, details, prev):
    fields = [str(seq), str(at), "" if clock is None else str(clock), actor,
              event, kid or "", details, prev]
    data = b"".join(b"%d:%s;" % (len(f.encode()), f.encode()) for f in fields)
    return hashlib.sha256(data).hexdigest()

db = sqlite3.connect(sys.argv[1])
mode = sys.argv[2]
db.executescript("DROP TRIGGER audit_append_only;")
rows = db.execute("SELECT seq, at, clock, actor, event, kid, details FROM audit ORDER BY seq").fetchall()
if mode == "append":
    prev = db.execute("SELECT hash FROM audit WHERE seq = 6").fetchone()[0]
    rec = (7, rows[-1][1], None, "intruder@host", "import", "key-x", "{}")
    db.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rec + (chain_hash(*rec, prev),))
else:  # rewrite record 3 and every hash after it, and the anchor
    prev = "0" * 64
    for seq, at, clock, actor, event, kid, details in rows:
        if seq == 3:
            details = '{"from":"pending","to":"active","note":"rewritten"}'
        h = chain_hash(seq, at, clock, actor, event, kid, details, prev)
        db.execute("UPDATE audit SET details = ?, hash = ? WHERE seq = ?", (details, h, seq))
        prev = h
    db.execute("UPDATE audit_anchor SET head_hash = ?", (prev,))
db.commit()
PY
/usr/bin/python3 "$t_dir/forge.py" "$STORE" append || exit 99
kr audit verify
expect_rc 1 "appended record with a recomputed hash"
expect_out "^broken: record 7 follows the head keyrot recorded" \
    "appended record with a recomputed hash: names record 7"

# The documented limit: a rewrite that recomputes every hash and the
# anchor verifies inside the store, but not against a head kept outside.
store_restore "$t_dir/pristine.db"
/usr/bin/python3 "$t_dir/forge.py" "$STORE" rewrite || exit 99
kr audit verify
expect_rc 0 "a full rewrite with recomputed hashes passes without an anchor"
kr audit verify --anchor "$head"
expect_rc 1 "a full rewrite fails against the saved head"
expect_out "^broken: record 6 does not have the anchored hash" \
    "a full rewrite: the anchor names record 6"
kr audit verify --anchor 9:0000000000000000000000000000000000000000000000000000000000000000
expect_rc 1 "an anchor beyond the end of the chain"
expect_out "^broken: the anchored record 9 is not in the chain" "an anchor beyond the end"

# keyrot keeps chaining after the tampered end: the gap stays visible.
store_restore "$t_dir/pristine.db"
sqlite3 "$STORE" "DROP TRIGGER audit_archive_only; DELETE FROM audit WHERE seq = 6;" || exit 99
kr --now "$KR_NOW" generate --kid key-c
expect_rc 0 "generate after the newest record was deleted"
kr audit verify
expect_rc 1 "the deleted record stays visible after a new record"
expect_out "^broken: record 6 is missing: the chain goes from 5 to 7" \
    "the deleted record is named after a new record"

# The schema's triggers stop a plain UPDATE or DELETE.
store_restore "$t_dir/pristine.db"
if sqlite3 "$STORE" "UPDATE audit SET actor = 'x' WHERE seq = 1" 2>/dev/null; then
    fail "an UPDATE of an audit record went through the trigger"
else
    pass "the schema rejects an UPDATE of an audit record"
fi
if sqlite3 "$STORE" "DELETE FROM audit WHERE seq = 1" 2>/dev/null; then
    fail "a DELETE of an audit record went through the trigger"
else
    pass "the schema rejects a DELETE of an unarchived record"
fi

finish
