#!/bin/sh
# Bad input gets its documented exit code and one error line, and leaves
# the store byte-for-byte as it was (compared through sqlite3 .dump).
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool openssl
need_tool sqlite3

kr init || exit 99
before=$t_dir/before.sql

# Each case: expected exit, message pattern, description, then the command.
check() {
    want_rc=$1 pattern=$2 what=$3
    shift 3
    dump_store "$before"
    kr "$@"
    expect_rc "$want_rc" "$what"
    expect_err "$pattern" "$what"
    expect_unchanged "$before" "$what"
}

openssl genrsa -out "$t_dir/small.pem" 1024 2>/dev/null || exit 99
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$t_dir/ec.pem" 2>/dev/null || exit 99
openssl genrsa -out "$t_dir/good.pem" 2048 2>/dev/null || exit 99
head -n 10 "$t_dir/good.pem" >"$t_dir/truncated.pem"
head -c 700 /dev/urandom >"$t_dir/garbage.bin"
: >"$t_dir/empty.pem"

check 3 "^keyrot: import: .*/missing.pem: file not found$" "import of a missing file" \
    import "$t_dir/missing.pem" --kid k1
check 5 "^keyrot: import: .*garbage.bin: " "import of garbage" \
    import "$t_dir/garbage.bin" --kid k1
check 5 "^keyrot: import: .*empty.pem: " "import of an empty file" \
    import "$t_dir/empty.pem" --kid k1
check 5 "^keyrot: import: .*truncated.pem: .*truncated" "import of a truncated PEM" \
    import "$t_dir/truncated.pem" --kid k1
check 5 "1024 bits; at least 2048 are required" "import of a 1024-bit key" \
    import "$t_dir/small.pem" --kid k1
check 5 "EC" "import of an EC key" \
    import "$t_dir/ec.pem" --kid k1
check 2 "invalid kid" "import with an invalid kid" \
    import "$t_dir/good.pem" --kid 'bad/kid'
check 2 "no key ID" "import of a PEM without --kid" \
    import "$t_dir/good.pem"
check 3 "no active key" "sign without an active key" \
    sign --aud my-project
check 3 "no key with kid" "activate of an unknown kid" \
    activate nosuchkey
check 3 "no key with kid" "show of an unknown kid" \
    show nosuchkey
check 2 "unknown command" "an unknown command" \
    frobnicate
check 2 "invalid option" "an unknown option" \
    sign --frobnicate
check 2 "invalid duration" "a bad --ttl" \
    sign --ttl 5x

kr import "$t_dir/good.pem" --kid good --activate
expect_rc 0 "import a good key"
openssl genrsa -out "$t_dir/other.pem" 2048 2>/dev/null || exit 99
check 4 "already exists with other key material" "a kid reused for another 2048-bit key" \
    import "$t_dir/other.pem" --kid good
check 4 "already registered as kid good" "the same key under a second kid" \
    import "$t_dir/good.pem" --kid good-again
check 4 "exceeds the policy's max_token_ttl" "a ttl above max_token_ttl" \
    sign --ttl 2h
check 2 "iat and exp are set by keyrot" "a user-supplied exp claim" \
    sign --claim exp=5

# Tokens: wrong audience and expiry at a given --now.
kr --now "$KR_NOW" sign --aud my-project --ttl 5m
token=$(cat "$t_dir/out")
dump_store "$before"
kr --now "$KR_NOW" verify --aud other "$token"
expect_rc 1 "a token for another audience"
expect_out "^invalid: aud_mismatch" "the wrong audience is named"
kr --now $((KR_NOW + 300 + 61)) verify --aud my-project "$token"
expect_rc 1 "a token past exp + leeway"
expect_out "^invalid: expired" "expiry is named"
kr --now $((KR_NOW + 300 + 59)) verify --aud my-project "$token"
expect_rc 0 "a token inside the leeway still verifies"
kr --now "$KR_NOW" verify --aud my-project "not-a-token"
expect_rc 1 "garbage instead of a token"
expect_out "^invalid: malformed" "garbage is malformed"
forged=$(printf '%s' "$token" | sed 's/\.\([A-Za-z0-9_-]*\)\./.eyJhdWQiOiJteS1wcm9qZWN0IiwiaWF0IjoxNzY3MjI5MjYwLCJleHAiOjE3NjcyMjk1NjAsImFkbWluIjp0cnVlfQ./')
kr --now "$KR_NOW" verify --aud my-project "$forged"
expect_rc 1 "a token with a swapped payload"
expect_out "^invalid: bad_signature" "the forgery is a bad signature"

# Regression: verify with nothing on standard input exited 0, so a script
# with an empty token variable read "valid".
printf '' | "$KEYROT" --store "$STORE" verify >"$t_dir/out" 2>"$t_dir/err"
t_rc=$?
expect_rc 2 "verify with empty standard input"
expect_err "no token to verify" "verify with empty standard input"
"$KEYROT" --store "$STORE" verify <"$t_dir" >"$t_dir/out" 2>"$t_dir/err"
t_rc=$?
expect_rc 6 "verify reading a directory as standard input"

# Regression: a claims file holding exp was reported as a usage error
# without naming the file.
printf '{"exp": 5}' >"$t_dir/claims.json"
check 5 "claims.json: iat and exp are set by keyrot" "a claims file with exp" \
    sign --claims "$t_dir/claims.json"

# Regression: a kid starting with '-' made the option error name the
# command instead of the option.
check 2 "invalid option -d; .*goes after '--'" "a dash-led argument" \
    show -dash
check 2 "global option: put it before the command" "a global option after the command" \
    list --json

# Regression: a store readable by other users was used without a word.
chmod 644 "$STORE"
kr list
expect_rc 0 "list on a 0644 store"
grep -q "accessible to other users (mode 0644)" "$t_dir/err" &&
    pass "a 0644 store gets a warning" || fail "no warning for a 0644 store"
chmod 600 "$STORE"

# Regression: keyrot adopted any SQLite file or empty file as its store and
# wrote its tables (and private keys) into it.
sqlite3 "$t_dir/other-app.db" 'CREATE TABLE app (x);' || exit 99
sqlite3 "$t_dir/other-app.db" .dump >"$t_dir/other-before.sql"
"$KEYROT" --store "$t_dir/other-app.db" generate --kid zz >"$t_dir/out" 2>"$t_dir/err"
t_rc=$?
expect_rc 6 "a foreign SQLite file as the store"
expect_err "is not a keyrot store" "a foreign SQLite file as the store"
sqlite3 "$t_dir/other-app.db" .dump >"$t_dir/other-after.sql"
cmp -s "$t_dir/other-before.sql" "$t_dir/other-after.sql" &&
    pass "the foreign database is left untouched" || fail "the foreign database changed"
: >"$t_dir/empty.db"
"$KEYROT" --store "$t_dir/empty.db" list >"$t_dir/out" 2>"$t_dir/err"
t_rc=$?
expect_rc 6 "an empty file as the store"
[ ! -s "$t_dir/empty.db" ] && pass "the empty file stays empty" || fail "the empty file was written"
ln -s "$STORE" "$t_dir/link.db"
"$KEYROT" --store "$t_dir/link.db" list >"$t_dir/out" 2>"$t_dir/err"
t_rc=$?
expect_rc 6 "a symlink as the store"
expect_err "is a symbolic link" "a symlink as the store"

# The store is missing entirely.
"$KEYROT" --store "$t_dir/nowhere.db" list >"$t_dir/out" 2>"$t_dir/err"
t_rc=$?
expect_rc 3 "a missing store"
expect_err "not found; create it with 'keyrot init'" "a missing store"

finish
