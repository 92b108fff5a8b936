#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang in BUILD_DIR (configured there
# from this checkout with --enable-fuzzing, ASan and UBSan) and runs each
# target for FUZZ_SECONDS seconds (default 60). Exits non-zero when the
# build fails or any target crashes, leaks, times out or breaks one of its
# invariants. The input that failed is kept as BUILD_DIR/fuzz-artifacts/*.
#
# Seeds: fuzz/corpus/TARGET in the checkout (small, stable inputs made
# from the interop fixtures), plus the fixture files themselves when
# $KR_FIXTURES (default ../shared/fixtures/interop beside the checkout)
# exists. New inputs that the fuzzer finds go to BUILD_DIR/fuzz-corpus, so
# the checkout is never written.
#
# Usage: fuzz/run.sh BUILD_DIR       (or: make fuzz)
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: fuzz/run.sh BUILD_DIR}
seconds=${FUZZ_SECONDS:-60}
fixtures=${KR_FIXTURES:-$top/../shared/fixtures/interop}
targets="token keyparse jwks"
flags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"

command -v clang >/dev/null 2>&1 || {
    echo "fuzz/run.sh: clang is not installed (apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
}
case $seconds in
'' | *[!0-9]*)
    echo "fuzz/run.sh: FUZZ_SECONDS must be a whole number of seconds, not '$seconds'" >&2
    exit 2
    ;;
esac

if [ ! -x "$top/configure" ]; then
    (cd "$top" && autoreconf -fi >/dev/null 2>&1) || {
        echo "fuzz/run.sh: autoreconf failed in $top" >&2
        exit 1
    }
fi

mkdir -p "$build" || exit 1
build=$(cd "$build" && pwd)

# automake refuses a second build of a source tree that is configured in
# place (./configure run at the top), so such a tree is copied first: the
# files git tracks, plus new files it does not ignore.
src=$top
if [ -f "$top/config.status" ]; then
    src=$build/src
    rm -rf "$src"
    mkdir -p "$src" || exit 1
    (cd "$top" && git ls-files -co --exclude-standard -z |
        xargs -0 cp --parents -t "$src") &&
        (cd "$src" && autoreconf -fi >/dev/null 2>&1) || {
        echo "fuzz/run.sh: cannot copy $top into $src (it needs git)" >&2
        exit 1
    }
fi

if [ ! -f "$build/Makefile" ]; then
    (cd "$build" && "$src/configure" -q --enable-fuzzing CC=clang \
        CFLAGS="$flags") || {
        echo "fuzz/run.sh: configure failed in $build" >&2
        exit 1
    }
fi
(cd "$build" && make -j2 fuzz/fuzz-token fuzz/fuzz-keyparse fuzz/fuzz-jwks \
    >"$build/fuzz-build.log" 2>&1) || {
    tail -n 30 "$build/fuzz-build.log"
    echo "fuzz/run.sh: building the fuzz targets failed; see $build/fuzz-build.log" >&2
    exit 1
}

# Maximum input length per target, in bytes. It is past the size limits
# that each parser checks, so that the "too large" paths are fuzzed too.
max_len() {
    case $1 in
    token) echo 40000 ;;
    keyparse) echo 20000 ;;
    jwks) echo 20000 ;;
    esac
}

# The fixture folder that seeds a target.
fixture_dir() {
    case $1 in
    token) echo "$fixtures/tokens" ;;
    keyparse) echo "$fixtures/keys" ;;
    jwks) echo "$fixtures/jwks" ;;
    esac
}

status=0
mkdir -p "$build/fuzz-artifacts"
for t in $targets; do
    corpus=$build/fuzz-corpus/$t
    log=$build/fuzz-$t.log
    mkdir -p "$corpus"
    set -- "$corpus" "$src/fuzz/corpus/$t"
    [ -d "$(fixture_dir "$t")" ] && set -- "$@" "$(fixture_dir "$t")"

    "$build/fuzz/fuzz-$t" -max_total_time="$seconds" -timeout=20 \
        -max_len="$(max_len "$t")" -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-artifacts/$t-" "$@" >"$log" 2>&1
    rc=$?

    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ "$rc" -eq 0 ]; then
        echo "fuzz-$t: ok, ${runs:-?} runs in ${seconds} s"
    else
        echo "fuzz-$t: FAILED (exit $rc) after ${runs:-?} runs; log: $log"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' \
            "$log" | head -n 10
        status=1
    fi
done
exit "$status"
