#!/bin/sh
# Private keys encrypted at rest: with a store passphrase, the stored
# private part is encrypted PKCS#8 that only the passphrase opens; signing
# needs it; without it or with a wrong one, sign refuses and changes
# nothing; keys stored without it stay readable.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool openssl
need_tool sqlite3

printf 'correct horse battery staple\n' >"$t_dir/store.pass"
printf 'wrong passphrase\n' >"$t_dir/wrong.pass"
openssl genrsa -out "$t_dir/key.pem" 2048 2>/dev/null || exit 99

kr init
KEYROT_STORE_PASSPHRASE_FILE=$t_dir/store.pass
export KEYROT_STORE_PASSPHRASE_FILE
kr import "$t_dir/key.pem" --kid sealed --activate
expect_rc 0 "import under a store passphrase"

sqlite3 "$STORE" "SELECT hex(private_der) FROM keys WHERE kid = 'sealed'" |
    xxd -r -p >"$t_dir/stored.der"
if openssl pkey -inform DER -in "$t_dir/stored.der" -noout 2>/dev/null; then
    fail "the stored private part opens without the passphrase"
else
    pass "the stored private part is not plain PKCS#8"
fi
openssl pkcs8 -inform DER -in "$t_dir/stored.der" -passin "file:$t_dir/store.pass" \
    -out "$t_dir/opened.pem" 2>/dev/null
a=$(openssl rsa -in "$t_dir/opened.pem" -noout -modulus 2>/dev/null)
b=$(openssl rsa -in "$t_dir/key.pem" -noout -modulus 2>/dev/null)
[ -n "$a" ] && [ "$a" = "$b" ] && pass "openssl opens it with the passphrase" ||
    fail "openssl cannot open the stored key with the passphrase"

kr sign --aud proj
expect_rc 0 "sign with the passphrase"
token=$(cat "$t_dir/out")
kr verify --aud proj "$token"
expect_rc 0 "the token verifies"

kr check
expect_rc 0 "check opens the encrypted key with the passphrase"

dump_store "$t_dir/before.sql"
unset KEYROT_STORE_PASSPHRASE_FILE
kr sign --aud proj
expect_rc 4 "sign without the passphrase"
expect_err "encrypted at rest and no store passphrase was given" "sign without the passphrase"
kr --store-passphrase-file "$t_dir/wrong.pass" sign --aud proj
expect_rc 4 "sign with a wrong passphrase"
expect_err "does not decrypt" "sign with a wrong passphrase"
kr --store-passphrase-file "$t_dir/missing.pass" sign --aud proj
expect_rc 3 "a missing passphrase file"
expect_err "^keyrot: sign: --store-passphrase-file: .*missing.pass: file not found$" \
    "a missing passphrase file"
expect_unchanged "$t_dir/before.sql" "refused signing"

kr verify --aud proj "$token"
expect_rc 0 "verify needs no passphrase"

kr --store-passphrase-file "$t_dir/store.pass" export sealed --private --out "$t_dir/out.pem"
expect_rc 0 "export --private with the passphrase"
a=$(openssl rsa -in "$t_dir/out.pem" -noout -modulus 2>/dev/null)
[ "$a" = "$b" ] && pass "the export is the plain key" || fail "the export differs"

kr list
expect_out "^sealed +active +2048 +encrypted" "list marks the key encrypted"
kr --json show sealed
expect_out '"private_encrypted":true' "show --json marks the key encrypted"

# Regression: a rotate from cron without the passphrase stored its new
# signing key in plaintext, and a mistyped passphrase split the store
# between two passphrases. Both are refused now and change nothing.
dump_store "$t_dir/before.sql"
kr rotate --kid cron-key
expect_rc 4 "rotate without the passphrase in an encrypted store"
expect_err "keeps private keys encrypted at rest" "rotate without the passphrase"
kr generate --kid plain-key
expect_rc 4 "generate without the passphrase in an encrypted store"
kr import "$t_dir/key.pem" --kid sealed
expect_rc 0 "re-importing the same key needs no passphrase"
openssl genrsa -out "$t_dir/key2.pem" 2048 2>/dev/null || exit 99
kr --store-passphrase-file "$t_dir/wrong.pass" import "$t_dir/key2.pem" --kid second
expect_rc 4 "import under a different passphrase"
expect_err "does not open the private key of kid sealed" "import under a different passphrase"
expect_unchanged "$t_dir/before.sql" "refused at-rest changes"

kr --store-passphrase-file "$t_dir/store.pass" import "$t_dir/key2.pem" --kid second
expect_rc 0 "import under the store passphrase"
kr --json show second
expect_out '"private_encrypted":true' "the second key is encrypted too"

if grep -q "correct horse" "$STORE" "$STORE-wal" 2>/dev/null; then
    fail "the passphrase is in the store files"
else
    pass "the passphrase is not in the store files"
fi

finish
