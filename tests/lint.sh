#!/bin/sh
# Source rules checked by machine, so they are not argued about in review:
# - library code (every source of libkeyrot.a) never prints, exits, reads
#   the environment, or uses the unbounded or weak C functions sprintf,
#   strcpy, strcat, atoi and rand;
# - SQL runs only as prepared statements: sqlite3_exec and sqlite3_mprintf
#   appear only in the schema migrations (store-schema.c);
# - secrets are wiped with gnutls_memset, which the compiler keeps, never
#   with memset(..., 0, ...) on a buffer named like a secret;
# - no GNU cleanup attribute and no goto hidden in a macro;
# - the C sources are formatted as .clang-format says.
# Exit 0 when every rule holds, 1 with one line per violation otherwise.
set -u

top=${TOP_SRCDIR:-.}
cd "$top" || exit 99
violations=0

report() {
    echo "lint: $1"
    violations=$((violations + 1))
}

# The library's C files, read from the makefile so new files are covered.
lib_sources=$(sed -n '/^src_libkeyrot_a_SOURCES/,/^$/p' Makefile.am |
    tr ' \t\\' '\n\n\n' | grep '^src/.*\.c$')
[ -n "$lib_sources" ] || { echo "lint: no library sources found"; exit 99; }

for f in $lib_sources; do
    grep -nE '(^|[^_a-z])(sprintf|strcpy|strcat|atoi|rand|exit|getenv|printf|puts|perror)[[:space:]]*\(' "$f" |
        grep -vE '(snprintf|vsnprintf)[[:space:]]*\(' |
        while IFS= read -r line; do
            echo "lint: $f:$line: banned in library code"
        done
    grep -nE 'fprintf[[:space:]]*\([[:space:]]*(stderr|stdout)' "$f" |
        while IFS= read -r line; do
            echo "lint: $f:$line: library code never prints"
        done
done >"${TMPDIR:-/tmp}/keyrot-lint.$$"

for f in src/*.c; do
    case $f in src/store-schema.c) continue ;; esac
    grep -nE 'sqlite3_(exec|mprintf)[[:space:]]*\(' "$f" |
        while IFS= read -r line; do
            echo "lint: $f:$line: SQL outside the migrations must be a prepared statement"
        done
    grep -nE '[^_]memset[[:space:]]*\([^,]*(pass|secret|der|priv|key)[^,]*,[[:space:]]*0' "$f" |
        while IFS= read -r line; do
            echo "lint: $f:$line: wipe secrets with gnutls_memset"
        done
    grep -nE '__attribute__[[:space:]]*\(\([[:space:]]*cleanup|json_auto_t' "$f" |
        while IFS= read -r line; do
            echo "lint: $f:$line: no cleanup attribute; release at the exit label"
        done
done >>"${TMPDIR:-/tmp}/keyrot-lint.$$"

grep -nE '^[[:space:]]*#[[:space:]]*define.*goto' src/*.c src/*.h |
    while IFS= read -r line; do
        echo "lint: $line: no goto hidden in a macro"
    done >>"${TMPDIR:-/tmp}/keyrot-lint.$$"

# Formatting follows .clang-format. Other clang-format releases format a
# few constructs differently, so only the release the code was formatted
# with (Debian 12's clang-format 14) is asked.
if command -v clang-format >/dev/null 2>&1 &&
    clang-format --version | grep -q 'version 14\.'; then
    for f in src/*.c src/*.h tests/unit/*.c tests/unit/*.h; do
        if ! clang-format --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
            echo "lint: $f: not formatted as .clang-format says; run clang-format -i $f"
        fi
    done >>"${TMPDIR:-/tmp}/keyrot-lint.$$"
fi

if [ -s "${TMPDIR:-/tmp}/keyrot-lint.$$" ]; then
    cat "${TMPDIR:-/tmp}/keyrot-lint.$$"
    violations=$(wc -l <"${TMPDIR:-/tmp}/keyrot-lint.$$")
fi
rm -f "${TMPDIR:-/tmp}/keyrot-lint.$$"

if [ "$violations" -ne 0 ]; then
    echo "FAIL: $violations lint violation(s)"
    exit 1
fi
echo "PASS: lint ($(echo "$lib_sources" | wc -l) library files, $(ls src/*.c | wc -l) source files)"
exit 0
