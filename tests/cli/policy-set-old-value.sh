#!/bin/sh
# Regression: a policy_set audit record kept only the new value, so an
# auditor reading the log could not tell what a change replaced (was
# max_token_ttl raised or lowered?). Each record now carries the old value
# next to the new one, one record per setting that changed.
. "${TOP_SRCDIR:-.}/tests/cli/lib.sh"

kr --now "$KR_NOW" init || exit 99
kr --now "$KR_NOW" policy set leeway=2m
expect_rc 0 "policy set leeway"
kr --json audit --event policy_set
expect_out '"event":"policy_set","kid":null,"details":\{"name":"leeway","old_value":60,"value":120\}' \
    "the record has the old and the new leeway"

kr --now "$KR_NOW" policy set overlap=3h max_token_ttl=2h
expect_rc 0 "policy set two values at once"
kr --json audit --event policy_set
expect_out '"details":\{"name":"max_token_ttl","old_value":3600,"value":7200\}' \
    "the record of max_token_ttl has its old value"
expect_out '"details":\{"name":"overlap","old_value":7200,"value":10800\}' \
    "the record of overlap has its old value"
[ "$(wc -l <"$t_dir/out")" = 3 ] && pass "one record per changed setting" ||
    fail "policy_set records: $(cat "$t_dir/out")"

kr --now "$KR_NOW" policy set leeway=2m
expect_rc 0 "policy set to the value in effect"
kr --json audit --event policy_set
[ "$(wc -l <"$t_dir/out")" = 3 ] && pass "an unchanged value writes no record" ||
    fail "policy_set records after a no-op: $(wc -l <"$t_dir/out")"

kr audit verify
expect_rc 0 "the chain verifies"
finish
