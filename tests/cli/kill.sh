#!/bin/sh
# SIGKILL at random points during activate, rotate, revoke and purge, many
# times over. After every kill the store opens, check passes, the audit
# chain verifies, no key is lost, and the keys are either exactly as before
# the command or exactly as the finished command leaves them, with the
# matching number of new audit records: never half-changed.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

N_KILLS=120

q() {
    sqlite3 -cmd '.timeout 30000' "$STORE" "$1"
}

# snapshot FILE: one line per key: kid|state|whether it has a private part.
snapshot() {
    q "SELECT kid || '|' || state || '|' || (private_der IS NOT NULL) FROM keys ORDER BY kid" >"$1"
}

# A random number from 0 to 65535.
random() {
    od -An -N2 -tu2 /dev/urandom | tr -d ' '
}

# pick SQL-CONDITION: a random kid of the keys matching the condition.
pick() {
    q "SELECT kid FROM keys WHERE $1 ORDER BY random() LIMIT 1"
}

kr init
kr generate --kid k0 --activate
expect_rc 0 "set up: an active key"

n_killed=0
n_finished=0
n_unchanged=0
n_done=0
i=1
while [ "$i" -le "$N_KILLS" ]; do
    active=$(pick "state = 'active'")
    max_ms=40
    # Choose the operation and write the keys as it leaves them.
    snapshot "$t_dir/before"
    case $((i % 4)) in
    0)
        target=$(pick "state = 'retiring'")
        if [ -z "$target" ]; then
            i=$((i + 1))
            continue
        fi
        set -- activate "$target"
        n_records=2
        sed -e "s/^$target|retiring|/$target|active|/" \
            -e "s/^$active|active|/$active|retiring|/" "$t_dir/before" >"$t_dir/expected"
        ;;
    1)
        set -- rotate --kid "rot-$i"
        n_records=3
        max_ms=400 # key generation takes most of a rotation
        { sed -e "s/^$active|active|/$active|retiring|/" "$t_dir/before"
          echo "rot-$i|active|1"; } | LC_ALL=C sort -t '|' -k1,1 >"$t_dir/expected"
        ;;
    2)
        target=$(pick "state IN ('pending', 'retiring', 'retired')")
        if [ -z "$target" ]; then
            "$KEYROT" --store "$STORE" generate --kid "spare-$i" >/dev/null || exit 99
            target=spare-$i
            snapshot "$t_dir/before"
        fi
        set -- revoke "$target" --reason "kill test $i"
        n_records=1
        sed -e "s/^$target|[a-z]*|/$target|revoked|/" "$t_dir/before" >"$t_dir/expected"
        ;;
    3)
        target=$(pick "state IN ('retired', 'revoked') AND private_der IS NOT NULL")
        if [ -z "$target" ]; then
            target=$(pick "state IN ('pending', 'retiring')")
            if [ -z "$target" ]; then
                i=$((i + 1))
                continue
            fi
            "$KEYROT" --store "$STORE" revoke "$target" --reason "to purge" >/dev/null || exit 99
            snapshot "$t_dir/before"
        fi
        set -- purge "$target"
        n_records=1
        sed -e "s/^$target|\([a-z]*\)|1$/$target|\1|0/" "$t_dir/before" >"$t_dir/expected"
        ;;
    esac
    records_before=$(q "SELECT count(*) FROM audit")

    # Run it and kill it after 0 to max_ms milliseconds.
    delay=$(printf '%d.%03d' 0 $(($(random) % max_ms)))
    "$KEYROT" --store "$STORE" "$@" >/dev/null 2>"$t_dir/op.err" &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    if [ "$rc" = 137 ]; then
        n_killed=$((n_killed + 1))
    elif [ "$rc" = 0 ]; then
        n_finished=$((n_finished + 1))
    else
        fail "kill $i: '$*' failed by itself (exit $rc): $(head -c 300 "$t_dir/op.err")"
    fi

    # The store opens and passes check; the audit chain holds.
    kr check
    [ "$t_rc" = 0 ] || fail "kill $i during '$*' (after ${delay}s): check exits $t_rc: $(head -3 "$t_dir/out")"
    kr audit verify
    [ "$t_rc" = 0 ] || fail "kill $i during '$*': audit verify exits $t_rc"

    # All or nothing, with the matching audit records.
    snapshot "$t_dir/after"
    records_after=$(q "SELECT count(*) FROM audit")
    if cmp -s "$t_dir/after" "$t_dir/before" && [ "$records_after" = "$records_before" ] && [ "$rc" != 0 ]; then
        n_unchanged=$((n_unchanged + 1))
    elif cmp -s "$t_dir/after" "$t_dir/expected" && [ "$records_after" = $((records_before + n_records)) ]; then
        n_done=$((n_done + 1))
    else
        fail "kill $i during '$*' (exit $rc): keys or audit records half-changed (records $records_before -> $records_after)"
        diff "$t_dir/before" "$t_dir/after" | head -10
        diff "$t_dir/expected" "$t_dir/after" | head -10
    fi
    i=$((i + 1))
done

echo "note: $n_killed commands killed, $n_finished finished first; $n_unchanged left the store as before, $n_done completed"
[ "$n_killed" -gt 0 ] && pass "some kills interrupted a command ($n_killed)" ||
    fail "no kill interrupted a command: the test exercised nothing"
[ $((n_unchanged + n_done)) -gt 0 ] && pass "every store after a kill was whole" ||
    fail "no iteration was judged"
[ "$(q "SELECT count(*) FROM keys WHERE state = 'active'")" = 1 ] &&
    pass "one key is active at the end" || fail "the active key count is wrong"
finish
