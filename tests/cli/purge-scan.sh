#!/bin/sh
# purge leaves no copy of the private key in the store's files. Two keys
# from openssl are imported; their private exponent, primes and PKCS#8 DER
# are first found in the .db or -wal file (so the scan can fail), then,
# after retire + purge of one and revoke + purge of the other, found in
# none of the .db, -wal and -shm files. The second key is purged while its
# pages are still only in the write-ahead log.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool openssl
need_tool sqlite3

T0=$KR_NOW

# secrets_extract PEM PREFIX: writes PREFIX.d, PREFIX.p, PREFIX.q (the raw
# big-endian integers) and PREFIX.der (openssl's PKCS#8 DER).
secrets_extract() {
    openssl pkcs8 -topk8 -nocrypt -in "$1" -outform DER -out "$2.der" || exit 99
    openssl pkey -in "$1" -noout -text >"$2.txt" 2>/dev/null || exit 99
    /usr/bin/python3 - "$2" <<'PY' || exit 99
import re, sys
prefix = sys.argv[1]
text = open(prefix + ".txt").read()
for name, field in (("d", "privateExponent"), ("p", "prime1"), ("q", "prime2")):
    m = re.search(field + r":\s*\n((?:[ \t]+[0-9a-f:]+\n)+)", text)
    raw = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1))).lstrip(b"\0")
    assert len(raw) >= 100, (name, len(raw))
    open(prefix + "." + name, "wb").write(raw)
PY
    rm -f "$2.txt"
}

# secrets_found PREFIX FILE...: prints the names of PREFIX's secrets found
# in any FILE.
secrets_found() {
    prefix=$1
    shift
    /usr/bin/python3 - "$prefix" "$@" <<'PY'
import os, sys
prefix, files = sys.argv[1], sys.argv[2:]
data = b"".join(open(f, "rb").read() for f in files if os.path.exists(f))
for name in ("d", "p", "q", "der"):
    if open(prefix + "." + name, "rb").read() in data:
        print(name)
PY
}

store_files() {
    echo "$STORE" "$STORE-wal" "$STORE-shm"
}

openssl genrsa -out "$t_dir/a.pem" 2048 2>/dev/null || exit 99
openssl genrsa -out "$t_dir/b.pem" 2048 2>/dev/null || exit 99
secrets_extract "$t_dir/a.pem" "$t_dir/a"
secrets_extract "$t_dir/b.pem" "$t_dir/b"

kr --now "$T0" init
kr --now "$T0" import "$t_dir/a.pem" --kid key-a --activate
expect_rc 0 "import key a, active"
kr --now "$T0" generate --kid key-n
kr --now "$((T0 + 10))" activate key-n
expect_rc 0 "switch to key n; key a is retiring"

# The positive control: before purge the secret bytes are in the files.
# The store keeps GnuTLS's PKCS#8, so openssl's DER need not match; the
# integers must.
found=$(secrets_found "$t_dir/a" $(store_files) | tr '\n' ' ')
case $found in
    "d p q "*) pass "before purge the scan finds key a's d, p and q ($found)" ;;
    *) fail "the scan cannot see key a's secrets before purge: '$found'" ;;
esac

kr --now "$((T0 + 10 + 3660))" retire key-a
expect_rc 0 "retire key a after the guard window"
kr --now "$((T0 + 10 + 3660))" purge key-a
expect_rc 0 "purge key a"
found=$(secrets_found "$t_dir/a" $(store_files) | tr '\n' ' ')
[ -z "$found" ] && pass "after purge no byte string of key a's secrets is in the store's files" ||
    fail "after purge the store's files still hold key a's: $found"
wal_size=$(stat -c %s "$STORE-wal" 2>/dev/null || echo 0)
[ "$wal_size" = 0 ] && pass "purge truncated the write-ahead log" ||
    fail "the write-ahead log holds $wal_size bytes after purge"

# Key b: its pages must still be in -wal frames when purge starts. SQLite
# checkpoints and deletes the log when the last connection closes, so a
# sqlite3 shell reading from a FIFO keeps the store open meanwhile.
mkfifo "$t_dir/hold" || exit 99
sqlite3 "$STORE" <"$t_dir/hold" >/dev/null &
holder=$!
exec 3>"$t_dir/hold"
echo "SELECT count(*) FROM keys;" >&3
kr --now "$((T0 + 4000))" import "$t_dir/b.pem" --kid key-b
expect_rc 0 "import key b"
found=$(secrets_found "$t_dir/b" "$STORE-wal" | tr '\n' ' ')
case $found in
    "d p q "*) pass "key b's secrets are in the write-ahead log ($found)" ;;
    *) fail "the scan cannot see key b's secrets in the log: '$found'" ;;
esac
kr --now "$((T0 + 4000))" revoke key-b --reason "test: purge from the log"
kr --now "$((T0 + 4000))" purge key-b
expect_rc 0 "purge key b"
found=$(secrets_found "$t_dir/b" $(store_files) | tr '\n' ' ')
[ -z "$found" ] && pass "after purge no byte string of key b's secrets is in the store's files" ||
    fail "after purge the store's files still hold key b's: $found"
exec 3>&-
wait "$holder"

# The public halves and the history stay.
kr show key-a
expect_out "^private part: +purged" "show says key a's private part is purged"
expect_out "^thumbprint:" "key a's public record stays"
[ "$(sqlite3 "$STORE" "SELECT count(*) FROM keys WHERE private_der IS NULL AND purged_at IS NOT NULL")" = 2 ] &&
    pass "both keys are marked purged" || fail "purge marks are wrong"
[ "$(sqlite3 "$STORE" "SELECT count(*) FROM audit WHERE event = 'purge'")" = 2 ] &&
    pass "each purge wrote its audit record" || fail "purge audit records are missing"
kr check
expect_rc 0 "check passes after the purges"
kr --now "$((T0 + 4000))" sign --aud x
expect_rc 0 "the active key still signs"
finish
