#!/bin/sh
# Regression: in a store whose private keys are encrypted at rest, check
# without the store passphrase silently skipped every private-key check
# and still printed "every check holds"; with a wrong passphrase it
# reported the keys as damaged ("does not parse"). Now check lists each
# private part it could not open as skipped, with the reason, in text and
# in --json (no failure, exit 0), and a wrong passphrase fails the check
# with a message that names the passphrase.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool /usr/bin/python3

printf 'correct horse battery staple\n' >"$t_dir/store.pass"
printf 'wrong passphrase\n' >"$t_dir/wrong.pass"

kr --now "$KR_NOW" init || exit 99
kr --now "$KR_NOW" --store-passphrase-file "$t_dir/store.pass" generate --kid sealed-1 --activate
expect_rc 0 "generate an encrypted key"
kr --now "$KR_NOW" --store-passphrase-file "$t_dir/store.pass" generate --kid sealed-2
expect_rc 0 "generate a second encrypted key"

kr check
expect_rc 0 "check without the passphrase"
expect_out "^skipped: private: sealed-1: the private part is encrypted at rest and no store passphrase was given, so it was not checked$" \
    "check names the first key it could not open"
expect_out "^skipped: private: sealed-2: " "check names the second key it could not open"
expect_out "^ok: 2 keys checked, 2 checks skipped; every check that ran holds$" \
    "check's summary counts the skipped checks"
if grep -q "every check holds" "$t_dir/out"; then
    fail "check claims every check holds though it skipped two"
else
    pass "check does not claim that every check holds"
fi

kr --json check
expect_rc 0 "check --json without the passphrase"
if /usr/bin/python3 - "$t_dir/out" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["ok"] is True, report
assert report["problems"] == [], report
skipped = report["skipped"]
assert [(s["check"], s["kid"]) for s in skipped] == [("private", "sealed-1"), ("private", "sealed-2")], skipped
assert all("no store passphrase" in s["detail"] for s in skipped), skipped
PY
then pass "check --json lists the skipped private parts"
else fail "check --json: $(head -c 400 "$t_dir/out")"
fi

kr --store-passphrase-file "$t_dir/wrong.pass" check
expect_rc 1 "check with a wrong passphrase"
expect_out "^problem: private: sealed-1: the store passphrase does not open the private part: a wrong passphrase, or a damaged part$" \
    "check says the passphrase does not open the key"
if grep -q "does not parse" "$t_dir/out"; then
    fail "check calls the key unparsable when the passphrase is wrong"
else
    pass "check does not call the key unparsable"
fi
expect_err "the store failed 2 checks" "check with a wrong passphrase fails both keys"

kr --store-passphrase-file "$t_dir/store.pass" check
expect_rc 0 "check with the passphrase"
expect_out "^ok: 2 keys checked; every check holds$" "check with the passphrase checks every part"

finish
