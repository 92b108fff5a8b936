#!/bin/sh
# The main job end to end on a real key, as an operator does it after a
# portal handed out a key pair and its key ID: create a store, register the
# key, sign an Admin API token for a project, verify it, list the keys.
# Usage: data/demo.sh [KEYROT_BINARY]   (default ./keyrot)
set -eu

keyrot=${1:-./keyrot}
work=${KEYROT_DEMO_DIR:-demo}
export KEYROT_STORE="$work/keystore.db"

rm -rf "$work"
mkdir -p "$work"

echo "== a key pair as a portal issues it (made here with openssl)"
openssl genrsa -out "$work/portal-private-key.pem" 2048 2>/dev/null
echo "$work/portal-private-key.pem, key ID portal-2026-12"

echo "== keyrot init"
"$keyrot" init

echo "== keyrot import --kid portal-2026-12 --activate"
"$keyrot" import "$work/portal-private-key.pem" --kid portal-2026-12 --activate

echo "== keyrot sign --aud my-project"
token=$("$keyrot" sign --aud my-project)
echo "$token"

echo "== keyrot verify --aud my-project"
"$keyrot" verify --aud my-project "$token"

echo "== keyrot header --aud my-project (for curl -H)"
"$keyrot" header --aud my-project | cut -c1-60 | sed 's/$/.../'

echo "== keyrot list"
"$keyrot" list
