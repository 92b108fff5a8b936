#!/bin/sh
# policy set accepted default_bits=3000 and 16384, sizes that generate
# --bits refuses ("use 2048, 3072 or 4096"), and min_bits up to 16384,
# above every size keyrot generates. default_bits is now one of the sizes
# generate creates and min_bits stops at 4096; a store that an older
# version left with another default_bits is refused by generate and rotate
# with a message that says what to do.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

kr init
expect_rc 0 "init"

# refused_set PATTERN DESCRIPTION SETTINGS...: exit 4, store unchanged.
refused_set() {
    pattern=$1 what=$2
    shift 2
    dump_store "$t_dir/before.sql"
    kr policy set "$@"
    expect_rc 4 "$what"
    expect_err "$pattern" "$what"
    expect_unchanged "$t_dir/before.sql" "$what"
}

for bits in 3000 2056 16384 8192 1024; do
    refused_set "default_bits must be 2048, 3072 or 4096, a size that generate and rotate create" \
        "default_bits=$bits" "default_bits=$bits"
done
for bits in 8192 16384 1024; do
    refused_set "min_bits must be between 2048 and 4096" "min_bits=$bits" "min_bits=$bits"
done

# generate --bits and policy set default_bits accept the same sizes.
for bits in 3000 16384; do
    kr generate --bits "$bits"
    expect_rc 2 "generate --bits $bits"
    expect_err "--bits: invalid size '$bits': use 2048, 3072 or 4096" "generate --bits $bits"
done
for bits in 3072 4096 2048; do
    kr policy set default_bits="$bits"
    expect_rc 0 "default_bits=$bits"
done

# A floor between the sizes: imports of 2048 bits are refused, and the
# default must be a size at or above it.
kr policy set min_bits=3000 default_bits=3072
expect_rc 0 "min_bits=3000 with default_bits=3072"
expect_out "^min_bits: 2048 -> 3000$" "min_bits changed"
refused_set "default_bits \(2048\) may not be below min_bits \(3000\)" \
    "default_bits below min_bits" default_bits=2048
kr generate --kid small --bits 2048
expect_rc 4 "generate --bits below min_bits"
expect_err "--bits 2048 is below the policy's min_bits 3000" "generate --bits below min_bits"
kr policy set min_bits=2048 default_bits=2048
expect_rc 0 "back to 2048"

# A store an older version left with default_bits=3000.
sqlite3 "$STORE" "UPDATE policy SET value = 3000 WHERE name = 'default_bits'" || exit 99
dump_store "$t_dir/before.sql"
kr generate --kid odd
expect_rc 4 "generate with default_bits 3000 in the store"
expect_err "the policy's default_bits 3000 is not a size keyrot generates \(2048, 3072 or 4096\); pass --bits N or run 'keyrot policy set default_bits=N'" \
    "generate says what to do about default_bits 3000"
kr rotate --dry-run
expect_rc 4 "rotate --dry-run with default_bits 3000 in the store"
expect_err "default_bits 3000 is not a size keyrot generates" "rotate names default_bits"
expect_unchanged "$t_dir/before.sql" "the refused generate and rotate"
kr generate --kid fine --bits 2048
expect_rc 0 "generate --bits 2048 still works"
finish
