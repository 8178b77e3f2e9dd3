#!/usr/bin/env bash
# test_cli.sh — the cntb command line's answers to bad usage, end to end and
# without a testbed: every command with subcommands names an unknown one in
# one line (exit 2), every missing required option says which and what it
# takes (exit 2), a matrix with a repeated vary value or a too short
# interval is refused with FILE:LINE:COL and its JSON path, and destroying
# a testbed that does not exist says so (exit 0, nothing touched).  Runs in
# well under a second.  Usage: test_cli.sh BINDIR
set -euo pipefail
BIN=${1:?usage: $0 BINDIR}
BIN=$(cd "$BIN" && pwd)

WORK=$(mktemp -d /tmp/cntb-cli.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export CNTB_DB="$WORK/none.db"   # never created: every case fails before opening it
PASS=0 FAIL=0
ok()   { PASS=$((PASS+1)); echo "ok - $*"; }
fail() { FAIL=$((FAIL+1)); echo "FAIL - $*"; }

# expect RC MESSAGE ARGS...: cntb ARGS exits RC with exactly MESSAGE on stderr, nothing else.
expect() {
  local want_rc=$1 want=$2 rc=0 got
  shift 2
  got=$("$BIN/cntb" "$@" 2>&1 >/dev/null) || rc=$?
  if [ "$rc" -eq "$want_rc" ] && [ "$got" = "$want" ]; then ok "cntb $* -> $rc: $got"
  else fail "cntb $*: exit $rc (want $want_rc), stderr [$got] (want [$want])"; fi
}

# Unknown subcommands: named, with where to look, exit 2.
for c in testbed controller keys results model queue matrix; do
  expect 2 "cntb: unknown $c command \"bogus\" (cntb $c --help)" "$c" bogus
done
expect 2 "cntb: missing queue command: add, list or cancel (cntb queue --help)" queue --format json

# Required options and arguments: which one, and what it takes.
expect 2 "cntb: --kind is required (bars, lines or cdf)" results plot --output x.svg
expect 2 "cntb: --kind: must be bars, lines or cdf (got \"pie\")" results plot --kind pie
expect 2 "cntb: --output is required (FILE.svg or FILE.png)" results plot --kind cdf
expect 2 "cntb: --format is required for export (csv or json)" results export
expect 2 "cntb: --size is required for model predict (BYTES: the size to predict at)" model predict
expect 2 "cntb: --hold-out is required for model check (SIZE[,SIZE...]: the sizes in bytes to leave out of the fit)" model check
expect 2 "cntb: queue add needs a matrix FILE" queue add
expect 2 "cntb: queue cancel needs an entry ID (cntb queue list shows them)" queue cancel
expect 2 "cntb: --testbed is required for controller start (FILE: the testbed file)" controller start
expect 2 "cntb: --testbed is required for keys generate (FILE: the testbed file)" keys generate
expect 2 "cntb: --name is required for testbed emulate (NAME: [a-z0-9]{1,6})" testbed emulate --hosts 2
test ! -e "$CNTB_DB" && ok "no database created by refusals" || fail "a refusal created $CNTB_DB"

# Matrix refusals: the second occurrence of a value, the engine's minimum interval.
printf '{\n  "vary": {"size": [64, 128, 64]}\n}\n' > dup.json
expect 2 "$WORK/dup.json:2:30: \$.vary.size[2]: duplicate value 64 (already at [0])" matrix expand "$WORK/dup.json"
printf '{"fixed": {"interval_s": 0.001}}\n' > iv.json
expect 2 "$WORK/iv.json:1:26: \$.fixed.interval_s: must be >= 0.01 and <= 3600 (got 0.001): below the traffic engine's shortest sample interval (cntb-traffic --interval)" matrix expand "$WORK/iv.json"

# Destroying what is not there: said, exit 0 (cleanup paths call it blindly), nothing touched.
if [ "$(id -u)" -eq 0 ]; then
  name="nx$(( $$ % 10000 ))"
  if [ -e "/run/cntb/$name" ] || ip -o link | grep -q "cntb-$name-"; then
    ok "testbed $name exists here: destroy case skipped"
  else
    rc=0; out=$("$BIN/cntb" testbed destroy "$name" 2>&1) || rc=$?
    [ "$rc" -eq 0 ] && [ "$out" = "no testbed $name here (nothing to destroy)" ] \
      && ok "destroy of a testbed that does not exist: $out" \
      || fail "destroy $name: exit $rc, [$out]"
  fi
else
  ok "not root: destroy case skipped"
fi

echo "test_cli: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
