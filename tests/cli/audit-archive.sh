#!/bin/sh
# Retention: `audit archive` moves old records to a JSON-lines file behind a
# chained checkpoint, after which the chain still verifies, the file can be
# checked against the checkpoint on its own, and tampering with the
# archived range is still found. Also: every kind of change the lifecycle
# makes leaves its audit record.
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
need_tool /usr/bin/python3

T0=$KR_NOW
kr --now "$T0" init || exit 99
kr --now "$T0" generate --kid k1 --activate
kr --now "$T0" generate --kid k2
# Records 1 init, 2 generate, 3 activate, 4 generate. The archive cut is
# by wall clock, so the next records must come at least a second later.
sleep 1
cut=$(date +%s)
kr --now "$((T0 + 60))" activate k2
kr --now "$((T0 + 60))" policy set leeway=2m
# Records 5 deactivate, 6 activate, 7 policy_set.
kr --json audit --event policy_set
expect_out '"event":"policy_set","kid":null,"details":\{"name":"leeway","old_value":60,"value":120\}' \
    "a policy change writes its record"

kr audit archive --out "$t_dir/a1.jsonl"
expect_rc 2 "audit archive without --before"
kr audit archive --before "$cut" --out "$t_dir/a1.jsonl"
expect_rc 0 "audit archive --before"
expect_out "^archived records 1 to 4 \(4\) to .*/a1.jsonl; checkpoint record 8$" \
    "audit archive reports the range and the checkpoint"
[ "$(wc -l <"$t_dir/a1.jsonl")" = 4 ] && pass "the archive has 4 lines" ||
    fail "the archive holds $(wc -l <"$t_dir/a1.jsonl") lines"
[ "$(sqlite3 "$STORE" 'SELECT group_concat(seq) FROM (SELECT seq FROM audit ORDER BY seq)')" = "5,6,7,8" ] &&
    pass "the store keeps records 5 to 8" ||
    fail "the store keeps $(sqlite3 "$STORE" 'SELECT group_concat(seq) FROM (SELECT seq FROM audit ORDER BY seq)')"

kr audit verify
expect_rc 0 "the chain verifies after archiving"
expect_out "^intact: 4 records after the archived records 1 to 4; head 8:" \
    "audit verify counts the archived prefix"

kr --json audit --event audit_archive
cp "$t_dir/out" "$t_dir/checkpoint.json"
# The archive file verifies on its own against the checkpoint record.
cat >"$t_dir/check-archive.py" <<'PY'
import hashlib, json, sys

def chain_hash(r, prev):
    details = json.dumps(r["details"], separators=(",", ":"), sort_keys=True,
                         ensure_ascii=False)
    fields = [str(r["seq"]), str(r["at"]),
              "" if r["clock"] is None else str(r["clock"]), r["actor"],
              r["event"], r["kid"] or "", details, prev]
    data = b"".join(b"%d:%s;" % (len(f.encode()), f.encode()) for f in fields)
    return hashlib.sha256(data).hexdigest()

checkpoint = json.loads(open(sys.argv[2]).readline())["details"]
prev = checkpoint["prev_hash"]
seqs = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    assert chain_hash(r, prev) == r["hash"], r["seq"]
    prev = r["hash"]
    seqs.append(r["seq"])
assert seqs == list(range(checkpoint["first_seq"], checkpoint["through_seq"] + 1)), seqs
assert prev == checkpoint["through_hash"]
PY
/usr/bin/python3 "$t_dir/check-archive.py" "$t_dir/a1.jsonl" "$t_dir/checkpoint.json" &&
    pass "the archive file's chain ends at the checkpoint's hash" ||
    fail "the archive file does not match its checkpoint"

kr audit archive --before "$cut" --out "$t_dir/a1.jsonl"
expect_rc 4 "audit archive refuses an existing file"
expect_err "a1.jsonl already exists" "audit archive names the existing file"
kr audit archive --before "$cut" --out "$t_dir/none.jsonl"
expect_rc 0 "audit archive with nothing due"
expect_out "^nothing archived" "audit archive says nothing was due"
[ ! -e "$t_dir/none.jsonl" ] && pass "nothing due writes no file" || fail "nothing due wrote a file"

store_save "$t_dir/archived.db"

# tamper NAME PATTERN SQL: on a copy of the archived store.
tamper() {
    store_restore "$t_dir/archived.db"
    sqlite3 "$STORE" "DROP TRIGGER audit_append_only;
        DROP TRIGGER audit_archive_only; $3" || exit 99
    kr audit verify
    expect_rc 1 "$1"
    expect_out "^broken: $2" "$1: message"
}
tamper "a record deleted and the archived range moved over it" \
    "the archived range recorded in the store \(through record 5\) matches no audit_archive checkpoint" \
    "UPDATE audit_anchor SET pruned_seq = 5,
         pruned_hash = (SELECT hash FROM audit WHERE seq = 5);
     DELETE FROM audit WHERE seq = 5;"
tamper "a record put back into the archived range" \
    "record 2 lies in the archived range \(through 4\) but is present" \
    "INSERT INTO audit SELECT 2, at, clock, actor, event, kid, details, hash FROM audit WHERE seq = 5;"
tamper "the checkpoint deleted" "records 8 to 8 are missing" \
    "DELETE FROM audit WHERE seq = 8;"

# A broken chain is never archived.
store_restore "$t_dir/archived.db"
sqlite3 "$STORE" "DROP TRIGGER audit_append_only;
    UPDATE audit SET actor = 'x@y' WHERE seq = 6;" || exit 99
dump_store "$t_dir/before.sql"
kr audit archive --before "$(($(date +%s) + 5))" --out "$t_dir/a2.jsonl"
expect_rc 1 "audit archive refuses a broken chain"
expect_err "the audit chain is broken: record 6 does not match its chain hash" \
    "audit archive names the bad record"
expect_unchanged "$t_dir/before.sql" "archiving a broken chain"
[ ! -e "$t_dir/a2.jsonl" ] && [ ! -e "$t_dir/a2.jsonl.tmp" ] &&
    pass "archiving a broken chain leaves no file" || fail "archiving a broken chain left a file"

# Archiving again, past the first checkpoint, keeps the chain whole.
store_restore "$t_dir/archived.db"
kr audit archive --before "$(($(date +%s) + 5))" --out "$t_dir/a2.jsonl"
expect_out "^archived records 5 to 8 \(4\) to .*; checkpoint record 9$" "a second archive"
kr --now "$((T0 + 120))" generate --kid k3
kr audit verify
expect_rc 0 "the chain verifies after two archives and a new record"
expect_out "^intact: 2 records after the archived records 1 to 8; head 10:" \
    "audit verify after two archives"
kr --json audit
[ "$(grep -c '"seq"' "$t_dir/out")" = 2 ] && pass "audit lists the records kept" ||
    fail "audit lists: $(cat "$t_dir/out")"

# Every lifecycle change writes its record, and the chain stays intact.
kr --now "$((T0 + 120))" rotate --kid k4
kr --now "$((T0 + 120))" revoke k3 --reason "test of the audit log"
kr --now "$((T0 + 120 + 7200))" tick
kr --now "$((T0 + 120 + 7200))" purge k3
kr --json audit
for event in generate activate deactivate revoke retire purge; do
    grep -q "\"event\":\"$event\"" "$t_dir/out" && pass "the log holds a $event record" ||
        fail "no $event record in: $(cut -c1-200 "$t_dir/out")"
done
kr audit verify
expect_rc 0 "the chain verifies after the lifecycle changes"

finish
