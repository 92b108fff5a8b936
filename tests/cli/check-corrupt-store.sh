#!/bin/sh
# Regression: check broke its exit-code contract on a damaged store. With
# 2000 bytes of the file overwritten, check exited 6 and printed nothing
# on stdout, even with --json, though exit 1 is what it promises for
# damage. Now a file that SQLite finds corrupt or not a database, whether
# at open or during the checks, is a failed check: exit 1, a problem line,
# and a JSON report with --json. A missing store still exits 3, and a
# store that cannot be opened for another reason still exits 6.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3
need_tool /usr/bin/python3

kr --now "$KR_NOW" init || exit 99
kr --now "$KR_NOW" generate --kid k1 --activate || exit 99
kr --now "$KR_NOW" generate --kid k2 || exit 99
sqlite3 "$STORE" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null || exit 99
rm -f "$STORE-wal" "$STORE-shm"
cp "$STORE" "$t_dir/sound.db"
page_size=$(sqlite3 "$STORE" "PRAGMA page_size") || exit 99
keys_page=$(sqlite3 "$STORE" "SELECT rootpage FROM sqlite_schema WHERE name = 'keys'") || exit 99

# overwrite OFFSET: restores the sound store and writes 2000 bytes of 'x'
# over it from OFFSET on.
overwrite() {
    rm -f "$STORE-wal" "$STORE-shm"
    cp "$t_dir/sound.db" "$STORE" || exit 99
    head -c 2000 /dev/zero | tr '\0' x |
        dd of="$STORE" bs=1 seek="$1" conv=notrunc 2>/dev/null || exit 99
}

# damaged NAME OFFSET PATTERN: check of the store overwritten at OFFSET
# fails with a problem line matching PATTERN, in text and in JSON.
damaged() {
    overwrite "$2"
    kr check
    expect_rc 1 "check of $1"
    expect_out "^problem: integrity: $3" "check names the damage of $1"
    expect_out "^failed: the store file is damaged, so the checks stopped there; [0-9]+ problems? found$" \
        "check's summary of $1"
    expect_err "^keyrot: check: the store failed [0-9]+ checks?$" "check's message for $1"
    kr --json check
    expect_rc 1 "check --json of $1"
    if /usr/bin/python3 - "$t_dir/out" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["ok"] is False, report
assert report["problems"], report
assert all(p["check"] == "integrity" for p in report["problems"]), report
assert all(p["kid"] is None for p in report["problems"]), report
assert report["skipped"] == [], report
PY
    then pass "check --json reports the damage of $1"
    else fail "check --json of $1: $(head -c 300 "$t_dir/out")"
    fi
}

damaged "a destroyed file header" 0 \
    "SQLite cannot read the store file: file is not a database$"
damaged "a destroyed schema page" 100 \
    "SQLite cannot read the store file: database disk image is malformed$"
damaged "a destroyed keys table page" "$(((keys_page - 1) * page_size))" \
    "SQLite (integrity check: |cannot read the store file: )"

# Each problem is one line, even where SQLite reports several findings in
# one row of its integrity check.
overwrite "$(((keys_page - 1) * page_size))"
kr check
if grep -v -e '^problem: ' -e '^failed: ' "$t_dir/out" | grep -q .; then
    fail "check printed a line that is neither a problem nor the summary: $(cat "$t_dir/out")"
else
    pass "every line of check's report is a problem or the summary"
fi

# What is not damage keeps its exit status.
rm -f "$STORE-wal" "$STORE-shm"
cp "$t_dir/sound.db" "$STORE" || exit 99
kr check
expect_rc 0 "check of the sound copy"
kr --store "$t_dir/missing.db" check
expect_rc 3 "check of a missing store"
mkdir "$t_dir/dir.db"
kr --store "$t_dir/dir.db" check
expect_rc 6 "check of a directory given as the store"
sqlite3 "$t_dir/other.db" "CREATE TABLE t (x); INSERT INTO t VALUES (1);" || exit 99
kr --store "$t_dir/other.db" check
expect_rc 6 "check of another program's database"
expect_err "is not a keyrot store" "check of another program's database names it"
if [ "$(id -u)" -ne 0 ]; then
    chmod 000 "$STORE"
    kr check
    expect_rc 6 "check of a store it may not read"
    chmod 600 "$STORE"
else
    echo "# root reads any file: the unreadable store case needs another user"
fi

finish
