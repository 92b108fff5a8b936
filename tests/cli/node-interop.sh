#!/bin/sh
# Interop with node's jsonwebtoken 9.0.3, the third independent peer beside
# PyJWT and the jose CLI:
#   - jwt.verify (RS256 only, audience, clockTimestamp) accepts keyrot's
#     tokens, one audience and several, with the public key from
#     `keyrot export`, and rejects a tampered twin;
#   - keyrot verify accepts node's RS256 tokens signed with a private key
#     that keyrot exported, or that node made and keyrot imported. It
#     rejects an HS256 token keyed with the public PEM (alg_not_allowed)
#     and a token that lives longer than max_token_ttl (lifetime_too_long);
#   - crypto.createPublicKey({format: 'jwk'}) takes the keys of
#     `keyrot jwks`, and they verify keyrot's tokens.
# jsonwebtoken is installed with npm into $KR_NODE_CACHE, by default
# tests/node-cache beside the keyrot binary under test (the build tree), and
# reused while it holds 9.0.3. Without node, or without npm when the cache
# is empty, or when the install fails, the test is skipped (exit 77).
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool node

jwt_version=9.0.3
node_cache=${KR_NODE_CACHE:-$(dirname "$KEYROT")/tests/node-cache}
KR_JWT_MODULE=$node_cache/node_modules/jsonwebtoken
export KR_JWT_MODULE

# Prints the version of jsonwebtoken in the cache, or nothing.
cached_jwt_version() {
    node -p 'require(process.env.KR_JWT_MODULE + "/package.json").version' \
        2>/dev/null
}

if [ "$(cached_jwt_version)" != "$jwt_version" ]; then
    command -v npm >/dev/null 2>&1 || {
        echo "SKIP: npm is not installed, and $node_cache has no jsonwebtoken@$jwt_version"
        exit 77
    }
    mkdir -p "$node_cache" 2>/dev/null || {
        echo "SKIP: cannot create the npm cache directory $node_cache"
        exit 77
    }
    npm_log=$node_cache/npm-install.log
    if ! npm install --no-audit --no-fund --prefix "$node_cache" \
        "jsonwebtoken@$jwt_version" >"$npm_log" 2>&1; then
        reason=$(grep -m1 -i 'error' "$npm_log" || tail -n1 "$npm_log")
        echo "SKIP: npm install jsonwebtoken@$jwt_version failed: $reason"
        exit 77
    fi
    if [ "$(cached_jwt_version)" != "$jwt_version" ]; then
        echo "SKIP: npm install did not put jsonwebtoken@$jwt_version in $node_cache"
        exit 77
    fi
fi

# The node side. Tokens go through argv, as in the other peer tests, and
# keys go through files.
cat >"$t_dir/peer.js" <<'EOF'
'use strict';
// node peer.js verify TOKEN PUBLIC_PEM_FILE AUDIENCE_JSON NOW
// node peer.js verify-jwks TOKEN JWKS_FILE AUDIENCE_JSON NOW
//   Print the verified header and claims as two JSON lines (exit 0), or
//   "rejected: MESSAGE" (exit 1).
// node peer.js sign KEY_FILE KID AUDIENCE_JSON IAT EXPIRES_IN ALG [CLAIMS_JSON]
//   Print a token; EXPIRES_IN is seconds or a jsonwebtoken timespan ("2h").
// node peer.js keygen PRIVATE_PEM_FILE PUBLIC_PEM_FILE
//   Write a new RSA 2048 key pair: PKCS#1 private, SPKI public.
// node peer.js tamper TOKEN
//   Print TOKEN with the claim "role" set to "root" and the signature kept.
const fs = require('fs');
const crypto = require('crypto');
const jwt = require(process.env.KR_JWT_MODULE);

function verifyToken(token, key, audienceJson, now) {
    let decoded;
    try {
        decoded = jwt.verify(token, key, {
            algorithms: ['RS256'],
            audience: JSON.parse(audienceJson),
            clockTimestamp: Number(now),
            complete: true,
        });
    } catch (e) {
        console.log('rejected: ' + e.message);
        process.exit(1);
    }
    console.log(JSON.stringify(decoded.header));
    console.log(JSON.stringify(decoded.payload));
}

function publicKeyFromJwks(token, jwksFile) {
    const decoded = jwt.decode(token, {complete: true});
    const kid = decoded ? decoded.header.kid : undefined;
    const jwks = JSON.parse(fs.readFileSync(jwksFile, 'utf8'));
    const jwk = jwks.keys.find((k) => k.kid === kid);
    if (!jwk) {
        console.log('rejected: no key with kid ' + JSON.stringify(kid) + ' in the JWKS');
        process.exit(1);
    }
    return crypto.createPublicKey({key: jwk, format: 'jwk'});
}

function signToken(keyFile, kid, audienceJson, iat, expiresIn, algorithm, claimsJson) {
    const payload = Object.assign({iat: Number(iat)}, JSON.parse(claimsJson || '{}'));
    const token = jwt.sign(payload, fs.readFileSync(keyFile), {
        algorithm: algorithm,
        keyid: kid,
        audience: JSON.parse(audienceJson),
        expiresIn: /^[0-9]+$/.test(expiresIn) ? Number(expiresIn) : expiresIn,
    });
    console.log(token);
}

function generateKeyPair(privateFile, publicFile) {
    const pair = crypto.generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: {type: 'spki', format: 'pem'},
        privateKeyEncoding: {type: 'pkcs1', format: 'pem'},
    });
    fs.writeFileSync(privateFile, pair.privateKey, {mode: 0o600});
    fs.writeFileSync(publicFile, pair.publicKey);
}

function tamperToken(token) {
    const [header, claims, signature] = token.split('.');
    const payload = JSON.parse(Buffer.from(claims, 'base64url').toString());
    payload.role = 'root';
    const forged = Buffer.from(JSON.stringify(payload)).toString('base64url');
    console.log([header, forged, signature].join('.'));
}

const [command, ...args] = process.argv.slice(2);
if (command === 'verify') {
    verifyToken(args[0], fs.readFileSync(args[1]), args[2], args[3]);
} else if (command === 'verify-jwks') {
    verifyToken(args[0], publicKeyFromJwks(args[0], args[1]), args[2], args[3]);
} else if (command === 'sign') {
    signToken(...args);
} else if (command === 'keygen') {
    generateKeyPair(args[0], args[1]);
} else if (command === 'tamper') {
    tamperToken(args[0]);
} else {
    console.error('peer.js: unknown command ' + command);
    process.exit(2);
}
EOF

# node_peer ARGS...: runs peer.js with stdout to $t_dir/peer, stderr to
# $t_dir/peer.err and the exit status to $p_rc.
node_peer() {
    node "$t_dir/peer.js" "$@" >"$t_dir/peer" 2>"$t_dir/peer.err"
    p_rc=$?
    return 0
}

# node_sign ARGS...: runs node_peer sign ARGS and prints the token. A
# failure to sign is a hard error, because the checks after it need a token.
node_sign() {
    node_peer sign "$@"
    if [ "$p_rc" -ne 0 ]; then
        echo "ERROR: jsonwebtoken cannot sign: $(head -c 600 "$t_dir/peer.err")" >&2
        exit 99
    fi
    cat "$t_dir/peer"
}

# expect_node_accepts DESCRIPTION: the last node_peer verify accepted.
expect_node_accepts() {
    if [ "$p_rc" -eq 0 ]; then
        pass "$1"
    else
        fail "$1: $(head -c 300 "$t_dir/peer") $(head -c 300 "$t_dir/peer.err")"
    fi
}

# expect_node_rejects MESSAGE DESCRIPTION: the last node_peer verify
# rejected the token with jsonwebtoken's error MESSAGE.
expect_node_rejects() {
    if [ "$p_rc" -eq 0 ]; then
        fail "$2: node accepts it (the check cannot fail)"
    elif [ "$(cat "$t_dir/peer")" = "rejected: $1" ]; then
        pass "$2"
    else
        fail "$2: expected 'rejected: $1', got '$(head -c 300 "$t_dir/peer")' $(head -c 300 "$t_dir/peer.err")"
    fi
}

# expect_node_line N TEXT DESCRIPTION: line N of the last node_peer output
# is exactly TEXT.
expect_node_line() {
    line=$(sed -n "${1}p" "$t_dir/peer")
    if [ "$line" = "$2" ]; then
        pass "$3"
    else
        fail "$3: expected '$2', got '$line'"
    fi
}

# b64url_decode TEXT: prints the bytes of unpadded base64url TEXT.
b64url_decode() {
    b64=$(printf '%s' "$1" | tr '_-' '/+')
    case $((${#b64} % 4)) in
    2) b64="$b64==" ;;
    3) b64="$b64=" ;;
    esac
    printf '%s' "$b64" | base64 -d 2>/dev/null
}

# setup ARGS...: runs keyrot for a step that the checks after it need, so
# a failure is a hard error.
setup() {
    kr "$@"
    if [ "$t_rc" -ne 0 ]; then
        echo "ERROR: keyrot $1 failed (exit $t_rc): $(head -c 600 "$t_dir/err")" >&2
        exit 99
    fi
}

aud=my-project
now=$(date +%s)
exp=$((now + 300))

setup --now "$now" init
setup --now "$now" generate --kid kr-2026 --activate
setup export kr-2026 --out "$t_dir/kr-2026.pub.pem"

# keyrot signs, node verifies: one audience and extra claims.
setup --now "$now" sign --aud "$aud" --claim role=deployer --claim build=42
token=$(cat "$t_dir/out")
node_peer verify "$token" "$t_dir/kr-2026.pub.pem" "\"$aud\"" "$now"
expect_node_accepts "node verifies keyrot's token with the exported PEM"
expect_node_line 1 '{"alg":"RS256","typ":"JWT","kid":"kr-2026"}' \
    "node reads keyrot's header"
expect_node_line 2 \
    "{\"aud\":\"$aud\",\"iat\":$now,\"exp\":$exp,\"role\":\"deployer\",\"build\":42}" \
    "node reads keyrot's claims"

node_peer verify "$token" "$t_dir/kr-2026.pub.pem" '"other-project"' "$now"
expect_node_rejects "jwt audience invalid. expected: other-project" \
    "node rejects keyrot's token for another audience"

node_peer verify "$token" "$t_dir/kr-2026.pub.pem" "\"$aud\"" "$((exp + 1))"
expect_node_rejects "jwt expired" "node rejects keyrot's token after exp"

# The tampered twin: the claims changed, the signature kept.
node_peer tamper "$token"
twin=$(cat "$t_dir/peer")
node_peer verify "$twin" "$t_dir/kr-2026.pub.pem" "\"$aud\"" "$now"
expect_node_rejects "invalid signature" "node rejects the tampered twin"
kr --json --now "$now" verify --aud "$aud" "$twin"
expect_rc 1 "keyrot rejects the tampered twin"
expect_out '^\{"valid":false,"reason":"bad_signature",' \
    "keyrot names bad_signature for the tampered twin"

# keyrot signs for two audiences: an array, and node accepts either one.
setup --now "$now" sign --aud "$aud" --aud staging
token_two=$(cat "$t_dir/out")
node_peer verify "$token_two" "$t_dir/kr-2026.pub.pem" '"staging"' "$now"
expect_node_accepts "node verifies a two-audience token for the second"
expect_node_line 2 \
    "{\"aud\":[\"$aud\",\"staging\"],\"iat\":$now,\"exp\":$exp}" \
    "node reads the audiences as an array"
node_peer verify "$token_two" "$t_dir/kr-2026.pub.pem" "\"$aud\"" "$now"
expect_node_accepts "node verifies a two-audience token for the first"

# node signs with the private key that keyrot exported.
setup export kr-2026 --private --out "$t_dir/kr-2026.key.pem"
node_token=$(node_sign "$t_dir/kr-2026.key.pem" kr-2026 "\"$aud\"" "$now" \
    300 RS256 '{"scope":"admin"}')
kr --json --now "$now" verify --aud "$aud" "$node_token"
expect_rc 0 "keyrot verifies node's token signed with the exported key"
expect_out "^\\{\"valid\":true,\"kid\":\"kr-2026\",\"claims\":\\{\"iat\":$now,\"scope\":\"admin\",\"exp\":$exp,\"aud\":\"$aud\"\\}\\}\$" \
    "keyrot reads node's claims"

kr --now "$now" verify --aud other-project "$node_token"
expect_rc 1 "keyrot rejects node's token for another audience"
expect_out "^invalid: aud_mismatch" "keyrot names aud_mismatch for node's token"

# node's HS256 token keyed with the public PEM, the algorithm confusion
# attack: keyrot rejects HMAC whatever key material is at hand.
hs_token=$(node_sign "$t_dir/kr-2026.pub.pem" kr-2026 "\"$aud\"" "$now" \
    300 HS256)
hs_header=$(b64url_decode "${hs_token%%.*}")
[ "$hs_header" = '{"alg":"HS256","typ":"JWT","kid":"kr-2026"}' ] &&
    pass "node signs HS256 with the public PEM as the secret" ||
    fail "node's HS256 header is '$hs_header'"
kr --json --now "$now" verify --aud "$aud" "$hs_token"
expect_rc 1 "keyrot rejects node's HS256 token"
expect_out '^\{"valid":false,"reason":"alg_not_allowed",' \
    "keyrot names alg_not_allowed for node's HS256 token"

# node's expiresIn against the default max_token_ttl of 1h.
long_token=$(node_sign "$t_dir/kr-2026.key.pem" kr-2026 "\"$aud\"" "$now" \
    2h RS256)
kr --json --now "$now" verify --aud "$aud" "$long_token"
expect_rc 1 "keyrot rejects node's token with expiresIn 2h"
expect_out '^\{"valid":false,"reason":"lifetime_too_long",' \
    "keyrot names lifetime_too_long for expiresIn 2h"

hour_token=$(node_sign "$t_dir/kr-2026.key.pem" kr-2026 "\"$aud\"" "$now" \
    1h RS256)
kr --now "$now" verify --aud "$aud" "$hour_token"
expect_rc 0 "keyrot verifies node's token with expiresIn 1h"

# node makes a key pair and keyrot imports it (pending, verifies), then
# keyrot verifies node's two-audience token signed with it.
node_peer keygen "$t_dir/node.key.pem" "$t_dir/node.pub.pem"
[ "$p_rc" -eq 0 ] || {
    echo "ERROR: node cannot make a key pair: $(head -c 600 "$t_dir/peer.err")" >&2
    exit 99
}
kr --now "$now" import "$t_dir/node.key.pem" --kid node-portal
expect_rc 0 "keyrot imports node's PKCS#1 key"
expect_out "^imported node-portal: RSA 2048, pending, with private key" \
    "import reports node's key"

node_token_two=$(node_sign "$t_dir/node.key.pem" node-portal \
    "[\"$aud\",\"staging\"]" "$now" 300 RS256)
kr --now "$now" verify --aud staging "$node_token_two"
expect_rc 0 "keyrot verifies node's token signed with the imported key"
expect_out "^valid: kid node-portal" "keyrot names node's imported key"

kr --json --now "$now" verify --aud other-project "$node_token_two"
expect_rc 1 "keyrot rejects node's two-audience token for another audience"
expect_out '^\{"valid":false,"reason":"aud_mismatch",' \
    "keyrot names aud_mismatch for node's two-audience token"

# keyrot's JWKS in node: createPublicKey with format 'jwk'.
setup jwks
cp "$t_dir/out" "$t_dir/jwks.json"
node_peer verify-jwks "$token" "$t_dir/jwks.json" "\"$aud\"" "$now"
expect_node_accepts "node verifies keyrot's token with a key from keyrot's JWKS"
expect_node_line 1 '{"alg":"RS256","typ":"JWT","kid":"kr-2026"}' \
    "node picks the JWKS key by kid"
node_peer verify-jwks "$twin" "$t_dir/jwks.json" "\"$aud\"" "$now"
expect_node_rejects "invalid signature" \
    "node rejects the tampered twin with the JWKS key"

# keyrot switches to node's key: its new tokens verify in node with the
# JWKS key and with node's own public key, and the retiring key's token
# still verifies with the JWKS key.
setup --now "$now" activate node-portal
setup --now "$now" sign --aud "$aud"
token_node_key=$(cat "$t_dir/out")
setup jwks
cp "$t_dir/out" "$t_dir/jwks.json"
node_peer verify-jwks "$token_node_key" "$t_dir/jwks.json" "\"$aud\"" "$now"
expect_node_accepts "node verifies keyrot's token by node's key from the JWKS"
expect_node_line 1 '{"alg":"RS256","typ":"JWT","kid":"node-portal"}' \
    "keyrot signs with node's key once it is active"
node_peer verify "$token_node_key" "$t_dir/node.pub.pem" "\"$aud\"" "$now"
expect_node_accepts "node verifies keyrot's token with node's own public key"
node_peer verify-jwks "$token" "$t_dir/jwks.json" "\"$aud\"" "$now"
expect_node_accepts "node verifies the retiring key's token with the JWKS key"

finish
