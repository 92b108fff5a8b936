#!/bin/sh
# keyrot import-jwks: every RSA key of a JWK Set becomes a verify-only key,
# and keys of other types are skipped with a warning. A second import
# changes nothing. A set with one key anywhere in it that clashes with the
# store is rejected as a whole, with the store's SQL dump unchanged.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool openssl
need_tool sqlite3
# Debian's python3 (python3-cryptography) is the one the build installs;
# another python3 earlier on PATH may lack its modules.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
need_tool "$PYTHON"
"$PYTHON" -c 'import cryptography' 2>/dev/null || {
    echo "SKIP: python3-cryptography is not installed"
    exit 77
}

k=$t_dir/keys
mkdir "$k" || exit 99

# Writes K.pem (PKCS#8) and K.public.jwk / K.private.jwk (kid K) for each
# name, with the given modulus size.
"$PYTHON" - "$k" <<'EOF' || exit 99
import base64, json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
def b64(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
out = sys.argv[1]
for name, bits in [("one", 2048), ("two", 2048), ("three", 3072),
                   ("four", 2048), ("five", 2048), ("x", 2048),
                   ("small", 1024)]:
    key = rsa.generate_private_key(65537, bits)
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    open("%s/%s.pem" % (out, name), "wb").write(pem)
    pub, priv = key.public_key().public_numbers(), key.private_numbers()
    public = {"kty": "RSA", "kid": name, "use": "sig", "alg": "RS256",
              "n": b64(pub.n), "e": b64(pub.e)}
    private = dict(public, d=b64(priv.d), p=b64(priv.p), q=b64(priv.q),
                   dp=b64(priv.dmp1), dq=b64(priv.dmq1), qi=b64(priv.iqmp))
    json.dump(public, open("%s/%s.public.jwk" % (out, name), "w"))
    json.dump(private, open("%s/%s.private.jwk" % (out, name), "w"))
EOF

# jwks OUT MEMBER...: writes {"keys":[MEMBER,...]} where each MEMBER is a
# JWK file name under $k or an inline JSON object.
jwks() {
    jwks_out=$1
    shift
    "$PYTHON" - "$k" "$@" >"$jwks_out" <<'EOF' || exit 99
import json, sys
keys = []
for m in sys.argv[2:]:
    keys.append(json.loads(m) if m.startswith("{") else
                json.load(open("%s/%s" % (sys.argv[1], m))))
print(json.dumps({"keys": keys}, indent=1))
EOF
}

ec='{"kty":"EC","crv":"P-256","kid":"ec","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}'
oct='{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}'
jwks "$t_dir/set.json" one.public.jwk "$ec" two.public.jwk "$oct" \
    three.private.jwk

kr init || exit 99
before=$t_dir/before.sql

kr import-jwks --help
expect_rc 0 "import-jwks --help"
expect_out "^Usage: keyrot import-jwks FILE" "--help prints the usage"
kr import-jwks
expect_rc 2 "import-jwks without a file"
expect_err "expected one JWK Set FILE" "import-jwks without a file"
kr import-jwks "$t_dir/missing.json"
expect_rc 3 "import-jwks of a missing file"
expect_err "missing.json: file not found" "import-jwks of a missing file"

# The good set: three RSA keys (one with private members), an EC key and an
# HMAC key.
kr import-jwks "$t_dir/set.json"
expect_rc 0 "import-jwks of a mixed set"
expect_out "^imported one: RSA 2048, pending, verify-only" "one is imported"
expect_out "^imported two: RSA 2048, pending, verify-only" "two is imported"
expect_out "^imported three: RSA 3072, pending, verify-only" \
    "three keeps only its public part"
n=$(wc -l <"$t_dir/out")
[ "$n" -eq 3 ] && pass "three result lines" || fail "$n result lines"
grep -q 'warning: .*keys\[1\] (kid "ec") skipped: key type "EC" is not RSA' \
    "$t_dir/err" && pass "the EC key is skipped with a warning" ||
    fail "no warning for the EC key"
grep -q 'warning: .*keys\[3\] (kid "hmac") skipped: key type "oct" is not RSA' \
    "$t_dir/err" && pass "the HMAC key is skipped with a warning" ||
    fail "no warning for the HMAC key"
grep -q 'warning: .*"three" contains private members; only its public key is used' \
    "$t_dir/err" && pass "private members are dropped with a warning" ||
    fail "no warning for the private members"

kr --json show three
expect_out '"private":false,"origin":"jwks"' "three is verify-only, origin jwks"

# Repeating the import changes nothing, also with --json.
dump_store "$before"
kr --json import-jwks "$t_dir/set.json"
expect_rc 0 "a second import-jwks"
n=$(grep -o '"outcome":"unchanged"' "$t_dir/out" | wc -l)
[ "$n" -eq 3 ] && pass "--json reports three unchanged keys" ||
    fail "--json reports $n unchanged keys: $(cat "$t_dir/out")"
expect_out '^\{"keys":\[\{"kid":"one",' "--json prints one document"
expect_unchanged "$before" "a second import-jwks"

# Standard input works too.
kr import-jwks - <"$t_dir/set.json"
expect_rc 0 "import-jwks from standard input"
expect_out "^unchanged one:" "standard input gives the same set"

# A verify-only key from the set verifies a token signed by its private
# half.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
h=$(printf '{"alg":"RS256","typ":"JWT","kid":"two"}' | b64url)
c=$(printf '{"aud":"my-project","iat":%s,"exp":%s}' "$KR_NOW" \
    "$((KR_NOW + 300))" | b64url)
s=$(printf '%s.%s' "$h" "$c" | openssl dgst -sha256 -sign "$k/two.pem" \
    -binary | b64url)
kr --now "$KR_NOW" verify --aud my-project "$h.$c.$s"
expect_rc 0 "a token from the set's key verifies"
expect_out "^valid: kid two" "the token names kid two"

# ---- whole-set refusals ---------------------------------------------------

# refused CODE PATTERN DESCRIPTION SET: import-jwks of SET exits CODE with
# one error line matching PATTERN, and the store is as it was.
refused() {
    dump_store "$before"
    kr import-jwks "$4"
    expect_rc "$1" "$3"
    expect_err "$2" "$3"
    expect_unchanged "$before" "$3"
}

kr import "$k/x.pem" --kid x
expect_rc 0 "import key x from PEM"

# The clash is the last key, so the new key before it must not stay.
"$PYTHON" -c 'import json, sys; j = json.load(open(sys.argv[1])); j["kid"] = "x"; print(json.dumps(j))' \
    "$k/four.public.jwk" >"$k/four-as-x.jwk"
jwks "$t_dir/clash-kid.json" five.public.jwk "$(cat "$k/four-as-x.jwk")"
refused 4 "clash-kid.json: kid x: kid x already exists with other key material" \
    "a set whose last key reuses kid x" "$t_dir/clash-kid.json"

jwks "$t_dir/small.json" three.public.jwk small.public.jwk
refused 5 'small.json: JWK Set keys\[1\] \(kid "small"\): RSA key is 1024 bits; at least 2048 are required' \
    "a set with a 1024-bit key" "$t_dir/small.json"

"$PYTHON" -c 'import json, sys; j = json.load(open(sys.argv[1])); j["kid"] = "x-again"; print(json.dumps(j))' \
    "$k/x.public.jwk" >"$k/x-again.jwk"
jwks "$t_dir/clash-material.json" five.public.jwk "$(cat "$k/x-again.jwk")"
refused 4 "kid x-again: the same key material is already registered as kid x" \
    "a set holding key x under another kid" "$t_dir/clash-material.json"

jwks "$t_dir/no-rsa.json" "$ec" "$oct"
refused 5 "no-rsa.json: the JWK Set holds no RSA key usable for RS256" \
    "a set without RSA keys" "$t_dir/no-rsa.json"

printf '{"keys":[' >"$t_dir/truncated.json"
refused 5 "truncated.json: JWK Set is not valid JSON" \
    "a truncated set" "$t_dir/truncated.json"

printf '{"kty":"RSA"}' >"$t_dir/single.json"
refused 5 'single.json: JWK Set has no "keys" array' \
    "a single JWK instead of a set" "$t_dir/single.json"

jwks "$t_dir/dup.json" one.public.jwk one.public.jwk
refused 5 'dup.json: JWK Set has two keys with kid "one"' \
    "a set with a duplicate kid" "$t_dir/dup.json"

finish
