#!/bin/sh
# export: the public key in each format matches what openssl derives from
# the imported key; the private key goes only to a new 0600 file; a
# verify-only key has nothing private to export.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool openssl

openssl genrsa -out "$t_dir/key.pem" 2048 2>/dev/null || exit 99
openssl rsa -in "$t_dir/key.pem" -pubout -out "$t_dir/pub.pem" 2>/dev/null || exit 99
kr init
kr import "$t_dir/key.pem" --kid k1
expect_rc 0 "import the key pair"

kr export k1
expect_rc 0 "export the public key as PEM"
cmp -s "$t_dir/out" "$t_dir/pub.pem" && pass "PEM equals openssl's public key" ||
    fail "exported PEM differs from openssl -pubout"

kr export k1 --format der --out "$t_dir/pub.der"
expect_rc 0 "export the public key as DER"
openssl pkey -pubin -inform DER -in "$t_dir/pub.der" -out "$t_dir/pub2.pem" 2>/dev/null
cmp -s "$t_dir/pub2.pem" "$t_dir/pub.pem" && pass "DER decodes to the same key" ||
    fail "exported DER is not the same key"

kr export k1 --format jwk
expect_rc 0 "export the public key as JWK"
expect_out '"kid": "k1"' "the JWK carries the kid"
if grep -q '"d"' "$t_dir/out"; then fail "the public JWK holds d"; else pass "the public JWK holds no d"; fi

kr export k1 --private
expect_rc 2 "--private without --out"
expect_err "never written to standard output" "--private without --out"

kr export k1 --private --out "$t_dir/priv.pem"
expect_rc 0 "export the private key"
mode=$(stat -c %a "$t_dir/priv.pem")
[ "$mode" = 600 ] && pass "private export mode is 0600" || fail "private export mode is $mode"
a=$(openssl rsa -in "$t_dir/priv.pem" -noout -modulus 2>/dev/null)
b=$(openssl rsa -in "$t_dir/key.pem" -noout -modulus 2>/dev/null)
[ -n "$a" ] && [ "$a" = "$b" ] && pass "the private export is the imported key" ||
    fail "the private export is not the imported key"

kr export k1 --private --out "$t_dir/priv.pem"
expect_rc 4 "export over an existing file"
expect_err "never overwrites" "export over an existing file"

ln -s "$t_dir/elsewhere" "$t_dir/link.pem"
kr export k1 --private --out "$t_dir/link.pem"
expect_rc 4 "export through a symlink"
[ ! -e "$t_dir/elsewhere" ] && pass "nothing written through the symlink" ||
    fail "export followed a symlink"

kr export k1 --private --format jwk --out "$t_dir/priv.jwk"
expect_rc 0 "export the private key as JWK"
kr import "$t_dir/priv.jwk"
expect_rc 0 "the private JWK imports again"
expect_out "^unchanged k1" "as the same key under its own kid"

openssl genrsa 2048 2>/dev/null | openssl rsa -pubout -out "$t_dir/other-pub.pem" 2>/dev/null
kr import "$t_dir/other-pub.pem" --kid pub-only
expect_rc 0 "import a public key"
kr export pub-only --private --out "$t_dir/none.pem"
expect_rc 4 "private export of a verify-only key"
expect_err "no private part" "private export of a verify-only key"
[ ! -e "$t_dir/none.pem" ] && pass "no file left behind" || fail "a file was left behind"

kr export nosuch
expect_rc 3 "export of an unknown kid"

kr export k1 --format xml
expect_rc 2 "an unknown format"

finish
