#!/bin/sh
# Walks every row of the interop fixtures' manifest.tsv through the real
# keyrot command and checks the verdict the row records:
#   - keys: import accepted with the manifest's kid, bits and RFC 7638
#     thumbprint (read back with 'keyrot --json show'), or refused with
#     exit 5 and a message for the category, leaving the store unchanged;
#   - JWK Sets: after 'import-jwks' into a fresh store, 'keyrot jwks'
#     equals the file in (kid, kty, n, e), and 'verify --jwks' accepts the
#     good tokens. Broken sets are rejected with exit 5;
#   - tokens: accepted at the row's now and aud with the row's kid, or
#     rejected with exactly the reason code that fits the category, both
#     against a store and against a JWKS file.
# Support files (README, generator, manifest, passphrase) are counted as
# n/a by name. A row that no check claims is a failure, and every failure
# names the file.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_fixtures
need_tool sqlite3
need_tool openssl
# Prefer Debian's python3, which the build installs, to others on PATH.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
need_tool "$PYTHON"

MANIFEST=$KR_FIXTURES/manifest.tsv
VSTORE=$t_dir/verifier.db # every "import ok" key, as the manifest assumes
n_rows=0
n_checked=0
n_na=0

# row_fail PATH MESSAGE / row_pass PATH MESSAGE
row_fail() {
    fail "$1: $2"
}
row_pass() {
    pass "$1: $2"
}

# kr_at STORE ARGS...: runs keyrot on STORE (stdin from /dev/null).
kr_at() {
    at_store=$1
    shift
    "$KEYROT" --store "$at_store" "$@" </dev/null >"$t_dir/out" 2>"$t_dir/err"
    t_rc=$?
}

# check_rc PATH WANT WHAT: the last command's exit status.
check_rc() {
    if [ "$t_rc" -eq "$2" ]; then
        row_pass "$1" "$3 (exit $2)"
        return 0
    fi
    row_fail "$1" "$3: expected exit $2, got $t_rc"
    return 1
}

# check_err PATH PATTERN WHAT: one error line on stderr matching PATTERN.
check_err() {
    lines=$(grep -vc '^keyrot: [a-z-]*: warning:' "$t_dir/err")
    if [ "$lines" -ne 1 ]; then
        row_fail "$1" "$3: expected one error line, got $lines"
    elif grep -v ': warning: ' "$t_dir/err" | grep -Eq -- "$2"; then
        row_pass "$1" "$3 (message)"
    else
        row_fail "$1" "$3: message does not match /$2/"
    fi
}

# check_out PATH PATTERN WHAT: stdout matches the fixed string PATTERN.
check_out() {
    if grep -Fq -- "$2" "$t_dir/out"; then
        row_pass "$1" "$3"
    else
        row_fail "$1" "$3: stdout lacks '$2': $(head -c 300 "$t_dir/out")"
    fi
}

# check_same_dump PATH STORE BEFORE WHAT: STORE's dump equals BEFORE.
check_same_dump() {
    sqlite3 "$2" .dump >"$t_dir/after.sql" || exit 99
    if cmp -s "$3" "$t_dir/after.sql"; then
        row_pass "$1" "$4 leaves the store unchanged"
    else
        row_fail "$1" "$4 changed the store"
    fi
}

# fresh_store NAME: creates an empty store $t_dir/NAME.db and prints its
# path.
fresh_store() {
    rm -f "$t_dir/$1.db" "$t_dir/$1.db-wal" "$t_dir/$1.db-shm"
    "$KEYROT" --store "$t_dir/$1.db" init >/dev/null 2>&1 || exit 99
    printf '%s\n' "$t_dir/$1.db"
}

# field TEXT NAME: the value of NAME=... in a verdict such as
# "import ok kid=K bits=N".
field() {
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# check_show PATH STORE KID BITS THUMBPRINT PRIVATE: 'keyrot --json show'
# reports the manifest's kid, bits (unless BITS is empty) and thumbprint,
# and whether the store contains the private part (true or false).
check_show() {
    kr_at "$2" --json show "$3"
    check_rc "$1" 0 "show $3" || return
    check_out "$1" "\"kid\":\"$3\"," "kid is $3"
    [ -z "$4" ] || check_out "$1" "\"bits\":$4," "bits are $4"
    check_out "$1" "\"thumbprint\":\"$5\"," "thumbprint is $5"
    check_out "$1" "\"private\":$6," "private part held: $6"
}

# ---- keys -----------------------------------------------------------------

# The encrypted key imports with the passphrase from --passphrase-file or
# $KEYROT_PASSPHRASE_FILE. Without it, and with a wrong one, the import
# fails with two distinct messages. keyrot never prompts, so a passphrase
# piped into its standard input is not read.
check_passphrase_forms() {
    path=$1 kid=$2 bits=$3 thumb=$4 passfile=$5
    s=$(fresh_store pass)
    sqlite3 "$s" .dump >"$t_dir/pass-before.sql" || exit 99

    kr_at "$s" import "$KR_FIXTURES/$path" --kid "$kid"
    check_rc "$path" 5 "import without a passphrase"
    check_err "$path" ": passphrase required" "import without a passphrase"
    check_same_dump "$path" "$s" "$t_dir/pass-before.sql" \
        "import without a passphrase"

    printf 'not the passphrase\n' >"$t_dir/wrong.pass"
    kr_at "$s" import "$KR_FIXTURES/$path" --kid "$kid" \
        --passphrase-file "$t_dir/wrong.pass"
    check_rc "$path" 5 "import with a wrong passphrase"
    check_err "$path" ": wrong passphrase" "import with a wrong passphrase"
    check_same_dump "$path" "$s" "$t_dir/pass-before.sql" \
        "import with a wrong passphrase"

    "$KEYROT" --store "$s" import "$KR_FIXTURES/$path" --kid "$kid" \
        <"$KR_FIXTURES/$passfile" >"$t_dir/out" 2>"$t_dir/err"
    t_rc=$?
    check_rc "$path" 5 "a passphrase on standard input is not read"
    check_err "$path" ": passphrase required" \
        "a passphrase on standard input is not read"

    KEYROT_PASSPHRASE_FILE=$KR_FIXTURES/$passfile \
        "$KEYROT" --store "$s" import "$KR_FIXTURES/$path" --kid "$kid" \
        </dev/null >"$t_dir/out" 2>"$t_dir/err"
    t_rc=$?
    check_rc "$path" 0 "import with KEYROT_PASSPHRASE_FILE"
    check_show "$path" "$s" "$kid" "$bits" "$thumb" true
}

# The public key alone registers a verify-only key in a store without it.
# The same material under a second kid is rejected, and the private key
# named in the "key" column adds the private part later.
check_public_key() {
    path=$1 kid=$2 bits=$3 thumb=$4 private_key=$5
    s=$(fresh_store public)

    kr_at "$s" import "$KR_FIXTURES/$path" --kid "$kid"
    check_rc "$path" 0 "import of the public key"
    check_out "$path" "verify-only" "import says verify-only"
    check_show "$path" "$s" "$kid" "$bits" "$thumb" false

    sqlite3 "$s" .dump >"$t_dir/public-before.sql" || exit 99
    kr_at "$s" import "$KR_FIXTURES/$path" --kid "$kid-again"
    check_rc "$path" 4 "the same key under a second kid"
    check_err "$path" "already registered as kid $kid" \
        "the same key under a second kid"
    check_same_dump "$path" "$s" "$t_dir/public-before.sql" \
        "the same key under a second kid"

    if [ "$private_key" = - ]; then
        row_fail "$path" "the manifest names no private key for this row"
        return
    fi
    kr_at "$s" import "$KR_FIXTURES/$private_key" --kid "$kid"
    check_rc "$path" 0 "import of the private half"
    check_out "$path" "private part added" "the private part is added"
    check_show "$path" "$s" "$kid" "$bits" "$thumb" true
}

# "import ok kid=K bits=N [verify-only] [passfile=P]"
check_key_ok() {
    path=$1 expected=$2 mkid=$3 thumb=$4 related=$5
    kid=$(field "$expected" kid)
    bits=$(field "$expected" bits)
    passfile=$(field "$expected" passfile)

    [ "$kid" = "$mkid" ] ||
        row_fail "$path" "verdict kid '$kid' differs from the kid column '$mkid'"

    case $expected in
    *verify-only*)
        check_public_key "$path" "$kid" "$bits" "$thumb" "$related"
        return
        ;;
    esac

    # A JWK carries its own kid; PEM and DER take the manifest's. The key
    # is registered at the fixtures' clock, because it is activated at that
    # clock below and keyrot refuses a history that runs backwards.
    set -- --now "$KR_NOW" import "$KR_FIXTURES/$path"
    case $path in
    *.jwk.json) ;;
    *) set -- "$@" --kid "$kid" ;;
    esac
    if [ -n "$passfile" ]; then
        check_passphrase_forms "$path" "$kid" "$bits" "$thumb" "$passfile"
        set -- "$@" --passphrase-file "$KR_FIXTURES/$passfile"
    fi

    kr_at "$VSTORE" "$@"
    check_rc "$path" 0 "import" || return
    check_out "$path" "imported $kid: RSA $bits" "import names kid and size"
    check_show "$path" "$VSTORE" "$kid" "$bits" "$thumb" true

    sqlite3 "$VSTORE" .dump >"$t_dir/again-before.sql" || exit 99
    kr_at "$VSTORE" "$@"
    check_rc "$path" 0 "a second import"
    check_out "$path" "unchanged $kid" "a second import changes nothing"
    check_same_dump "$path" "$VSTORE" "$t_dir/again-before.sql" \
        "a second import"
}

# "import refused: CATEGORY": exit 5, a message for the category, and the
# store as it was.
check_key_refused() {
    path=$1 expected=$2
    category=${expected#import refused: }
    case $category in
    "key too small") pattern="RSA key is [0-9]+ bits; at least 2048 are required" ;;
    "unsupported key type (EC)") pattern="unsupported key type EC;" ;;
    "unsupported key type (Ed25519)") pattern="unsupported key type Ed25519;" ;;
    malformed) pattern="(malformed|truncated PEM|not a key)" ;;
    empty) pattern="the input is empty" ;;
    *)
        row_fail "$path" "no expected message for refusal '$category'"
        return
        ;;
    esac

    sqlite3 "$VSTORE" .dump >"$t_dir/refused-before.sql" || exit 99
    kr_at "$VSTORE" import "$KR_FIXTURES/$path" --kid interop-refused
    check_rc "$path" 5 "import refused ($category)"
    check_err "$path" "^keyrot: import: .*$path: $pattern" \
        "import refused ($category)"
    check_same_dump "$path" "$VSTORE" "$t_dir/refused-before.sql" \
        "a refused import"
}

check_key_row() {
    case $3 in
    "import ok "*) check_key_ok "$1" "$3" "$4" "$5" "$6" ;;
    "import refused: "*) check_key_refused "$1" "$3" ;;
    *) return 1 ;;
    esac
}

# ---- tokens -----------------------------------------------------------------

# reason_for CATEGORY: the reason code keyrot must give for a manifest
# category, or nothing when the category is unknown.
reason_for() {
    case $1 in
    "alg none" | "alg not RS256 ("*")") echo alg_not_allowed ;;
    "aud mismatch") echo aud_mismatch ;;
    "bad signature") echo bad_signature ;;
    "exp missing") echo exp_missing ;;
    "exp not a number") echo bad_claim ;;
    expired) echo expired ;;
    "header too large") echo too_large ;;
    "iat in the future") echo iat_in_future ;;
    "kid missing") echo kid_missing ;;
    "kid unknown") echo kid_unknown ;;
    "malformed ("*")") echo malformed ;;
    "malformed header (duplicate member)") echo bad_header ;;
    "not yet valid (nbf)") echo not_yet_valid ;;
    "unsupported crit") echo crit_unsupported ;;
    esac
}

# detail_for CATEGORY: a fixed string the detail must contain, for the
# categories that split one reason code.
detail_for() {
    case $1 in
    "alg none") echo 'alg \"none\"' ;;
    "alg not RS256 (HS256)") echo 'alg \"HS256\"' ;;
    "alg not RS256 (rs256)") echo 'alg \"rs256\"' ;;
    "malformed (base64url padding)") echo "'=' padding" ;;
    "malformed (not base64url)") echo "standard base64 alphabet" ;;
    "malformed (segment count)") echo "segment" ;;
    "malformed (whitespace)") echo "white space" ;;
    "exp not a number") echo "exp is a string" ;;
    esac
}

# verify_token PATH NOW AUD [--jwks FILE]: verifies the token file with
# --json, into $t_dir/out. Tokens too long for one argument go through
# standard input ('verify -', one token per line).
verify_token() {
    token_file=$KR_FIXTURES/$1 v_now=$2 v_aud=$3
    shift 3
    if [ "$(wc -c <"$token_file")" -gt 100000 ]; then
        { cat "$token_file"; echo; } |
            "$KEYROT" --store "$VSTORE" --json --now "$v_now" verify \
                --aud "$v_aud" "$@" - >"$t_dir/out" 2>"$t_dir/err"
        t_rc=$?
    else
        "$KEYROT" --store "$VSTORE" --json --now "$v_now" verify \
            --aud "$v_aud" "$@" "$(cat "$token_file")" \
            </dev/null >"$t_dir/out" 2>"$t_dir/err"
        t_rc=$?
    fi
}

# check_verdict PATH EXPECTED KID WHAT: the last verification matches the
# row's verdict.
check_verdict() {
    path=$1 expected=$2 mkid=$3 what=$4
    n_lines=$(wc -l <"$t_dir/out")
    [ "$n_lines" -eq 1 ] ||
        row_fail "$path" "$what: expected one result line, got $n_lines"
    case $expected in
    "verify ok at now="*)
        kid=$(field "$expected" kid)
        check_rc "$path" 0 "$what accepts"
        check_out "$path" "{\"valid\":true,\"kid\":\"$kid\"," \
            "$what names kid $kid"
        ;;
    "verify rejected: "*)
        category=${expected#verify rejected: }
        reason=$(reason_for "$category")
        if [ -z "$reason" ]; then
            row_fail "$path" "no reason code for category '$category'"
            return
        fi
        check_rc "$path" 1 "$what rejects"
        check_out "$path" "{\"valid\":false,\"reason\":\"$reason\"," \
            "$what gives $reason for '$category'"
        detail=$(detail_for "$category")
        [ -z "$detail" ] ||
            check_out "$path" "$detail" "$what detail names the defect"
        ;;
    esac
}

check_token_row() {
    path=$1 expected=$2 mkid=$3 now=$4 aud=$5
    case $expected in
    "verify ok at now="* | "verify rejected: "*) ;;
    *) return 1 ;;
    esac
    case $expected in
    "verify ok at now="*)
        [ "$(field "$expected" now)" = "$now" ] ||
            row_fail "$path" "verdict time differs from the now column"
        [ "$(field "$expected" kid)" = "$mkid" ] ||
            row_fail "$path" "verdict kid differs from the kid column"
        ;;
    esac

    verify_token "$path" "$now" "$aud"
    check_verdict "$path" "$expected" "$mkid" "verify against the store"

    # The same verdict without a store, from the keys of a JWK Set.
    verify_token "$path" "$now" "$aud" --jwks "$KR_FIXTURES/jwks/jose.jwks.json"
    check_verdict "$path" "$expected" "$mkid" "verify --jwks jose.jwks.json"
}

# ---- JWK Sets ---------------------------------------------------------------

# The (kid, kty, n, e) of every key in two JWK Sets must agree, in any
# order and whatever other members they carry.
jwks_same_keys() {
    "$PYTHON" - "$1" "$2" <<'EOF'
import json, sys
def keys(path):
    with open(path) as f:
        return sorted((k.get("kid"), k.get("kty"), k.get("n"), k.get("e"))
                      for k in json.load(f)["keys"] if k.get("kty") == "RSA")
a, b = keys(sys.argv[1]), keys(sys.argv[2])
if a != b:
    print("keys differ: %d vs %d; first difference: %s"
          % (len(a), len(b), sorted(set(a) ^ set(b))[:1]))
    sys.exit(1)
EOF
}

# ok_tokens: the path, kid and now of every "verify ok" token row.
ok_tokens() {
    awk -F '\t' 'NR > 1 && $4 ~ /^verify ok at now=/ { print $1, $5, $8 }' \
        "$MANIFEST"
}

# verify --jwks FILE accepts every good token of the manifest.
check_jwks_verifies() {
    path=$1
    ok_tokens >"$t_dir/ok-tokens"
    [ -s "$t_dir/ok-tokens" ] || row_fail "$path" "no good tokens to verify"
    while read -r token kid now; do
        verify_token "$token" "$now" "$KR_AUD" --jwks "$KR_FIXTURES/$path"
        check_rc "$path" 0 "verify --jwks accepts $token" &&
            check_out "$path" "{\"valid\":true,\"kid\":\"$kid\"," \
                "verify --jwks names $kid for $token"
    done <"$t_dir/ok-tokens"
}

# "jwks ok keys=N kids=...": the set imports into a fresh store, a second
# import changes nothing, and the store publishes the same keys.
check_jwks_ok() {
    path=$1 expected=$2 kids=$3 thumbs=$4
    n=$(field "$expected" keys)
    s=$(fresh_store jwks)

    kr_at "$s" import-jwks "$KR_FIXTURES/$path"
    check_rc "$path" 0 "import-jwks" || return
    got=$(grep -c '^imported .*verify-only' "$t_dir/out")
    [ "$got" -eq "$n" ] && row_pass "$path" "$n keys imported verify-only" ||
        row_fail "$path" "expected $n keys imported verify-only, got $got"

    sqlite3 "$s" .dump >"$t_dir/jwks-before.sql" || exit 99
    kr_at "$s" import-jwks "$KR_FIXTURES/$path"
    check_rc "$path" 0 "a second import-jwks"
    got=$(grep -c '^unchanged ' "$t_dir/out")
    [ "$got" -eq "$n" ] && row_pass "$path" "a second import changes no key" ||
        row_fail "$path" "expected $n unchanged keys, got $got"
    check_same_dump "$path" "$s" "$t_dir/jwks-before.sql" "a second import-jwks"

    # Each kid with its thumbprint, both lists in key order.
    i=1
    for kid in $(printf '%s\n' "$kids" | tr ',' ' '); do
        thumb=$(printf '%s\n' "$thumbs" | cut -d, -f"$i")
        check_show "$path" "$s" "$kid" '' "$thumb" false
        i=$((i + 1))
    done

    kr_at "$s" jwks
    check_rc "$path" 0 "jwks"
    cp "$t_dir/out" "$t_dir/published.json"
    if msg=$(jwks_same_keys "$KR_FIXTURES/$path" "$t_dir/published.json"); then
        row_pass "$path" "keyrot jwks publishes the same (kid, kty, n, e)"
    else
        row_fail "$path" "keyrot jwks differs from the file: $msg"
    fi

    check_jwks_verifies "$path"
}

# bad-ec-mixed: the RSA keys import, the EC key is skipped with a warning
# naming it, and its kid never verifies.
check_jwks_skipped() {
    path=$1 ec_kid=$2
    s=$(fresh_store mixed)

    kr_at "$s" import-jwks "$KR_FIXTURES/$path"
    check_rc "$path" 0 "import-jwks with an EC key mixed in" || return
    if grep -q "warning: .*\"$ec_kid\".* skipped: key type \"EC\"" "$t_dir/err"
    then
        row_pass "$path" "the EC key $ec_kid is skipped with a warning"
    else
        row_fail "$path" "no warning names the skipped EC key $ec_kid"
    fi
    got=$(grep -c '^imported ' "$t_dir/out")
    [ "$got" -eq 9 ] && row_pass "$path" "the 9 RSA keys are imported" ||
        row_fail "$path" "expected 9 RSA keys imported, got $got"

    kr_at "$s" show "$ec_kid"
    check_rc "$path" 3 "the EC kid is not in the store"

    # A token naming the EC key's kid, signed with an RSA key: its kid is
    # unknown to the store and to the set.
    b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
    h=$(printf '{"alg":"RS256","typ":"JWT","kid":"%s"}' "$ec_kid" | b64url)
    c=$(printf '{"aud":"%s","iat":%s,"exp":%s}' "$KR_AUD" "$KR_NOW" \
        "$((KR_NOW + 300))" | b64url)
    sig=$(printf '%s.%s' "$h" "$c" |
        openssl dgst -sha256 -sign "$KR_FIXTURES/keys/k1-rsa2048-pkcs1.pem" \
            -binary | b64url)
    printf '%s.%s.%s' "$h" "$c" "$sig" >"$t_dir/ec-kid.jwt"
    for source in store jwks; do
        set --
        [ "$source" = store ] || set -- --jwks "$KR_FIXTURES/$path"
        "$KEYROT" --store "$s" --json --now "$KR_NOW" verify --aud "$KR_AUD" \
            "$@" "$(cat "$t_dir/ec-kid.jwt")" </dev/null >"$t_dir/out" \
            2>"$t_dir/err"
        t_rc=$?
        check_rc "$path" 1 "a token with the EC kid (from the $source)"
        check_out "$path" '"reason":"kid_unknown"' \
            "the EC kid is unknown (from the $source)"
    done

    check_jwks_verifies "$path"
}

# "jwks rejected: CATEGORY": import-jwks and verify --jwks both refuse the
# set with exit 5 and a message for the category; the store is unchanged.
check_jwks_rejected() {
    path=$1 expected=$2
    category=${expected#jwks rejected: }
    case $category in
    "duplicate kid") pattern="two keys with kid" ;;
    "key without kid") pattern="an RSA key without a kid" ;;
    "n not minimal (leading zero octet)") pattern='"n" has a leading zero octet' ;;
    "not JSON") pattern="not valid JSON" ;;
    *)
        row_fail "$path" "no expected message for '$category'"
        return
        ;;
    esac
    s=$(fresh_store rejected)
    sqlite3 "$s" .dump >"$t_dir/rejected-before.sql" || exit 99

    kr_at "$s" import-jwks "$KR_FIXTURES/$path"
    check_rc "$path" 5 "import-jwks refuses ($category)"
    check_err "$path" "^keyrot: import-jwks: .*$path: .*$pattern" \
        "import-jwks refuses ($category)"
    check_same_dump "$path" "$s" "$t_dir/rejected-before.sql" \
        "a refused import-jwks"

    verify_token tokens/ok-openssl-k1.jwt "$KR_NOW" "$KR_AUD" \
        --jwks "$KR_FIXTURES/$path"
    check_rc "$path" 5 "verify --jwks refuses the set ($category)"
    check_err "$path" "^keyrot: verify: .*$path: .*$pattern" \
        "verify --jwks refuses the set ($category)"
}

check_jwks_row() {
    case $2 in
    "jwks ok keys="*) check_jwks_ok "$1" "$2" "$3" "$4" ;;
    "jwks ok: "*"skipped"*) check_jwks_skipped "$1" "$3" ;;
    "jwks rejected: "*) check_jwks_rejected "$1" "$2" ;;
    *) return 1 ;;
    esac
}

# ---- the walk ---------------------------------------------------------------

"$KEYROT" --store "$VSTORE" init >/dev/null 2>&1 || exit 99
header=$(head -n 1 "$MANIFEST")
[ "$header" = "$(printf 'path\tkind\tproducer\texpected\tkid\tbits\tthumbprint\tnow\taud\tkey\tpeer_check\tnotes')" ] ||
    { echo "manifest.tsv has an unknown header: $header"; exit 99; }

# Keys come first, because the token rows need the verifier store with
# every key. JWK Sets and tokens follow. Each row is claimed exactly once.
for phase in keys jwks tokens support; do
    if [ "$phase" = tokens ]; then
        # The manifest assumes active or retiring keys: activate each key
        # in turn at the fixtures' clock, so all but the last are retiring.
        for kid in $(awk -F '\t' '$4 ~ /^import ok / && $4 !~ /verify-only/ { print $5 }' "$MANIFEST"); do
            kr_at "$VSTORE" --now "$KR_NOW" activate "$kid"
            [ "$t_rc" -eq 0 ] || fail "activate $kid: exit $t_rc"
        done
    fi
    while IFS="$(printf '\t')" read -r path kind producer expected kid bits \
        thumbprint now aud key peer_check notes <&3; do
        case $phase:$path in
        keys:keys/* | jwks:jwks/* | tokens:tokens/*) ;;
        support:keys/* | support:jwks/* | support:tokens/*) continue ;;
        support:*) ;;
        *) continue ;;
        esac
        n_rows=$((n_rows + 1))
        case $phase in
        keys)
            if [ "$kind" = key-passphrase ]; then
                case $expected in
                "n/a: "*)
                    echo "n/a: $path ($expected)"
                    n_na=$((n_na + 1))
                    continue
                    ;;
                esac
            fi
            check_key_row "$path" "$kind" "$expected" "$kid" "$thumbprint" \
                "$key" || row_fail "$path" "no check for verdict '$expected'"
            ;;
        jwks)
            check_jwks_row "$path" "$expected" "$kid" "$thumbprint" ||
                row_fail "$path" "no check for verdict '$expected'"
            ;;
        tokens)
            check_token_row "$path" "$expected" "$kid" "$now" "$aud" ||
                row_fail "$path" "no check for verdict '$expected'"
            ;;
        support)
            case $kind:$expected in
            doc:- | generator:- | manifest:-)
                echo "n/a: $path (support file, kind $kind)"
                n_na=$((n_na + 1))
                continue
                ;;
            esac
            row_fail "$path" "no check for kind '$kind', verdict '$expected'"
            ;;
        esac
        n_checked=$((n_checked + 1))
    done 3<<EOF
$(tail -n +2 "$MANIFEST")
EOF
done

total=$(($(wc -l <"$MANIFEST") - 1))
echo "manifest: $total rows, $n_checked checked, $n_na n/a"
[ "$n_rows" -eq "$total" ] ||
    fail "manifest.tsv: $total rows but $n_rows were walked"
[ $((n_checked + n_na)) -eq "$total" ] ||
    fail "manifest.tsv: $((total - n_checked - n_na)) rows neither checked nor n/a"

finish
