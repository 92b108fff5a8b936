#!/bin/sh
# Regression: `audit verify --anchor SEQ:HASH` refused a head whose hash
# was written in uppercase hex (as some tools and people copy it) as
# malformed, exit 2. Hex is case-insensitive: either case now verifies,
# and an uppercase anchor still catches a rewritten log.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

kr --now "$KR_NOW" init || exit 99
kr --now "$KR_NOW" generate --kid k1 --activate || exit 99
kr audit verify
expect_rc 0 "audit verify"
head=$(sed -n 's/.*head \([0-9]*:[0-9a-f]*\)$/\1/p' "$t_dir/out")
seq=${head%%:*}
hash=${head#*:}
upper=$(printf '%s' "$hash" | tr 'a-f' 'A-F')
mixed=$(printf '%s' "$hash" | sed 's/[a-f]/\U&/')

kr audit verify --anchor "$seq:$upper"
expect_rc 0 "audit verify --anchor in uppercase hex"
kr audit verify --anchor "$seq:$mixed"
expect_rc 0 "audit verify --anchor in mixed case"
kr audit verify --anchor "$seq:$hash"
expect_rc 0 "audit verify --anchor in lowercase hex"

# Another hash: the first digit changed.
case $upper in
    0*) wrong=1${upper#?} ;;
    *) wrong=0${upper#?} ;;
esac
kr audit verify --anchor "$seq:$wrong"
expect_rc 1 "audit verify --anchor with another hash in uppercase"
expect_out "^broken: record $seq does not have the anchored hash" \
    "an uppercase anchor that does not match names the record"

kr audit verify --anchor "$seq:$(printf '%s' "$upper" | sed 's/^./G/')"
expect_rc 2 "audit verify --anchor with a non-hex character"

finish
