#!/usr/bin/env bash
# test_cli.sh — the cntb command line's answers to bad usage, end to end and
# without a testbed: every command with subcommands names an unknown one in
# one line (exit 2), every missing required option says which and what it
# takes (exit 2), a matrix with a repeated vary value or a too short
# interval is refused with FILE:LINE:COL and its JSON path, and destroying
# a testbed that does not exist says so (exit 0, nothing touched), and a
# matrix with nesting vm is refused (exit 3) while its VM's guest image is
# missing where the parent's agent will look.  Runs in well under a second.  Usage: test_cli.sh BINDIR
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

# nesting vm without a guest image where the parent's agent will look: `cntb run` refuses
# before anything is queued (exit 3, one line naming testbed/vm/build-image); no controller
# is needed to say so.  The testbed's name is this test's own: no controller runs for it, so
# a matrix that passes the check stops at "no controller running" (also exit 3, other words).
vt="cv$(( $$ % 10000 ))"
# vmtb FILE NETNS IMAGE: a testbed with h1 (in namespace NETNS, "" = a real host) and its vm
# h1v1 (image directory IMAGE, "" = the agent's default).
vmtb() {
  cat > "$1" <<JSON
{ "name": "$vt", "emulated": true, "controller": { "address": "198.18.250.254", "port": 7998 },
  "hosts": [ { "name": "h1", "kind": "bare-metal", "address": "198.18.250.1"${2:+, \"netns\": \"$2\"} },
             { "name": "h1v1", "kind": "vm", "parent": "h1", "address": "198.18.250.101"${3:+, \"image\": \"$3\"} } ] }
JSON
}
vmtb vmtb.json "cntb-$vt-h1" "$WORK/img"
vmtb vmdef.json "cntb-$vt-h1" ""     # the deployed agent's default: DEPLOY_ROOT/TESTBED/vm
vmtb vmreal.json "" "$WORK/img"      # a real parent: its files are not ours to see
printf '{"fixed": {"network": "host"}, "vary": {"nesting": ["bare", "vm"]}}\n' > vm.json
printf '{"fixed": {"network": "host"}}\n' > bare.json
nocontroller="cntb: no controller running for testbed $vt (start it with cntb controller start)"
expect 3 "cntb: $WORK/vm.json: nesting vm: no guest image for vm h1v1 in $WORK/img (vmlinuz, initrd.img); build it with testbed/vm/build-image --out $WORK/img" \
  run "$WORK/vm.json" --testbed vmtb.json
[ -e "/var/lib/cntb/$vt" ] && ok "/var/lib/cntb/$vt exists: default image case skipped" ||
  expect 3 "cntb: $WORK/vm.json: nesting vm: no guest image for vm h1v1 in /var/lib/cntb/$vt/vm (vmlinuz, initrd.img); build it with testbed/vm/build-image --out /var/lib/cntb/$vt/vm" \
    run "$WORK/vm.json" --testbed vmdef.json
expect 3 "$nocontroller" run "$WORK/bare.json" --testbed vmtb.json   # no vm run: not checked
mkdir img && touch img/vmlinuz
expect 3 "cntb: $WORK/vm.json: nesting vm: no guest image for vm h1v1 in $WORK/img (vmlinuz, initrd.img); build it with testbed/vm/build-image --out $WORK/img" \
  run "$WORK/vm.json" --testbed vmtb.json
touch img/initrd.img
expect 3 "$nocontroller" run "$WORK/vm.json" --testbed vmtb.json      # the image is there
rm img/vmlinuz img/initrd.img
expect 3 "$nocontroller" run "$WORK/vm.json" --testbed vmreal.json

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
