#!/bin/sh
# sign --cache-min-remaining without --cache was silently ignored, so a
# script that meant to cache tokens signed a new one every time without a
# word. It is now a usage error (exit 2) that names the missing option.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"

T0=$KR_NOW
kr --now "$T0" init
kr --now "$T0" generate --kid k1 --activate

for cmd in sign header; do
    kr --now "$T0" "$cmd" --aud proj --cache-min-remaining 80
    expect_rc 2 "$cmd --cache-min-remaining without --cache"
    expect_err "^keyrot: $cmd: --cache-min-remaining applies only to a cached token; add --cache FILE$" \
        "$cmd names the missing --cache"
    [ -s "$t_dir/out" ] && fail "$cmd printed a token" || pass "$cmd printed no token"
done

kr --now "$T0" sign --aud proj --cache "$t_dir/cache" --cache-min-remaining 80
expect_rc 0 "sign --cache --cache-min-remaining"
expect_out "^eyJ" "sign prints a token"
finish
