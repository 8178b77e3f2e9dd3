#!/usr/bin/env bash
# test_cli.sh — the cntb command line's answers to bad usage, end to end and
# without a testbed: every command with subcommands names an unknown one in
# one line (exit 2), every missing required option says which and what it
# takes (exit 2), a matrix with a repeated vary value, a too short interval
# or a point that can never run is refused with FILE:LINE:COL and its JSON
# path, every example matrix of testbed/matrices/ expands, and destroying
# a testbed that does not exist says so (exit 0, nothing touched).  Runs in
# well under a second.  Usage: test_cli.sh BINDIR
set -euo pipefail
BIN=${1:?usage: $0 BINDIR}
BIN=$(cd "$BIN" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

WORK=$(mktemp -d /tmp/cntb-cli.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export CNTB_DB="$WORK/none.db"   # never created: every case fails before opening it
PASS=0 FAIL=0
. "$HERE/lib.sh"   # ok, fail, check

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

# A --db the controller could not open: said before anything starts.
cat > tb.json <<'JSON'
{ "name": "clitb", "controller": { "address": "198.18.250.254", "port": 7999 },
  "hosts": [ { "name": "h1", "kind": "bare-metal", "address": "198.18.250.1" } ] }
JSON
expect 2 "cntb: --db /nonexistent/x.db: directory /nonexistent: No such file or directory" \
  controller start --testbed tb.json --db /nonexistent/x.db
expect 2 "cntb: --db $WORK: is a directory (give a file name, e.g. $WORK/cntb.db)" \
  controller start --testbed tb.json --db "$WORK"
check "controller start with a bad --db made no run directory" test ! -e /run/cntb/clitb

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
printf '{"fixed":{"engine":"sockperf","traffic":"tcp_stream"}}\n' > eng.json
expect 2 "$WORK/eng.json:1:20: \$.fixed.engine: engine sockperf cannot generate traffic tcp_stream (only udp_stream, udp_rr and tcp_rr) [\$.fixed.engine with \$.fixed.traffic]" matrix expand "$WORK/eng.json"
# What can never run: a UDP size no datagram carries (issue 14), a network
# with a placement it cannot run, a UDP size above overlay's MTU - 28.
printf '{"fixed": {"network": "bridge", "traffic": "udp_stream", "size": 70000}}\n' > udp.json
expect 2 "$WORK/udp.json:1:66: \$.fixed.size: UDP size 70000 is above 65507, the largest IPv4 UDP payload (65535 - 20 IPv4 header - 8 UDP header): no datagram can carry it [\$.fixed.size with \$.fixed.traffic]" matrix expand "$WORK/udp.json"
printf '{"vary": {"network": ["host", "bridge"], "placement": ["same-host", "cross-host"]}}\n' > bc.json
expect 2 "$WORK/bc.json:1:22: \$.vary.network: network bridge cannot run placement cross-host (a Linux bridge joins the containers of one host) [\$.vary.network with \$.vary.placement] (point 3: network \"bridge\", placement \"cross-host\"); exclude such points: {\"network\": \"bridge\", \"placement\": \"cross-host\"}" matrix expand "$WORK/bc.json"
printf '{"fixed": {"network": "overlay", "placement": "cross-host", "traffic": "udp_rr", "size": 1448}}\n' > ovl.json
expect 2 "$WORK/ovl.json:1:90: \$.fixed.size: UDP size 1448 exceeds the path MTU 1450 minus 28 (1422 bytes): datagrams would fragment (network overlay: underlay MTU 1500, assumed until the run, - 50 for VXLAN; state the overlay's MTU with mtu); set allow_fragments to run it anyway [\$.fixed.size with \$.fixed.network]" matrix expand "$WORK/ovl.json"
expands() { "$BIN/cntb" matrix expand "$1" >/dev/null; }   # its error, if any, on stderr
for f in "$HERE"/../../testbed/matrices/*.json; do
  check "example $(basename "$f") expands" expands "$f"
done

# emulate_gone NAME: no namespace, link, run directory or process of testbed NAME is left.
emulate_gone() {
  ! ip netns list | grep -q "^cntb-$1-" && ! ip -o link | grep -q "cntb-$1-" &&
    [ ! -e "/run/cntb/$1" ] && ! pgrep -f "cntb-$1|/run/cntb/$1/" >/dev/null
}

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
  # emulate with an --out directory that is not there: refused before building (exit 2).
  name="no$(( $$ % 10000 ))"
  if [ -e "/run/cntb/$name" ] || ip -o link | grep -q "cntb-$name-"; then
    ok "testbed $name exists here: emulate --out cases skipped"
  else
    trap '"$BIN/cntb" testbed destroy "$name" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
    expect 2 "cntb: --out: directory /nonexistent of /nonexistent/x.json does not exist: nothing built" \
      testbed emulate --name "$name" --hosts 1 --out /nonexistent/x.json
    check "emulate --out /nonexistent: nothing built" emulate_gone "$name"
    # A failure after building (the --out path is a directory: the file cannot be
    # written): exit 3 and what was built is removed again.
    mkdir "$WORK/d.json"
    rc=0; "$BIN/cntb" testbed emulate --name "$name" --hosts 1 --out "$WORK/d.json" \
      >"$WORK/emu.out" 2>&1 || rc=$?
    check "emulate --out DIR: exit 3 (got $rc)" test "$rc" -eq 3
    check "emulate --out DIR: says it removes what was built" \
      grep -q "emulate $name: removing what was built" "$WORK/emu.out"
    check "emulate --out DIR: namespaces, links, run dir, etcd removed" emulate_gone "$name"
  fi
else
  ok "not root: destroy and emulate cases skipped"
fi

echo "test_cli: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
