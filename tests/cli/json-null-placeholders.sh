#!/bin/sh
# --json rotate --dry-run without --kid gave the new key as null, both as
# its "kid" and inside "jwks_after" (["p1",null]), and --json policy set
# printed only the policy, with no "changed" or "note", where the text
# output said "nothing to do". The new key is now "(new key)", as in the
# text output, and policy set reports changed, note and the due
# retirements it applied.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

T0=$KR_NOW

# json_check DESCRIPTION PYTHON: runs PYTHON with `doc` bound to the JSON
# document the last kr printed.
json_check() {
    if /usr/bin/python3 -c "import json, sys
doc = json.load(open(sys.argv[1]))
$2" "$t_dir/out"; then
        pass "$1"
    else
        fail "$1: $(head -c 400 "$t_dir/out")"
    fi
}

kr --now "$T0" init
kr --now "$T0" generate --kid p1 --activate
expect_rc 0 "set up: p1 active"

# --- rotate --dry-run -------------------------------------------------------
kr --now "$T0" --json rotate --dry-run
expect_rc 0 "--json rotate --dry-run"
json_check "no null inside jwks_after" 'assert None not in doc["jwks_after"], doc'
json_check "jwks_after names the new key (new key)" \
    'assert doc["jwks_after"] == ["p1", "(new key)"], doc'
json_check "the new key's transition has a kid" \
    'assert doc["transitions"][1]["kid"] == "(new key)", doc'
json_check "the new key's transition is marked new" \
    'assert doc["transitions"][1]["new"] is True and doc["transitions"][1]["to"] == "active", doc'

kr --now "$T0" --json rotate --kid p2 --dry-run
expect_rc 0 "--json rotate --kid --dry-run"
json_check "with --kid the plan names the planned kid" \
    'assert doc["jwks_after"] == ["p1", "p2"] and doc["transitions"][1]["kid"] == "p2", doc'

kr --now "$T0" rotate --dry-run
expect_out "^\(new key\): new -> active$" "the text plan uses the same placeholder"

# --- policy set ---------------------------------------------------------------
kr --json policy set overlap=3h
expect_rc 0 "--json policy set overlap=3h"
json_check "a change says changed" 'assert doc["changed"] is True, doc'
json_check "a change has no note" 'assert doc["note"] is None, doc'
json_check "the policy holds the new value" 'assert doc["overlap"] == 10800, doc'
json_check "nothing was due" 'assert doc["transitions"] == [], doc'

dump_store "$t_dir/before.sql"
kr --json policy set overlap=3h
expect_rc 0 "--json policy set repeated"
json_check "the repeat says not changed" 'assert doc["changed"] is False, doc'
json_check "the repeat says why" \
    'assert doc["note"] == "every setting is already in effect", doc'
expect_unchanged "$t_dir/before.sql" "--json policy set repeated"
kr policy set overlap=3h
expect_out "^nothing to do: every setting is already in effect$" \
    "the text says the same"

# policy set applies due retirements afterwards; they are reported too.
kr --now "$T0" generate --kid p3 --activate
expect_rc 0 "p3 active, p1 retiring for 3h"
kr --now "$((T0 + 3 * 3600))" --json policy set overlap=3h
expect_rc 0 "--json policy set past p1's deadline"
json_check "the due retirement counts as a change" 'assert doc["changed"] is True, doc'
json_check "the note still says why the settings did not change" \
    'assert doc["note"] == "every setting is already in effect", doc'
json_check "the due retirement is listed" \
    'assert [(t["kid"], t["from"], t["to"], t["cause"]) for t in doc["transitions"]] == [("p1", "retiring", "retired", "deadline passed")], doc'
finish
