#!/bin/sh
# The retirement guard's second condition: retire refuses (exit 4) while a
# token signed by the key, issued after the key stopped being active, was
# accepted by verify within the last max_token_ttl + leeway, and names
# when the token was issued, when it was accepted and for which audience.
# The tokens come from a second store where the old key is still active,
# as on a signer that never switched; they go through the real verify.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"

# store_save FILE, store_restore FILE: copy the store with everything in
# its WAL, because sign and verify leave the checkpoint to later commands.
store_save() {
    sqlite3 "$STORE" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null || exit 99
    cp "$STORE" "$1" || exit 99
}
store_restore() {
    rm -f "$STORE-wal" "$STORE-shm"
    cp "$1" "$STORE" || exit 99
}
need_tool openssl
need_tool sqlite3

T0=$KR_NOW
WINDOW=3660 # max_token_ttl 1h + leeway 60s, the default policy
OLD=$t_dir/old-signer.db
openssl genrsa -out "$t_dir/a.pem" 2048 2>/dev/null || exit 99

# old NOW ARGS...: runs keyrot on the old signer's store.
old() {
    now=$1
    shift
    "$KEYROT" --store "$OLD" --now "$now" "$@" 2>"$t_dir/err"
}

kr --now "$T0" init || exit 99
kr --now "$T0" import "$t_dir/a.pem" --kid key-a --activate
kr --now "$T0" generate --kid key-b
# A long overlap keeps key-a verifying after the evidence ages out.
kr --now "$((T0 + 60))" activate key-b --overlap 5h
expect_rc 0 "key-b replaces key-a"
old "$T0" init >/dev/null || exit 99
old "$T0" import "$t_dir/a.pem" --kid key-a --activate >/dev/null || exit 99

# time_of SECONDS: the ISO form the messages use.
time_of() {
    date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ
}

# A token issued before the switch is no evidence.
early=$(old "$((T0 + 30))" sign --aud proj-x) || exit 99
kr --now "$((T0 + 100))" verify "$early"
expect_rc 0 "a token issued before the switch verifies"
kr --now "$((T0 + 60 + WINDOW))" retire key-a --dry-run
expect_rc 0 "a token issued before the switch does not hold retire back"

# A late token that verify refused is no evidence either.
late=$(old "$((T0 + 3700))" sign --aud proj-x) || exit 99
kr --now "$((T0 + 3750))" verify --aud proj-y "$late"
expect_rc 1 "the late token is refused for another audience"
kr --now "$((T0 + 3800))" retire key-a --dry-run
expect_rc 0 "a refused late token does not hold retire back"

# The late token accepted, through a batch: evidence.
echo "$late" | "$KEYROT" --store "$STORE" --now "$((T0 + 3750))" verify --aud proj-x - \
    >"$t_dir/out" 2>"$t_dir/err"
t_rc=$?
expect_rc 0 "the late token is accepted while key-a is retiring"
kr usage --kid key-a
expect_out "^late token: kid key-a, audience proj-x: issued $(time_of $((T0 + 3700))), after the key stopped being active, and accepted $(time_of $((T0 + 3750)))$" \
    "usage shows the late token"

dump_store "$t_dir/before.sql"
kr --now "$((T0 + 3800))" retire key-a
expect_rc 4 "retire refuses on the evidence"
expect_err "^keyrot: retire: .*issued at $(time_of $((T0 + 3700))), after the key stopped being active at $(time_of $((T0 + 60))), was accepted at $(time_of $((T0 + 3750))) for audience proj-x: some system still signs with this key" \
    "the refusal names when the token was issued, accepted, and for whom"
expect_unchanged "$t_dir/before.sql" "a refused retire"

# The evidence ages out max_token_ttl + leeway after the acceptance.
kr --now "$((T0 + 3750 + WINDOW))" retire key-a --dry-run
expect_rc 4 "retire still refuses at the end of the window"
kr --now "$((T0 + 3750 + WINDOW + 1))" retire key-a --dry-run
expect_rc 0 "retire is allowed once the evidence has aged out"

# --force overrides, and the audit record keeps the evidence.
store_save "$t_dir/saved.db"
kr --now "$((T0 + 3800))" retire key-a --force
expect_rc 0 "retire --force despite the evidence"
kr --json audit --kid key-a --event retire
expect_out '"overridden":"a token signed by key key-a and issued at' \
    "the forced retirement's audit record keeps the evidence"
store_restore "$t_dir/saved.db"

kr --now "$((T0 + 3750 + WINDOW + 1))" retire key-a
expect_rc 0 "retire once the evidence has aged out"
kr show key-a
expect_out "^state: +retired" "key-a is retired"

finish
