# Shared helpers for the CLI tests (sourced, POSIX sh).
# Environment from the makefile: KEYROT (the binary), TOP_SRCDIR, KR_DATA,
# KR_FIXTURES. Exit codes: 0 pass, 77 skip, 99 hard error, 1 failure.

set -u

: "${KEYROT:?KEYROT must name the keyrot binary}"
KR_FIXTURES=${KR_FIXTURES:-}
KR_NOW=1767229260 # the fixtures' fixed clock, 2026-01-01T01:01:00Z
KR_AUD=https://api.interop.keyrot.test

t_failures=0
t_name=$(basename "$0" .sh)
t_dir=$(mktemp -d "${TMPDIR:-/tmp}/keyrot-$t_name.XXXXXX") || exit 99
trap 'rm -rf "$t_dir"' EXIT
STORE=$t_dir/store.db
unset KEYROT_PASSPHRASE_FILE KEYROT_STORE_PASSPHRASE_FILE

# Runs keyrot on the test store; stdout to $t_dir/out, stderr to $t_dir/err,
# exit status to $t_rc.
kr() {
    "$KEYROT" --store "$STORE" "$@" >"$t_dir/out" 2>"$t_dir/err"
    t_rc=$?
    return 0
}

fail() {
    echo "FAIL: $*"
    if [ -s "$t_dir/err" ]; then
        echo "  stderr: $(head -c 600 "$t_dir/err")"
    fi
    t_failures=$((t_failures + 1))
}

pass() {
    echo "ok: $*"
}

# expect_rc CODE DESCRIPTION: checks the last kr's exit status.
expect_rc() {
    if [ "$t_rc" -eq "$1" ]; then
        pass "$2 (exit $1)"
    else
        fail "$2: expected exit $1, got $t_rc"
    fi
}

# expect_err PATTERN DESCRIPTION: stderr of the last kr is exactly one line
# matching the extended regular expression PATTERN.
expect_err() {
    lines=$(grep -vc '^keyrot: [a-z-]*: warning:' "$t_dir/err")
    if [ "$lines" -ne 1 ]; then
        fail "$2: expected one error line, got $lines"
    elif grep -v 'warning:' "$t_dir/err" | grep -Eq -- "$1"; then
        pass "$2 (message)"
    else
        fail "$2: message does not match /$1/"
    fi
}

# expect_out PATTERN DESCRIPTION: stdout of the last kr matches PATTERN.
expect_out() {
    if grep -Eq -- "$1" "$t_dir/out"; then
        pass "$2"
    else
        fail "$2: stdout does not match /$1/: $(head -c 300 "$t_dir/out")"
    fi
}

# dump_store FILE: writes the store's full SQL dump to FILE.
dump_store() {
    sqlite3 "$STORE" .dump >"$1" || exit 99
}

# expect_unchanged BEFORE DESCRIPTION: the store's dump equals BEFORE.
expect_unchanged() {
    dump_store "$t_dir/after.sql"
    if cmp -s "$1" "$t_dir/after.sql"; then
        pass "$2 leaves the store unchanged"
    else
        fail "$2 changed the store"
        diff "$1" "$t_dir/after.sql" | head -20
    fi
}

need_fixtures() {
    if [ -z "$KR_FIXTURES" ] || [ ! -f "$KR_FIXTURES/manifest.tsv" ]; then
        echo "SKIP: interop fixtures not found at '$KR_FIXTURES'"
        exit 77
    fi
}

need_tool() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "SKIP: $1 is not installed"
        exit 77
    }
}

finish() {
    if [ "$t_failures" -eq 0 ]; then
        echo "PASS: $t_name"
        exit 0
    fi
    echo "FAILED: $t_name: $t_failures check(s)"
    exit 1
}
