#!/bin/sh
# Several signers and several verifiers share one store while a script
# rotates keys many times (rotate, then a rollback to the previous key and
# back). Every command must succeed: every token verifies (all keys stay in
# their overlap), every sampled snapshot holds exactly one active key, no
# command prints "database is locked" or anything else on stderr, and the
# audit log and usage counters hold exactly one entry per operation.
# Loop counts are fixed; nothing depends on timing.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

N_ROTATIONS=30 # each: rotate, activate the previous key, activate again
N_SIGNERS=3
N_SIGNS=100    # per signer
N_VERIFIERS=3
N_VERIFIES=40  # batches per verifier
N_SAMPLES=100

mkdir "$t_dir/tokens" "$t_dir/logs" || exit 99
"$KEYROT" --store "$STORE" init >/dev/null || exit 99
"$KEYROT" --store "$STORE" generate --kid k0 --activate >/dev/null || exit 99

# run NAME ARGS...: runs keyrot, appending stderr to logs/NAME.err; counts
# a failure in logs/NAME.bad.
run() {
    name=$1
    shift
    if ! "$KEYROT" --store "$STORE" "$@" >"$t_dir/logs/$name.out" 2>>"$t_dir/logs/$name.err"; then
        echo "$*" >>"$t_dir/logs/$name.bad"
    fi
}

rotator() {
    prev=k0
    i=1
    while [ "$i" -le "$N_ROTATIONS" ]; do
        run rotator rotate --kid "rot-$i"
        run rotator activate "$prev"
        run rotator activate "rot-$i"
        prev=rot-$i
        i=$((i + 1))
    done
}

# Each token lands in tokens/ by rename, so a verifier reads only whole
# tokens.
signer() {
    i=1
    while [ "$i" -le "$N_SIGNS" ]; do
        run "signer$1" sign --aud concurrency
        if [ -s "$t_dir/logs/signer$1.out" ]; then
            mv "$t_dir/logs/signer$1.out" "$t_dir/tokens/s$1-$i"
        fi
        i=$((i + 1))
    done
}

# Verifies every token signed so far and appends each batch's size to
# logs/batchesN.
verifier() {
    i=1
    while [ "$i" -le "$N_VERIFIES" ]; do
        cat "$t_dir"/tokens/s* 2>/dev/null >"$t_dir/logs/batch$1"
        if [ -s "$t_dir/logs/batch$1" ]; then
            run "verifier$1" verify --aud concurrency - <"$t_dir/logs/batch$1"
            wc -l <"$t_dir/logs/batch$1" >>"$t_dir/logs/batches$1"
            if [ -s "$t_dir/logs/verifier$1.bad" ] && [ ! -f "$t_dir/logs/verifier$1.first" ]; then
                grep -v '^valid' "$t_dir/logs/verifier$1.out" | head -3 >"$t_dir/logs/verifier$1.first"
            fi
        fi
        i=$((i + 1))
    done
}

# Counts the active keys in committed snapshots, from another client.
sampler() {
    i=1
    while [ "$i" -le "$N_SAMPLES" ]; do
        n=$(sqlite3 -cmd '.timeout 30000' "$STORE" "SELECT count(*) FROM keys WHERE state = 'active'" 2>>"$t_dir/logs/sampler.err")
        [ "$n" = 1 ] || echo "active keys: $n" >>"$t_dir/logs/sampler.bad"
        i=$((i + 1))
    done
}

pids=""
rotator &
pids="$pids $!"
for s in $(seq "$N_SIGNERS"); do
    signer "$s" &
    pids="$pids $!"
done
for v in $(seq "$N_VERIFIERS"); do
    verifier "$v" &
    pids="$pids $!"
done
sampler &
pids="$pids $!"
for pid in $pids; do
    wait "$pid"
done

# --- every command succeeded, quietly --------------------------------------
for f in "$t_dir"/logs/*.bad; do
    [ -e "$f" ] || continue
    fail "$(basename "$f" .bad): $(wc -l <"$f") failed commands, first: $(head -1 "$f")"
    [ -f "${f%.bad}.first" ] && echo "  $(cat "${f%.bad}.first")"
done
ls "$t_dir"/logs/*.bad >/dev/null 2>&1 || pass "every rotation, signature, verification and sample succeeded"
noisy=""
for f in "$t_dir"/logs/*.err; do
    [ -s "$f" ] && noisy="$noisy $(basename "$f" .err)"
done
if [ -z "$noisy" ]; then
    pass "no command printed anything on stderr (no 'database is locked')"
else
    fail "stderr from:$noisy"
    for f in "$t_dir"/logs/*.err; do
        [ -s "$f" ] && echo "  $(basename "$f"): $(sort "$f" | uniq -c | head -3)"
    done
fi
grep -il "locked" "$t_dir"/logs/*.err >/dev/null 2>&1 &&
    fail "some command reported a locked database"

# --- every token verifies, and the signers saw several keys ---------------
n_tokens=$(ls "$t_dir/tokens" | wc -l)
expected_tokens=$((N_SIGNERS * N_SIGNS))
[ "$n_tokens" = "$expected_tokens" ] && pass "$n_tokens tokens signed" ||
    fail "$n_tokens tokens signed, expected $expected_tokens"
cat "$t_dir"/tokens/s* >"$t_dir/all"
kr verify --aud concurrency - <"$t_dir/all"
expect_rc 0 "every token verifies after the rotations"
n_valid=$(grep -c '^valid: kid ' "$t_dir/out")
[ "$n_valid" = "$n_tokens" ] && pass "verify accepted all $n_valid tokens" ||
    fail "verify accepted $n_valid of $n_tokens tokens"
n_kids=$(sed -n 's/^valid: kid \([^ ,]*\).*/\1/p' "$t_dir/out" | sort -u | wc -l)
[ "$n_kids" -gt 1 ] && pass "the tokens were signed by $n_kids different keys" ||
    fail "all tokens came from one key: the rotations did not overlap signing"

# --- the store's invariants ------------------------------------------------
[ "$(sqlite3 "$STORE" "SELECT count(*) FROM keys WHERE state = 'active'")" = 1 ] &&
    pass "exactly one key is active at the end" || fail "active keys at the end are not one"
[ "$(sqlite3 "$STORE" "SELECT kid FROM keys WHERE state = 'active'")" = "rot-$N_ROTATIONS" ] &&
    pass "the last rotated key is active" || fail "the wrong key is active"
kr check
expect_rc 0 "check passes"

# --- no audit record lost ----------------------------------------------------
# init, one generate per key, and one activate (plus one deactivate when a
# key was active) per activation: k0's, then per round rotate + 2 rollbacks.
count_event() {
    sqlite3 "$STORE" "SELECT count(*) FROM audit WHERE event = '$1'"
}
n=$N_ROTATIONS
for pair in "init 1" "generate $((n + 1))" "activate $((3 * n + 1))" "deactivate $((3 * n))"; do
    set -- $pair
    got=$(count_event "$1")
    [ "$got" = "$2" ] && pass "$2 '$1' audit records" ||
        fail "'$1' audit records: $got, expected $2"
done
total=$(sqlite3 "$STORE" "SELECT count(*) FROM audit")
[ "$total" = $((1 + (n + 1) + (3 * n + 1) + 3 * n)) ] &&
    pass "the audit log holds nothing else ($total records)" ||
    fail "the audit log holds $total records"
kr audit verify
expect_rc 0 "the audit chain verifies"

# --- no usage count lost -----------------------------------------------------
kr --json usage
/usr/bin/python3 - "$t_dir/out" "$expected_tokens" "$t_dir"/logs/batches* <<'PY' >"$t_dir/usage.txt"
import json, sys
rows = json.load(open(sys.argv[1]))
signed = sum(r["signed"] for r in rows)
accepted = sum(r["accepted"] for r in rows)
batches = sum(int(n) for f in sys.argv[3:] for n in open(f).read().split())
# The final check above verified every token once more.
print(signed, int(sys.argv[2]), accepted, batches + int(sys.argv[2]))
PY
read -r signed want_signed accepted want_accepted <"$t_dir/usage.txt"
[ "$signed" = "$want_signed" ] && pass "usage counts $signed signed tokens" ||
    fail "usage counts $signed signed tokens, expected $want_signed"
[ "$accepted" = "$want_accepted" ] && pass "usage counts $accepted accepted verifications" ||
    fail "usage counts $accepted accepted verifications, expected $want_accepted"
finish
