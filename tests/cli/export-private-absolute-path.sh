#!/bin/sh
# Regression: the export_private audit record kept the path as typed, so
# "--out key.pem" recorded "key.pem" and an auditor could not tell which
# directory the private key went to. The record now names the file by its
# absolute path: the directory resolved by realpath, then the file name.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool /usr/bin/python3

kr --now "$KR_NOW" init || exit 99
kr --now "$KR_NOW" generate --kid k1 --activate || exit 99
mkdir -p "$t_dir/work/sub" "$t_dir/real" || exit 99
ln -s "$t_dir/real" "$t_dir/work/linked" || exit 99
real_dir=$(cd "$t_dir/real" && pwd -P)
work_dir=$(cd "$t_dir/work" && pwd -P)

# exported_file: the file named by the newest export_private record.
exported_file() {
    kr --json audit --event export_private
    tail -n 1 "$t_dir/out" |
        /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["details"]["file"])'
}

(cd "$t_dir/work" && "$KEYROT" --store "$STORE" export k1 --private --out key.pem) ||
    fail "export --private with a relative path"
[ "$(exported_file)" = "$work_dir/key.pem" ] &&
    pass "a bare file name is recorded with its directory" ||
    fail "recorded '$(exported_file)', expected '$work_dir/key.pem'"

(cd "$t_dir/work/sub" && "$KEYROT" --store "$STORE" export k1 --private --out ../up.pem) ||
    fail "export --private with a path through .."
[ "$(exported_file)" = "$work_dir/up.pem" ] &&
    pass "a path through .. is recorded resolved" ||
    fail "recorded '$(exported_file)', expected '$work_dir/up.pem'"

(cd "$t_dir/work" && "$KEYROT" --store "$STORE" export k1 --private --out linked/via-link.pem) ||
    fail "export --private through a linked directory"
[ "$(exported_file)" = "$real_dir/via-link.pem" ] &&
    pass "a linked directory is recorded as the real one" ||
    fail "recorded '$(exported_file)', expected '$real_dir/via-link.pem'"

kr --json audit --event export_private
[ "$(wc -l <"$t_dir/out")" = 3 ] && pass "one record per export" ||
    fail "export_private records: $(cat "$t_dir/out")"
kr audit verify
expect_rc 0 "the chain verifies"
finish
