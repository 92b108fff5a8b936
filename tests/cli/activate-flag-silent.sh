#!/bin/sh
# generate --activate and import --activate demoted the active key to
# retiring without saying so: generate printed only the new kid and import
# only its "imported" line. Now both print the state changes as notes on
# stderr (stdout keeps the kid for scripts) and as "transitions" in --json.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool sqlite3

T0=$KR_NOW
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
UNTIL=$(iso $((T0 + 7200)))
ALLOWED=$(iso $((T0 + 3660)))

# expect_note PATTERN DESCRIPTION: stderr of the last kr has a note line
# matching PATTERN.
expect_note() {
    if grep -Eq -- "$1" "$t_dir/err"; then
        pass "$2"
    else
        fail "$2: stderr has no line matching /$1/: $(head -c 400 "$t_dir/err")"
    fi
}

kr --now "$T0" init
kr --now "$T0" generate --kid p0 --activate
expect_rc 0 "generate the first key, active"
[ "$(cat "$t_dir/out")" = p0 ] && pass "stdout is the kid alone" ||
    fail "stdout is '$(cat "$t_dir/out")'"
expect_note "^keyrot: generate: note: p0: new -> active$" \
    "the first key's activation is a note"

# --- generate --activate names the key it demotes --------------------------
kr --now "$T0" generate --kid ga --activate
expect_rc 0 "generate --activate over an active key"
[ "$(cat "$t_dir/out")" = ga ] && pass "stdout is still the kid alone" ||
    fail "stdout is '$(cat "$t_dir/out")'"
expect_note "^keyrot: generate: note: p0: active -> retiring \(verifies until $UNTIL; retire allowed from $ALLOWED\)$" \
    "the demoted key and its deadlines are a note"
expect_note "^keyrot: generate: note: ga: new -> active$" \
    "the new key's activation is a note"
[ "$(sqlite3 "$STORE" "SELECT state FROM keys WHERE kid = 'p0'")" = retiring ] &&
    pass "the store records p0 as retiring" || fail "p0 is not retiring"

kid=$("$KEYROT" --store "$STORE" --now "$T0" generate --kid gb --activate 2>/dev/null)
[ "$kid" = gb ] && pass "a script reading stdout gets the kid" ||
    fail "a script reading stdout got '$kid'"

kr --now "$T0" --json generate --kid gc --activate
expect_rc 0 "--json generate --activate"
if /usr/bin/python3 - "$t_dir/out" <<'PY'
import json, sys
key = json.load(open(sys.argv[1]))
assert key["kid"] == "gc", key
assert key["state"] == "active", key
changes = [(t["kid"], t["from"], t["to"]) for t in key["transitions"]]
assert changes == [("gb", "active", "retiring"), ("gc", None, "active")], changes
assert key["transitions"][1]["new"] is True, key
PY
then pass "the JSON key lists the transitions"; else fail "the JSON key is wrong: $(cat "$t_dir/out")"; fi
[ -s "$t_dir/err" ] && fail "--json generate wrote to stderr" ||
    pass "--json generate keeps stderr empty"

kr --now "$T0" generate --kid gd
expect_rc 0 "generate without --activate"
[ -s "$t_dir/err" ] && fail "generate without --activate wrote notes" ||
    pass "generate without --activate prints no notes"

# --- import --activate names the key it demotes -----------------------------
"$KEYROT" --store "$STORE" export gd >"$t_dir/gd.pub" || exit 99
openssl genrsa -out "$t_dir/vo.pem" 2048 2>/dev/null || exit 99
openssl rsa -in "$t_dir/vo.pem" -pubout -out "$t_dir/vo.pub" 2>/dev/null || exit 99
kr --now "$T0" import "$t_dir/vo.pub" --kid vo --activate
expect_rc 0 "import --activate over an active key"
expect_out "^imported vo: RSA 2048, active, verify-only" "stdout has the imported line"
[ "$(wc -l <"$t_dir/out")" -eq 1 ] && pass "stdout is one line" ||
    fail "stdout has $(wc -l <"$t_dir/out") lines"
expect_note "^keyrot: import: note: gc: active -> retiring \(verifies until $UNTIL; retire allowed from $ALLOWED\)$" \
    "import names the demoted key and its deadlines"
expect_note "^keyrot: import: note: vo: pending -> active$" \
    "import names the new key's activation"

kr --now "$T0" import "$t_dir/vo.pub" --kid vo --activate
expect_rc 0 "import --activate of the active key again"
expect_note "^keyrot: import: note: key vo is already active$" \
    "the repeat says the key is already active"

openssl genrsa -out "$t_dir/vj.pem" 2048 2>/dev/null || exit 99
kr --now "$T0" --json import "$t_dir/vj.pem" --kid vj --activate
expect_rc 0 "--json import --activate"
if /usr/bin/python3 - "$t_dir/out" <<'PY'
import json, sys
key = json.load(open(sys.argv[1]))
assert key["outcome"] == "imported", key
changes = [(t["kid"], t["from"], t["to"]) for t in key["transitions"]]
assert changes == [("vo", "active", "retiring"), ("vj", "pending", "active")], changes
assert key["transitions"][0]["retire_after"] == 1767229260 + 7200, key
PY
then pass "the JSON import lists the transitions"; else fail "the JSON import is wrong: $(cat "$t_dir/out")"; fi

kr --now "$T0" --json import "$t_dir/gd.pub" --kid gd
expect_rc 0 "import without --activate"
grep -q '"transitions"' "$t_dir/out" && fail "import without --activate lists transitions" ||
    pass "import without --activate has no transitions member"

kr check
expect_rc 0 "check passes"
finish
