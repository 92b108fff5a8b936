#!/bin/sh
# sign --cache: the cached token is reused while at least half of its
# lifetime is left and its key is still active, and renewed otherwise; the
# file has mode 0600; unsafe cache files are refused; concurrent callers
# all get one whole token from a single renewal.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"

T0=$KR_NOW
CACHE=$t_dir/token.cache

token_kid() {
    printf '%s' "${1%%.*}" | tr '_-' '/+' | base64 -d 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])'
}

# signed_count: the tokens signed so far, from the usage counters.
signed_count() {
    kr --json usage
    /usr/bin/python3 -c 'import json,sys; print(sum(r["signed"] for r in json.load(sys.stdin)))' <"$t_dir/out"
}

kr --now "$T0" init
kr --now "$T0" generate --kid k1 --activate

# --- reuse and renewal by remaining lifetime (ttl 300 s) -------------------
kr --now "$T0" sign --aud proj --cache "$CACHE"
expect_rc 0 "sign --cache with no cache yet"
tok1=$(cat "$t_dir/out")
mode=$(stat -c %a "$CACHE")
[ "$mode" = 600 ] && pass "the cache file has mode 0600" || fail "cache mode $mode"
mode=$(stat -c %a "$CACHE.lock")
[ "$mode" = 600 ] && pass "the lock file has mode 0600" || fail "lock mode $mode"
grep -q "$tok1" "$CACHE" && pass "the cache holds the token" || fail "the cache lacks the token"
[ "$(signed_count)" = 1 ] && pass "one token signed" || fail "signed count $(signed_count)"

kr --now "$((T0 + 150))" --json sign --aud proj --cache "$CACHE"
expect_rc 0 "sign --cache with half of the lifetime left"
expect_out "\"token\":\"$tok1\"" "the cached token is reused at exactly half"
expect_out '"cached":true' "--json says it was cached"
[ "$(signed_count)" = 1 ] && pass "reuse signs nothing" || fail "reuse signed a token"

kr --now "$((T0 + 151))" --json sign --aud proj --cache "$CACHE"
expect_out '"cached":false' "less than half left: a new token"
tok2=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$t_dir/out")
[ -n "$tok2" ] && [ "$tok2" != "$tok1" ] && pass "the renewed token differs" || fail "no new token"
expect_out "\"iat\":$((T0 + 151))," "the renewed token is issued now"

kr --now "$((T0 + 151 + 250))" sign --aud proj --cache "$CACHE" --cache-min-remaining 10
[ "$(cat "$t_dir/out")" = "$tok2" ] && pass "--cache-min-remaining 10 reuses a token with 17% left" ||
    fail "--cache-min-remaining 10 did not reuse"
kr --now "$((T0 + 151 + 280))" sign --aud proj --cache "$CACHE" --cache-min-remaining 10%
[ "$(cat "$t_dir/out")" != "$tok2" ] && pass "with 7% left the token is renewed" ||
    fail "a token with 7% left was reused"
kr --now "$T0" sign --aud proj --cache "$CACHE" --cache-min-remaining 0
expect_rc 2 "--cache-min-remaining 0 is a usage error"
kr --now "$T0" sign --aud proj --cache "$CACHE" --cache-min-remaining 101
expect_rc 2 "--cache-min-remaining 101 is a usage error"

# --- the request must match --------------------------------------------------
T1=$((T0 + 1000))
kr --now "$T1" sign --aud proj --cache "$CACHE"
tok_proj=$(cat "$t_dir/out")
kr --now "$T1" sign --aud other --cache "$CACHE"
tok_other=$(cat "$t_dir/out")
[ "$tok_other" != "$tok_proj" ] && pass "another audience gets its own token" ||
    fail "the token for aud proj was returned for aud other"
kr --now "$T1" verify --aud other "$tok_other"
expect_rc 0 "the token for the other audience verifies for it"
kr --now "$T1" sign --aud other --ttl 10m --cache "$CACHE"
[ "$(cat "$t_dir/out")" != "$tok_other" ] && pass "another ttl gets its own token" ||
    fail "a token was reused across ttls"
kr --now "$T1" sign --aud other --ttl 10m --claim role=admin --cache "$CACHE"
tok_claim=$(cat "$t_dir/out")
kr --now "$T1" sign --aud other --ttl 10m --claim role=admin --cache "$CACHE"
[ "$(cat "$t_dir/out")" = "$tok_claim" ] && pass "the same claims reuse the token" ||
    fail "the same request was not reused"

# --- after a rotation the cache is stale --------------------------------------
kr --now "$T1" sign --aud proj --cache "$CACHE"
tok_before=$(cat "$t_dir/out")
kr --now "$((T1 + 10))" rotate --kid k2
kr --now "$((T1 + 20))" sign --aud proj --cache "$CACHE"
tok_after=$(cat "$t_dir/out")
[ "$(token_kid "$tok_before")" = k1 ] && [ "$(token_kid "$tok_after")" = k2 ] &&
    pass "after rotation the cache yields a token of the new key" ||
    fail "after rotation the cached token names $(token_kid "$tok_after")"
kr --now "$((T1 + 20))" header --aud proj --cache "$CACHE"
[ "$(cat "$t_dir/out")" = "Authorization: Bearer $tok_after" ] &&
    pass "header --cache reuses the same token" || fail "header --cache printed $(cat "$t_dir/out")"

# --- unsafe or broken cache files ----------------------------------------------
T2=$((T1 + 100))
chmod 644 "$CACHE"
kr --now "$T2" sign --aud proj --cache "$CACHE"
expect_rc 4 "a cache file readable by others"
expect_err "token.cache: the token cache is open to other users \(mode 644\)" "the refusal names the mode"
chmod 600 "$CACHE"
ln -s "$CACHE" "$t_dir/link.cache"
kr --now "$T2" sign --aud proj --cache "$t_dir/link.cache"
expect_rc 4 "a cache file that is a symbolic link"
expect_err "symbolic link" "the refusal says it is a link"
mkdir "$t_dir/dir.cache"
kr --now "$T2" sign --aud proj --cache "$t_dir/dir.cache"
expect_rc 4 "a cache path that is a directory"
printf 'not json at all' >"$t_dir/garbage.cache"
chmod 600 "$t_dir/garbage.cache"
kr --now "$T2" sign --aud proj --cache "$t_dir/garbage.cache"
expect_rc 0 "a cache file that is not a cache is replaced"
grep -q '"token"' "$t_dir/garbage.cache" && pass "the broken cache now holds a token" ||
    fail "the broken cache was not replaced"
kr --now "$T2" sign --aud proj --cache "$t_dir/no-such-dir/token.cache"
expect_rc 0 "a cache in a missing directory still signs"
grep -q "warning: .*token not cached" "$t_dir/err" && pass "and warns that nothing was cached" ||
    fail "no warning for the unwritable cache"

# --- concurrent callers share one renewal --------------------------------------
T3=$((T2 + 1000))
before=$(signed_count)
round=1
while [ "$round" -le 5 ]; do
    now=$((T3 + round * 1000))
    pids=""
    for c in 1 2 3 4 5 6 7 8; do
        "$KEYROT" --store "$STORE" --now "$now" sign --aud proj --cache "$t_dir/shared.cache" \
            >"$t_dir/c$c.tok" 2>"$t_dir/c$c.err" &
        pids="$pids $!"
    done
    for pid in $pids; do
        wait "$pid" || fail "round $round: a concurrent sign --cache failed"
    done
    distinct=$(cat "$t_dir"/c*.tok | sort -u | wc -l)
    [ "$distinct" = 1 ] && pass "round $round: 8 concurrent callers got one token" ||
        fail "round $round: 8 callers got $distinct tokens"
    cat "$t_dir"/c*.err | grep -q . && fail "round $round: stderr: $(cat "$t_dir"/c*.err | head -2)"
    kr --now "$now" verify --aud proj - <"$t_dir/c1.tok"
    expect_rc 0 "round $round: the shared token verifies"
    round=$((round + 1))
done
[ "$(signed_count)" = $((before + 5)) ] && pass "five rounds signed five tokens" ||
    fail "five rounds signed $(($(signed_count) - before)) tokens"
finish
