#!/bin/sh
# Regression: a token over the 16384-byte limit read by 'verify -' was
# reported as "token is 16385 bytes", because verify stops reading a line
# one byte past the limit and the verifier printed the length it was
# given. The detail must not state a size it did not see, on either path.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"

kr init || exit 99

# A 20000-byte token of valid base64url characters in three segments.
head_part=eyJhbGciOiJSUzI1NiJ9 # {"alg":"RS256"}
body=$(printf '%020000d' 0 | tr '0' 'A' | head -c 19970)
token="$head_part.$body.AAAA"

printf '%s\n' "$token" >"$t_dir/tokens"
"$KEYROT" --store "$STORE" --json verify - <"$t_dir/tokens" \
    >"$t_dir/out" 2>"$t_dir/err"
t_rc=$?
expect_rc 1 "an oversized token on standard input"
expect_out '^\{"valid":false,"reason":"too_large","detail":"token is over the limit of 16384 bytes"\}$' \
    "standard input: too_large without a wrong size"

kr --json verify "$token"
expect_rc 1 "an oversized token as an argument"
expect_out '^\{"valid":false,"reason":"too_large","detail":"token is over the limit of 16384 bytes"\}$' \
    "argument: too_large with the same detail"

finish
