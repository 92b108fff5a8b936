#!/bin/sh
# Tokens that independent verifiers accept but keyrot must reject. Each
# case first shows the peer accepting the token (so the case is a real
# peer mistake, not a token every verifier rejects), then keyrot rejecting
# it with its reason code:
#   - PyJWT 2.6 (/usr/bin/python3, jwt.decode with RS256 and the audience)
#     accepts '=' padding, the standard base64 alphabet, a string exp, a
#     duplicate header member and a token without exp;
#   - the jose CLI (jose jws ver) accepts an RS512 token with a key whose
#     JWK says "alg":"RS256".
# A peer that no longer accepts a case (a fixed release) makes the case a
# skip line, not a failure, because keyrot's verdict is checked anyway.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool openssl
need_tool jose
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] && "$PYTHON" -c 'import jwt' 2>/dev/null || {
    echo "SKIP: PyJWT for /usr/bin/python3 is not installed"
    exit 77
}

aud=my-project
now=$(date +%s)
openssl genrsa -out "$t_dir/key.pem" 2048 2>/dev/null || exit 99
openssl pkey -in "$t_dir/key.pem" -pubout -out "$t_dir/pub.pem" || exit 99
kr init || exit 99
kr import "$t_dir/key.pem" --kid peer --activate || exit 99

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# token HEADER CLAIMS: prints header.claims.signature, signed with key.pem.
token() {
    tok_h=$(printf '%s' "$1" | b64url)
    tok_c=$(printf '%s' "$2" | b64url)
    tok_s=$(printf '%s.%s' "$tok_h" "$tok_c" |
        openssl dgst -sha256 -sign "$t_dir/key.pem" -binary | b64url)
    printf '%s.%s.%s' "$tok_h" "$tok_c" "$tok_s"
}

# pyjwt_accepts TOKEN: whether PyJWT's jwt.decode accepts the token.
pyjwt_accepts() {
    "$PYTHON" - "$1" "$t_dir/pub.pem" "$aud" <<'EOF'
import sys, jwt
token, pub, aud = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3]
try:
    jwt.decode(token, pub, algorithms=["RS256"], audience=aud)
except Exception as e:
    print("PyJWT rejects: %s" % e)
    sys.exit(1)
EOF
}

# case_pyjwt NAME REASON TOKEN: PyJWT accepts TOKEN, and keyrot rejects it
# with REASON.
case_pyjwt() {
    if pyjwt_accepts "$3" >"$t_dir/peer"; then
        pass "PyJWT accepts $1"
    else
        echo "skip: PyJWT no longer accepts $1: $(cat "$t_dir/peer")"
    fi
    kr --json verify --aud "$aud" "$3"
    expect_rc 1 "keyrot rejects $1"
    expect_out "^\{\"valid\":false,\"reason\":\"$2\"," "keyrot names $2 for $1"
}

header='{"alg":"RS256","typ":"JWT","kid":"peer"}'
claims=$(printf '{"aud":"%s","iat":%s,"exp":%s}' "$aud" "$now" "$((now + 300))")
good=$(token "$header" "$claims")

# The control: both accept the well-formed token.
pyjwt_accepts "$good" >"$t_dir/peer" && pass "PyJWT accepts the good token" ||
    fail "PyJWT rejects the good token: $(cat "$t_dir/peer")"
kr verify --aud "$aud" "$good"
expect_rc 0 "keyrot accepts the good token"

# A 2048-bit signature is 342 base64url characters, so two '=' pad it.
case_pyjwt "'=' padding" malformed "$good=="

# The standard alphabet: '-' and '_' of the signature become '+' and '/'.
# Vary a claim until the signature holds at least one of them.
i=0
while :; do
    c=$(printf '{"aud":"%s","iat":%s,"exp":%s,"n":%s}' "$aud" "$now" \
        "$((now + 300))" "$i")
    std=$(token "$header" "$c")
    case ${std##*.} in
    *[-_]*) break ;;
    esac
    i=$((i + 1))
done
std=$(printf '%s' "$std" | awk -F. '{ gsub(/-/, "+", $3); gsub(/_/, "/", $3); print $1 "." $2 "." $3 }')
case_pyjwt "the standard base64 alphabet" malformed "$std"

case_pyjwt "a string exp" bad_claim "$(token "$header" \
    "$(printf '{"aud":"%s","iat":%s,"exp":"%s"}' "$aud" "$now" "$((now + 300))")")"

case_pyjwt "a duplicate kid in the header" bad_header "$(token \
    '{"alg":"RS256","typ":"JWT","kid":"peer","kid":"other"}' "$claims")"

case_pyjwt "a token without exp" exp_missing "$(token "$header" \
    "$(printf '{"aud":"%s","iat":%s}' "$aud" "$now")")"

# jose: sign RS512 with a key that has no alg, then verify with the same
# key marked "alg":"RS256".
jose jwk gen -i '{"kty":"RSA","bits":2048,"kid":"jose-k"}' \
    -o "$t_dir/jose.jwk" || exit 99
"$PYTHON" -c 'import json, sys; k = json.load(open(sys.argv[1])); k["alg"] = "RS256"; json.dump(k, open(sys.argv[2], "w"))' \
    "$t_dir/jose.jwk" "$t_dir/jose-rs256.jwk" || exit 99
jose jwk pub -i "$t_dir/jose-rs256.jwk" -o "$t_dir/jose-rs256-pub.jwk" ||
    exit 99
printf '%s' "$claims" >"$t_dir/claims.json"
jose jws sig -I "$t_dir/claims.json" -k "$t_dir/jose.jwk" -c \
    -s '{"protected":{"alg":"RS512","typ":"JWT","kid":"jose-k"}}' \
    -o "$t_dir/rs512.jwt" || exit 99
if jose jws ver -i "$t_dir/rs512.jwt" -k "$t_dir/jose-rs256-pub.jwk" \
    2>"$t_dir/peer"; then
    pass "jose verifies an RS512 token with a key marked RS256"
else
    echo "skip: jose no longer verifies RS512 with an RS256 key: $(cat "$t_dir/peer")"
fi
kr import "$t_dir/jose-rs256-pub.jwk"
expect_rc 0 "import the jose key"
kr --json verify --aud "$aud" "$(cat "$t_dir/rs512.jwt")"
expect_rc 1 "keyrot rejects the RS512 token"
expect_out '^\{"valid":false,"reason":"alg_not_allowed","detail":"alg \\"RS512\\" is not allowed' \
    "keyrot names alg_not_allowed for RS512"

finish
