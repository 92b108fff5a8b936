#!/bin/sh
# Regression: `audit --event` took any name. An auditor who typed
# private_export (the event is export_private, which --help did not even
# list) got "no audit record matches" and exit 0, as if no private key had
# ever left the store. Now --event accepts only the events keyrot writes,
# --help lists every one of them, and another name exits 2.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"
need_tool openssl
need_tool /usr/bin/python3

kr audit --event private_export
expect_rc 2 "audit --event with an unknown event, before any store is read"
expect_err "^keyrot: audit: --event: unknown event 'private_export'; 'keyrot audit --help' lists the events$" \
    "audit --event names the unknown event"

"$KEYROT" audit --help >"$t_dir/help" 2>&1 || fail "audit --help"
sed -n '/^Events:$/,/^$/p' "$t_dir/help" | awk 'NF && $1 != "Events:" {print $1}' >"$t_dir/listed"
grep -qx export_private "$t_dir/listed" && pass "--help lists export_private" ||
    fail "--help lists no export_private: $(cat "$t_dir/listed")"

# Every event a store's life writes is listed and accepted.
openssl genrsa -out "$t_dir/pub-src.pem" 2048 2>/dev/null || exit 99
openssl rsa -in "$t_dir/pub-src.pem" -pubout -out "$t_dir/pub.pem" 2>/dev/null || exit 99
T0=$KR_NOW
kr --now "$T0" init || exit 99
kr --now "$T0" generate --kid k1 --activate || exit 99
kr --now "$T0" import "$t_dir/pub.pem" --kid k2 || exit 99
kr --now "$T0" import "$t_dir/pub-src.pem" --kid k2 || exit 99
kr --now "$T0" export k1 --private --out "$t_dir/k1.pem" || exit 99
kr --now "$T0" policy set usage_records=1 || exit 99
kr --now "$T0" sign --aud proj || exit 99
token=$(cat "$t_dir/out")
kr --now "$T0" verify "$token"
kr --now "$T0" verify "x.y.z"
kr --now "$T0" rotate --kid k3 || exit 99
kr --now "$((T0 + 86400))" tick || exit 99
kr --now "$((T0 + 86400))" revoke k2 --reason "no longer used" || exit 99
kr --now "$((T0 + 86400))" purge k1 || exit 99
kr audit --event export_private
expect_rc 0 "audit --event export_private"
expect_out " export_private +k1 " "audit --event export_private finds the export"
sleep 1
kr audit archive --before "$(date +%s)" --out "$t_dir/archive.jsonl" || exit 99
kr --now "$((T0 + 86400))" generate --kid k4 || exit 99

kr --json audit
/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    print(json.loads(line)["event"])
' "$t_dir/out" | sort -u >"$t_dir/written"
/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    print(json.loads(line)["event"])
' "$t_dir/archive.jsonl" | sort -u >>"$t_dir/written"
sort -u "$t_dir/written" -o "$t_dir/written"
n_written=$(wc -l <"$t_dir/written")
[ "$n_written" -ge 14 ] && pass "the session wrote $n_written kinds of event" ||
    fail "the session wrote only: $(tr '\n' ' ' <"$t_dir/written")"
missing=$(sort "$t_dir/listed" | comm -23 "$t_dir/written" -)
[ -z "$missing" ] && pass "--help lists every event the session wrote" ||
    fail "--help does not list: $missing"

while read -r event; do
    kr audit --event "$event"
    if [ "$t_rc" -ne 0 ]; then
        fail "audit --event $event: exit $t_rc"
    fi
done <"$t_dir/listed"
pass "audit --event accepts every listed event"

finish
