#!/bin/sh
# encrypt-keys: private keys stored before a store passphrase was in use
# are encrypted under it in one step, no plaintext copy stays in the .db
# or -wal file, signing then needs the passphrase, and a second run or a
# wrong passphrase changes nothing.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool openssl
need_tool sqlite3

printf 'store passphrase\n' >"$t_dir/store.pass"
printf 'another passphrase\n' >"$t_dir/wrong.pass"
openssl genrsa -out "$t_dir/a.pem" 2048 2>/dev/null || exit 99
openssl genrsa -out "$t_dir/b.pem" 3072 2>/dev/null || exit 99
# d_found FILE...: prints "found" when key a's private exponent is in any
# FILE. The exponent must be gone from the store files afterwards.
openssl pkey -in "$t_dir/a.pem" -noout -text >"$t_dir/a.txt" 2>/dev/null || exit 99
d_found() {
    /usr/bin/python3 - "$t_dir/a.txt" "$@" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read()
m = re.search(r"privateExponent:\s*\n((?:[ \t]+[0-9a-f:]+\n)+)", text)
d = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1))).lstrip(b"\0")
data = b"".join(open(f, "rb").read() for f in sys.argv[2:] if os.path.exists(f))
print("found" if d in data else "absent")
PY
}

kr init
kr import "$t_dir/a.pem" --kid plain-a --activate
kr import "$t_dir/b.pem" --kid plain-b
expect_rc 0 "import two keys without a passphrase"
if [ "$(d_found "$STORE" "$STORE-wal")" = found ]; then
    pass "the plaintext key is in the store files before (control)"
else
    fail "the control found no plaintext key; the scan cannot fail"
fi

kr encrypt-keys
expect_rc 2 "encrypt-keys without a passphrase"
expect_err "no store passphrase was given" "encrypt-keys without a passphrase"

kr --store-passphrase-file "$t_dir/store.pass" encrypt-keys
expect_rc 0 "encrypt-keys"
expect_out "^encrypted 2 private keys under the store passphrase" "encrypt-keys counts the keys"
kr list
expect_out "^plain-a +active +2048 +encrypted" "plain-a is encrypted"
expect_out "^plain-b +pending +3072 +encrypted" "plain-b is encrypted"
if [ "$(d_found "$STORE" "$STORE-wal" "$STORE-shm")" != absent ]; then
    fail "the plaintext private key is still in the store files"
else
    pass "no plaintext copy stays in the .db and -wal files"
fi

kr sign --aud proj
expect_rc 4 "sign without the passphrase afterwards"
kr --store-passphrase-file "$t_dir/store.pass" sign --aud proj
expect_rc 0 "sign with the passphrase afterwards"
token=$(cat "$t_dir/out")
kr verify --aud proj "$token"
expect_rc 0 "the token verifies"

dump_store "$t_dir/before.sql"
kr --store-passphrase-file "$t_dir/store.pass" encrypt-keys
expect_rc 0 "a second run"
expect_out "^nothing to do" "a second run says so"
kr --store-passphrase-file "$t_dir/wrong.pass" encrypt-keys
expect_rc 4 "encrypt-keys under another passphrase"
expect_err "does not open the private key of kid plain-a" "encrypt-keys under another passphrase"
expect_unchanged "$t_dir/before.sql" "repeated and refused runs"

kr audit --event encrypt_private
expect_out "plain-a" "the audit log records plain-a"
expect_out "plain-b" "the audit log records plain-b"
kr check
expect_rc 0 "check passes afterwards"

finish
