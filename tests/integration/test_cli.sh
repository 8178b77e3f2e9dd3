#!/usr/bin/env bash
# test_cli.sh — the cntb command line's answers to bad usage, end to end and
# without a testbed: every command with subcommands names an unknown one in
# one line (exit 2), every missing required option says which and what it
# takes (exit 2), a matrix with a repeated vary value, a too short interval
# or a point that can never run is refused with FILE:LINE:COL and its JSON
# path, every example matrix of testbed/matrices/ expands, matrix expand
# names every run's parameters (table, csv, json), commands that need a
# controller exit 3 when none runs, a matrix with nesting vm is refused
# (exit 3) while its VM's guest image is missing where the parent's agent
# will look, and destroying a testbed that does not exist says so (exit 0,
# nothing touched).  Runs in well under a second.  Usage: test_cli.sh BINDIR
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

# matrix expand names each run's parameters: those vary lists and include entries set
# (issue 22: the table printed "0 rep=1 point=12" and nothing else), the shared ones once.
cat > exp.json <<'JSON'
{ "name": "exp", "fixed": { "duration_s": 3 }, "vary": { "network": ["host", "bridge"] },
  "include": [ { "network": "nat", "placement": "cross-host", "size": 64 } ],
  "baseline": { "network": "host" } }
JSON
rc=0; "$BIN/cntb" matrix expand exp.json > exp.out 2>&1 || rc=$?
check "matrix expand: exit 0 (got $rc)" test "$rc" -eq 0
check "matrix expand: run lines name the parameters that differ" test "$(sed -n '4,6p' exp.out)" = \
"0 rep=1 point=0 baseline network=host placement=same-host size=1448
1 rep=1 point=1 network=bridge placement=same-host size=1448
2 rep=1 point=2 network=nat placement=cross-host size=64"
check "matrix expand: the shared parameters once, in the head" \
  grep -qx '# every run: nesting=bare traffic=tcp_stream streams=1 duration_s=3 macvlan_mode=bridge .* allow_fragments=false' exp.out
"$BIN/cntb" matrix expand exp.json --format csv > exp.csv || true
check "matrix expand --format csv: header with every parameter" \
  grep -qx 'index,point,repetition,baseline,network,placement,nesting,traffic,size,streams,duration_s,.*,allow_fragments' exp.csv
check "matrix expand --format csv: one row per run" test "$(sed -n '2p;4p' exp.csv | cut -d, -f1-10)" = \
"0,0,1,true,host,same-host,bare,tcp_stream,1448,1
2,2,1,false,nat,cross-host,bare,tcp_stream,64,1"
if command -v jq >/dev/null; then
  check "matrix expand --format json: baseline and params" test \
    "$("$BIN/cntb" matrix expand exp.json --format json | jq -c '[.[] | [.index, .baseline, .params.network, .params.size]]')" = \
    '[[0,true,"host",1448],[1,false,"bridge",1448],[2,false,"nat",64]]'
fi
expect 2 "cntb: --format: must be table, csv or json (got \"xml\")" matrix expand exp.json --format xml

# results compare on a small database made from the schema's migrations: rows in key order,
# the baseline first (run order put bridge first); done runs without the metric named in a
# note on stderr while stdout stays JSON; unknown names get a hint (issue 22).
if command -v sqlite3 >/dev/null; then
  RDB="$WORK/r.db" SQL="$HERE/../../schemas/sql" last=0
  for f in "$SQL"/[0-9][0-9][0-9]-*.sql; do
    sqlite3 -batch "$RDB" < "$f"; last=$((10#$(basename "$f" | cut -c1-3)))
  done
  now=2026-12-01T00:00:00.000Z
  sqlite3 -batch "$RDB" "PRAGMA user_version = $last;
    INSERT INTO batch (id, matrix_name, matrix_json, state, created_at) VALUES (1, 'm', '{}', 'done', '$now');
    INSERT INTO run (id, batch_id, idx, point, repetition, params_json, state, created_at) VALUES
      (1, 1, 0, 1, 1, '{\"network\":\"bridge\",\"traffic\":\"tcp_stream\"}', 'done', '$now'),
      (2, 1, 1, 3, 1, '{\"network\":\"bridge\",\"traffic\":\"tcp_rr\"}', 'done', '$now'),
      (3, 1, 2, 0, 1, '{\"network\":\"host\",\"traffic\":\"tcp_stream\"}', 'done', '$now'),
      (4, 1, 3, 2, 1, '{\"network\":\"host\",\"traffic\":\"tcp_rr\"}', 'done', '$now'),
      (5, 1, 4, 1, 2, '{\"network\":\"bridge\",\"traffic\":\"tcp_stream\"}', 'done', '$now'),
      (6, 1, 5, 0, 2, '{\"network\":\"host\",\"traffic\":\"tcp_stream\"}', 'done', '$now');
    INSERT INTO metric (run_id, name, value, unit) VALUES (1, 'throughput_bps', 8e9, 'bit/s'),
      (3, 'throughput_bps', 10e9, 'bit/s'), (5, 'throughput_bps', 8e9, 'bit/s'),
      (6, 'throughput_bps', 10e9, 'bit/s'), (2, 'rtt_us_p50', 30, 'us'), (4, 'rtt_us_p50', 25, 'us');"
  rc=0; "$BIN/cntb" results compare --db "$RDB" --by network --format csv > cmp.csv 2> cmp.err || rc=$?
  check "compare: exit 0 (got $rc)" test "$rc" -eq 0
  check "compare: the baseline row first, then bridge ($(cut -d, -f1 cmp.csv | tr '\n' ' '))" \
    test "$(cut -d, -f1,2,9 cmp.csv | tail -n +2 | tr '\n' ' ')" = "host,tcp_stream,+0.0 bridge,tcp_stream,-20.0 "
  check "compare: stdout is only the CSV (header + 2 rows)" test "$(wc -l < cmp.csv)" -eq 3
  check "compare: the runs without throughput_bps are named on stderr [$(cat cmp.err)]" test "$(cat cmp.err)" = \
    "cntb: note: 2 done runs in batch 1 have no throughput_bps and are left out (traffic tcp_rr 2): try --metric rtt_us_p50"
  expect 2 "cntb: unknown metric 'rtt_p50': not a standard metric (docs/schema.md) and no run has it (did you mean rtt_us_p50?)" \
    results compare --db "$RDB" --by network --metric rtt_p50
  expect 2 "cntb: bad --baseline network=Host: no done run in batch 1 with that value has metric throughput_bps (network there: host, bridge)" \
    results compare --db "$RDB" --by network --baseline network=Host
  expect 2 "cntb: --sort: must be key, value or change (got \"bogus\")" results compare --db "$RDB" --sort bogus
  expect 2 "cntb: --sort belongs to compare and plot" results list --db "$RDB" --sort value
else
  ok "no sqlite3: results compare cases skipped"
fi

# No controller running: the environment lacks a daemon, exit 3 (docs/cntb.md EXIT STATUS;
# issue 22: run, queue list and controller status exited 2).  Other controllers may run
# on this machine, so each command runs in a private mount namespace whose /run is empty.
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
  no_ctl() { unshare -m sh -c 'mount -t tmpfs cntb-test /run && exec "$0" "$@"' "$BIN/cntb" "$@"; }
  # expect_out RC STDOUT STDERR ARGS...: with no controller, exactly these.
  expect_out() {
    local want_rc=$1 want_out=$2 want_err=$3 rc=0 out
    shift 3
    out=$(no_ctl "$@" 2>"$WORK/err") || rc=$?
    if [ "$rc" -eq "$want_rc" ] && [ "$out" = "$want_out" ] && [ "$(cat "$WORK/err")" = "$want_err" ]; then
      ok "no controller: cntb $* -> $rc [$out] [$want_err]"
    else
      fail "no controller: cntb $*: exit $rc (want $want_rc), stdout [$out] (want [$want_out]), stderr [$(cat "$WORK/err")] (want [$want_err])"
    fi
  }
  none="cntb: no controller is running (cntb controller start --testbed FILE)"
  expect_out 3 "" "$none" run exp.json
  expect_out 3 "" "$none" queue list
  expect_out 3 "" "$none" queue add exp.json --at 01:00 --every 1d
  expect_out 3 "" "$none" queue cancel 1
  expect_out 3 "no controller running" "" controller status
  expect_out 3 "controller of testbed clitb: not running" "" controller status --testbed tb.json
  expect_out 0 "no controller running (nothing to stop)" "" controller stop
  expect_out 3 "" "cntb: no controller running for testbed clitb (start it with cntb controller start)" \
    run exp.json --testbed tb.json
else
  ok "not root or no unshare: no-controller exit codes skipped"
fi

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
