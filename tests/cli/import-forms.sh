#!/bin/sh
# Every key import form, repair and refusal through the real keyrot
# command. One 2048-bit key made by openssl is written in each form:
# PKCS#1 and PKCS#8 PEM and DER, encrypted PKCS#8 and legacy encrypted
# PKCS#1, SPKI, RSA PUBLIC KEY, certificate, private and public JWK. Each
# must import with the same RFC 7638 thumbprint. Public forms give a
# verify-only key that cannot sign or export a private key until its
# private half is imported.
# Each text repair imports with a warning. Each refusal gets its own
# message and exit status and leaves the store's SQL dump unchanged.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool openssl
need_tool sqlite3
# Debian's python3 (python3-cryptography) is the one the build installs;
# another python3 earlier on PATH may lack its modules.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
need_tool "$PYTHON"
need_tool iconv
"$PYTHON" -c 'import cryptography' 2>/dev/null || {
    echo "SKIP: python3-cryptography is not installed"
    exit 77
}

k=$t_dir/keys
mkdir "$k" || exit 99
printf 'correct horse\n' >"$k/pass"
printf 'wrong horse\n' >"$k/wrong"

# One key in every form openssl writes.
openssl genrsa -traditional -out "$k/a-pkcs1.pem" 2048 2>/dev/null || exit 99
openssl pkcs8 -topk8 -nocrypt -in "$k/a-pkcs1.pem" -out "$k/a-pkcs8.pem" ||
    exit 99
openssl rsa -in "$k/a-pkcs1.pem" -traditional -outform DER \
    -out "$k/a-pkcs1.der" 2>/dev/null || exit 99
openssl pkcs8 -topk8 -nocrypt -in "$k/a-pkcs1.pem" -outform DER \
    -out "$k/a-pkcs8.der" || exit 99
openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 \
    -in "$k/a-pkcs1.pem" -passout "file:$k/pass" -out "$k/a-enc-pkcs8.pem" ||
    exit 99
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$k/a-pkcs1.pem" \
    -passout "file:$k/pass" -outform DER -out "$k/a-enc-pkcs8.der" || exit 99
openssl rsa -in "$k/a-pkcs1.pem" -aes256 -traditional -passout "file:$k/pass" \
    -out "$k/a-enc-pkcs1.pem" 2>/dev/null || exit 99
openssl pkey -in "$k/a-pkcs1.pem" -pubout -out "$k/a-spki.pem" || exit 99
openssl pkey -in "$k/a-pkcs1.pem" -pubout -outform DER -out "$k/a-spki.der" ||
    exit 99
openssl rsa -in "$k/a-pkcs1.pem" -RSAPublicKey_out -out "$k/a-rsapub.pem" \
    2>/dev/null || exit 99
openssl req -x509 -new -key "$k/a-pkcs1.pem" -subj /CN=keyrot-test -days 2 \
    -out "$k/a-cert.pem" 2>/dev/null || exit 99

# The private and public JWK of the same key, written by python3
# cryptography from the PEM.
"$PYTHON" - "$k/a-pkcs1.pem" "$k/a-private.jwk" "$k/a-public.jwk" <<'EOF' || exit 99
import base64, json, sys
from cryptography.hazmat.primitives import serialization
def b64(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
with open(sys.argv[1], "rb") as f:
    key = serialization.load_pem_private_key(f.read(), None)
priv, pub = key.private_numbers(), key.public_key().public_numbers()
public = {"kty": "RSA", "kid": "jwk-kid", "n": b64(pub.n), "e": b64(pub.e)}
private = dict(public, d=b64(priv.d), p=b64(priv.p), q=b64(priv.q),
               dp=b64(priv.dmp1), dq=b64(priv.dmq1), qi=b64(priv.iqmp))
json.dump(private, open(sys.argv[2], "w"))
json.dump(public, open(sys.argv[3], "w"))
EOF

# The thumbprint every form must give, computed by python3 from the PEM.
thumb=$("$PYTHON" - "$k/a-pkcs1.pem" <<'EOF'
import base64, hashlib, json, sys
from cryptography.hazmat.primitives import serialization
with open(sys.argv[1], "rb") as f:
    pub = serialization.load_pem_private_key(f.read(), None).public_key()
def b64(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
nums = pub.public_numbers()
canon = json.dumps({"e": b64(nums.e), "kty": "RSA", "n": b64(nums.n)},
                   separators=(",", ":"), sort_keys=True)
print(base64.urlsafe_b64encode(hashlib.sha256(canon.encode()).digest())
      .rstrip(b"=").decode())
EOF
) || exit 99

# ---- every form, each into a fresh store --------------------------------

# form FILE PRIVATE [OPTIONS...]: imports FILE into a fresh store and checks
# the thumbprint and whether the private part is held (yes or no).
form() {
    form_file=$1 form_private=$2
    shift 2
    STORE=$t_dir/form.db
    rm -f "$STORE" "$STORE-wal" "$STORE-shm"
    kr init || exit 99
    kr import "$k/$form_file" "$@"
    expect_rc 0 "import $form_file"
    expect_out "thumbprint $thumb\$" "$form_file has the key's thumbprint"
    if [ "$form_private" = yes ]; then
        expect_out ": RSA 2048, pending, with private key," \
            "$form_file holds the private part"
    else
        expect_out ": RSA 2048, pending, verify-only \(no private key\)," \
            "$form_file registers a verify-only key"
    fi
}

form a-pkcs1.pem yes --kid a
form a-pkcs8.pem yes --kid a
form a-pkcs1.der yes --kid a
form a-pkcs8.der yes --kid a
form a-enc-pkcs8.pem yes --kid a --passphrase-file "$k/pass"
form a-enc-pkcs8.der yes --kid a --passphrase-file "$k/pass"
form a-enc-pkcs1.pem yes --kid a --passphrase-file "$k/pass"
form a-private.jwk yes
form a-spki.pem no --kid a
form a-spki.der no --kid a
form a-rsapub.pem no --kid a
form a-cert.pem no --kid a
form a-public.jwk no

# A JWK's own kid is used, and --kid may repeat it but not contradict it.
form a-private.jwk yes --kid jwk-kid
expect_out "^imported jwk-kid:" "the JWK's own kid is used"
STORE=$t_dir/form.db
kr import "$k/a-private.jwk" --kid other-kid
expect_rc 2 "--kid that contradicts the JWK's kid"
expect_err "the JWK names kid jwk-kid but --kid says other-kid" \
    "--kid that contradicts the JWK's kid"

# ---- verify-only, then the private half -----------------------------------

STORE=$t_dir/store.db
kr init || exit 99
kr import "$k/a-spki.pem" --kid a
expect_rc 0 "import the public key"
expect_out "verify-only" "the public key is verify-only"
kr activate a
expect_rc 0 "activate the verify-only key"
kr sign --aud my-project
expect_rc 4 "sign with a verify-only key"
expect_err "the active key a has no private part in this store" \
    "sign names the missing private part"
kr export a --private --out "$t_dir/a-private.pem"
expect_rc 4 "export --private of a verify-only key"
expect_err "a: this store holds no private part for this key \(verify-only\)" \
    "export --private names the missing private part"
[ ! -e "$t_dir/a-private.pem" ] && pass "no private key file is written" ||
    fail "export --private wrote $t_dir/a-private.pem"

for half in a-spki.der a-rsapub.pem a-cert.pem; do
    kr import "$k/$half" --kid a
    expect_rc 0 "another public form of the same key ($half)"
    expect_out "^unchanged a:" "$half changes nothing"
done

kr import "$k/a-pkcs8.der" --kid a
expect_rc 0 "import the private half later"
expect_out "^private part added a: RSA 2048, active, with private key" \
    "the private half is added"
kr --now "$KR_NOW" sign --aud my-project
expect_rc 0 "sign once the private part is there"
token=$(cat "$t_dir/out")
kr --now "$KR_NOW" verify --aud my-project "$token"
expect_rc 0 "the token verifies"
kr import "$k/a-pkcs1.pem" --kid a
expect_rc 0 "the private key again"
expect_out "^unchanged a:" "importing the private key again changes nothing"

# ---- text repairs, each with a warning ------------------------------------

# repair NAME WARNING: imports $k/NAME (the same key as kid a) and expects
# success, no change, and a warning line matching WARNING.
repair() {
    kr import "$k/$1" --kid a
    expect_rc 0 "import $1"
    expect_out "^unchanged a: .*thumbprint $thumb\$" "$1 gives the same key"
    if grep -Eq "^keyrot: import: warning: .*$1: .*$2" "$t_dir/err"; then
        pass "$1 is repaired with a warning"
    else
        fail "$1: no warning matching /$2/"
    fi
}

pem=$k/a-pkcs1.pem
sed 's/$/\r/' "$pem" >"$k/crlf.pem"
repair crlf.pem "converted CR LF line ends to LF"
tr '\n' '\r' <"$pem" >"$k/cr.pem"
repair cr.pem "converted CR line ends"
{ printf '\357\273\277'; cat "$pem"; } >"$k/bom.pem"
repair bom.pem "removed a UTF-8 byte-order mark"
{ printf 'Bag Attributes\n    localKeyID: 01 02 03\nKey Attributes: <No Attributes>\n'; cat "$pem"; } >"$k/leading.pem"
repair leading.pem "ignored 3 lines of text before the BEGIN line"
head -c -1 "$pem" >"$k/nonl.pem"
repair nonl.pem "no final newline"
tr -d '\n' <"$pem" >"$k/oneline.pem"
repair oneline.pem "restored the line breaks"
tr '\n' ' ' <"$pem" >"$k/spaces.pem"
repair spaces.pem "restored the line breaks"
awk '{ printf "%s\\n", $0 }' "$pem" >"$k/escaped.pem"
repair escaped.pem "escaped line breaks"
"$PYTHON" -c 'import json, sys; print(json.dumps({"type": "service_account", "private_key": open(sys.argv[1]).read()}))' \
    "$k/a-pkcs8.pem" >"$k/in-json.json"
repair in-json.json "escaped line breaks"

# ---- refusals: own message, own exit status, store unchanged --------------

openssl genrsa -traditional -out "$k/b.pem" 2048 2>/dev/null || exit 99
openssl genrsa -out "$k/small.pem" 1024 2>/dev/null || exit 99
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$k/ec.pem" 2>/dev/null || exit 99
openssl genpkey -algorithm ed25519 -out "$k/ed25519.pem" 2>/dev/null ||
    exit 99
iconv -f UTF-8 -t UTF-16 "$pem" >"$k/utf16-bom.pem" || exit 99
iconv -f UTF-8 -t UTF-16LE "$pem" >"$k/utf16le.pem" || exit 99
cat "$pem" "$k/b.pem" >"$k/two.pem"
"$PYTHON" -c 'import json; print(json.dumps({"kty": "EC", "crv": "P-256", "kid": "ec", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}))' \
    >"$k/ec.jwk"

# A public key with exponent E and key a's modulus, as RSA PUBLIC KEY PEM.
exponent_key() {
    n=$(openssl rsa -in "$pem" -noout -modulus 2>/dev/null | cut -d= -f2)
    printf 'asn1=SEQUENCE:pub\n[pub]\nn=INTEGER:0x%s\ne=INTEGER:%s\n' "$n" "$1" \
        >"$t_dir/pub.cnf"
    openssl asn1parse -genconf "$t_dir/pub.cnf" -out "$t_dir/pub.der" \
        -noout || exit 99
    {
        echo '-----BEGIN RSA PUBLIC KEY-----'
        base64 -w 64 "$t_dir/pub.der"
        echo '-----END RSA PUBLIC KEY-----'
    } >"$k/e$1.pem"
}
exponent_key 2
exponent_key 1
exponent_key 3

before=$t_dir/before.sql

# refused CODE PATTERN DESCRIPTION ARGS...: import refused with exit CODE,
# one error line matching PATTERN, and the store's dump unchanged.
refused() {
    want_rc=$1 pattern=$2 what=$3
    shift 3
    dump_store "$before"
    kr "$@"
    expect_rc "$want_rc" "$what"
    expect_err "$pattern" "$what"
    expect_unchanged "$before" "$what"
}

refused 5 "utf16-bom.pem: the input is UTF-16 text; convert it to UTF-8" \
    "UTF-16 with a byte-order mark" import "$k/utf16-bom.pem" --kid c
refused 5 "utf16le.pem: the input is UTF-16 text" \
    "UTF-16 without a byte-order mark" import "$k/utf16le.pem" --kid c
refused 5 "two.pem: the input holds 2 private keys; put each key in its own file" \
    "two private keys in one file" import "$k/two.pem" --kid c
refused 5 "ec.pem: unsupported key type EC; keyrot signs RS256" \
    "an EC key" import "$k/ec.pem" --kid c
refused 5 "ec.jwk: unsupported key type EC; keyrot signs RS256" \
    "an EC JWK" import "$k/ec.jwk"
refused 5 "ed25519.pem: unsupported key type Ed25519; keyrot signs RS256" \
    "an Ed25519 key" import "$k/ed25519.pem" --kid c
refused 5 "small.pem: RSA key is 1024 bits; at least 2048 are required" \
    "a 1024-bit key" import "$k/small.pem" --kid c
refused 5 "e2.pem: RSA public exponent is even; an odd exponent of at least 3 is required" \
    "an even public exponent" import "$k/e2.pem" --kid c
refused 5 "e1.pem: RSA public exponent is 1; an odd exponent of at least 3 is required" \
    "a public exponent of 1" import "$k/e1.pem" --kid c
refused 4 "already registered as kid a" \
    "the same key under a second kid" import "$pem" --kid a-again
refused 4 "already registered as kid a" \
    "the same key as a public JWK under a second kid" import "$k/a-public.jwk"
refused 4 "kid a already exists with other key material" \
    "a kid that exists with other key material" import "$k/b.pem" --kid a
refused 5 "a-enc-pkcs8.pem: passphrase required: the private key is encrypted" \
    "an encrypted key without a passphrase" import "$k/a-enc-pkcs8.pem" --kid c
refused 5 "a-enc-pkcs8.pem: wrong passphrase: the private key cannot be decrypted" \
    "an encrypted key with a wrong passphrase" \
    import "$k/a-enc-pkcs8.pem" --kid c --passphrase-file "$k/wrong"
refused 5 "a-enc-pkcs1.pem: passphrase required" \
    "a legacy encrypted PKCS#1 key without a passphrase" \
    import "$k/a-enc-pkcs1.pem" --kid c
refused 5 "a-enc-pkcs1.pem: wrong passphrase" \
    "a legacy encrypted PKCS#1 key with a wrong passphrase" \
    import "$k/a-enc-pkcs1.pem" --kid c --passphrase-file "$k/wrong"
refused 3 "nonexistent.pass: file not found" "a missing passphrase file" \
    import "$k/a-enc-pkcs8.pem" --kid c --passphrase-file "$k/nonexistent.pass"

# An odd exponent other than 65537 is accepted, with a warning.
kr import "$k/e3.pem" --kid e3
expect_rc 0 "a public exponent of 3"
if grep -q "warning: .*e3.pem: RSA public exponent is 3, not 65537" "$t_dir/err"; then
    pass "exponent 3 is accepted with a warning"
else
    fail "no warning for exponent 3"
fi

# ---- hostile kids in tokens -------------------------------------------------

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# hostile_kid LABEL JSON_KID ESCAPED: a token whose header kid is the JSON
# text JSON_KID is rejected as kid_unknown, on one line that shows the kid
# as ESCAPED (quotes, control bytes and non-ASCII bytes as \xHH).
hostile_kid() {
    h=$(printf '{"alg":"RS256","typ":"JWT","kid":%s}' "$2" | b64url)
    c=$(printf '{"aud":"my-project","iat":%s,"exp":%s}' "$KR_NOW" \
        "$((KR_NOW + 300))" | b64url)
    s=$(printf '%s.%s' "$h" "$c" | openssl dgst -sha256 -sign "$pem" -binary |
        b64url)
    kr --now "$KR_NOW" verify --aud my-project "$h.$c.$s"
    expect_rc 1 "kid with $1"
    lines=$(wc -l <"$t_dir/out")
    [ "$lines" -eq 1 ] && pass "kid with $1: one result line" ||
        fail "kid with $1: $lines result lines"
    if grep -Fq "invalid: kid_unknown: kid $3 is not a valid key ID" "$t_dir/out"; then
        pass "kid with $1 is kid_unknown, escaped"
    else
        fail "kid with $1: expected kid_unknown showing the kid escaped: $(cat "$t_dir/out")"
    fi
}

hostile_kid "a NUL" '"a\u0000b"' '"a\x00b"'
hostile_kid "a quote" '"a\"b"' '"a\x22b"'
hostile_kid "a path" '"../../etc/passwd"' '"../../etc/passwd"'
hostile_kid "SQL" "\"a' OR '1'='1\"" "\"a' OR '1'='1\""
hostile_kid "a line break" '"line\nbreak"' '"line\x0abreak"'
hostile_kid "non-ASCII" '"\u00e9t\u00e9"' '"\xc3\xa9t\xc3\xa9"'

finish
