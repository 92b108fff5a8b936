#!/bin/sh
# The main job end to end: an operator registers a portal-issued key pair
# under its kid, a script signs an Admin API token, keyrot and two
# independent verifiers (PyJWT, the jose CLI) accept it, and the key table
# and JWKS show the key.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool openssl

openssl genrsa -out "$t_dir/portal.pem" 2048 2>/dev/null || exit 99

kr init
expect_rc 0 "init creates the store"
mode=$(stat -c %a "$STORE")
[ "$mode" = 600 ] && pass "store mode is 0600" || fail "store mode is $mode"

kr init
expect_rc 4 "init refuses an existing store"
expect_err "already exists" "init refuses an existing store"

kr import "$t_dir/portal.pem" --kid portal-2026-12 --activate
expect_rc 0 "import --activate"
expect_out "^imported portal-2026-12: RSA 2048, active, with private key" \
    "import reports the key"

kr import "$t_dir/portal.pem" --kid portal-2026-12
expect_rc 0 "re-import of the same key and kid"
expect_out "^unchanged portal-2026-12" "re-import says nothing changed"

kr sign --aud my-project
expect_rc 0 "sign"
token=$(cat "$t_dir/out")
case $token in
    *.*.*) pass "sign prints a compact JWS" ;;
    *) fail "sign printed '$token'" ;;
esac

header=$(printf '%s' "${token%%.*}" | tr '_-' '/+' | base64 -d 2>/dev/null)
[ "$header" = '{"alg":"RS256","typ":"JWT","kid":"portal-2026-12"}' ] &&
    pass "header is alg, typ, kid in order" || fail "header is '$header'"

kr verify --aud my-project "$token"
expect_rc 0 "verify accepts the token"
expect_out "^valid: kid portal-2026-12" "verify names the key"

kr --json verify --aud my-project "$token"
expect_out '^\{"valid":true,"kid":"portal-2026-12","claims":\{"aud":"my-project","iat":[0-9]+,"exp":[0-9]+\}\}$' \
    "verify --json"

kr verify --aud other-project "$token"
expect_rc 1 "verify refuses another audience"
expect_out "^invalid: aud_mismatch" "verify names aud_mismatch"

kr header --aud my-project
expect_out "^Authorization: Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$" \
    "header prints the Authorization line"

kr list
expect_rc 0 "list"
expect_out "^portal-2026-12 +active +2048 +yes" "list shows the active key"

kr --json list
expect_out '"kid":"portal-2026-12","state":"active","bits":2048' "list --json"

kr show portal-2026-12
expect_out "^state: +active" "show prints the state"

kr jwks
expect_rc 0 "jwks"
n_keys=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["keys"]))' <"$t_dir/out" 2>/dev/null)
[ "$n_keys" = 1 ] && pass "jwks holds one key" || fail "jwks holds '$n_keys' keys"
cp "$t_dir/out" "$t_dir/jwks.json"

# PyJWT (Debian python3-jwt) verifies the token with the public key.
if /usr/bin/python3 -c 'import jwt' 2>/dev/null; then
    openssl rsa -in "$t_dir/portal.pem" -pubout -out "$t_dir/portal.pub" 2>/dev/null
    if /usr/bin/python3 - "$token" "$t_dir/portal.pub" <<'PY'
import sys, jwt
claims = jwt.decode(sys.argv[1], open(sys.argv[2]).read(), algorithms=["RS256"], audience="my-project")
assert jwt.get_unverified_header(sys.argv[1])["kid"] == "portal-2026-12"
assert claims["exp"] - claims["iat"] == 300, claims
PY
    then pass "PyJWT verifies keyrot's token"; else fail "PyJWT rejects keyrot's token"; fi
else
    echo "note: python3-jwt missing, PyJWT check skipped"
fi

# The jose CLI verifies the token against keyrot's own JWKS.
if command -v jose >/dev/null 2>&1; then
    if printf '%s' "$token" | jose jws ver -i- -k "$t_dir/jwks.json" -O /dev/null 2>"$t_dir/err"; then
        pass "jose verifies keyrot's token with keyrot's JWKS"
    else
        fail "jose rejects keyrot's token"
    fi
    tampered=$(printf '%s' "$token" | sed 's/\.[A-Za-z0-9_-]\{4\}/.AAAA/')
    if printf '%s' "$tampered" | jose jws ver -i- -k "$t_dir/jwks.json" -O /dev/null 2>/dev/null; then
        fail "jose accepts a tampered token (the check cannot fail)"
    else
        pass "jose rejects the tampered twin"
    fi
else
    echo "note: jose missing, jose check skipped"
fi

kr generate --kid next-key
expect_rc 0 "generate a pending key"
kr activate next-key
expect_rc 0 "activate the new key"
expect_out "portal-2026-12: active -> retiring" "the old key becomes retiring"
kr verify --aud my-project "$token"
expect_rc 0 "the old key's token still verifies in the overlap"

finish
