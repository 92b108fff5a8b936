#!/bin/sh
# A long-running `verify -` stream sees a revocation made by another
# process: tokens of the revoked key are refused once the stream rereads
# key states (every 5 seconds), without restarting the verifier.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"

kr init
kr generate --kid streamed --activate
expect_rc 0 "an active key"
kr sign --aud proj
token=$(cat "$t_dir/out")

mkfifo "$t_dir/in" || exit 99
"$KEYROT" --store "$STORE" verify --aud proj - <"$t_dir/in" >"$t_dir/stream.out" 2>"$t_dir/stream.err" &
verifier=$!
exec 3>"$t_dir/in"

printf '%s\n' "$token" >&3
# Wait for the first result (bounded: at most 100 polls).
i=0
while [ "$i" -lt 100 ] && ! grep -q . "$t_dir/stream.out"; do
    sleep 0.1
    i=$((i + 1))
done
grep -q "^valid: kid streamed" "$t_dir/stream.out" &&
    pass "the stream accepts the token" || fail "first result: $(cat "$t_dir/stream.out")"

kr revoke streamed --reason "test compromise"
expect_rc 0 "another process revokes the key"
sleep 6
printf '%s\n' "$token" >&3
exec 3>&-
wait "$verifier"
rc=$?

[ "$rc" -eq 1 ] && pass "the stream exits 1 after a refused token" ||
    fail "the stream exited $rc"
tail -n 1 "$t_dir/stream.out" | grep -q "^invalid: key_revoked" &&
    pass "the stream refuses the revoked key's token" ||
    fail "second result: $(tail -n 1 "$t_dir/stream.out")"

finish
