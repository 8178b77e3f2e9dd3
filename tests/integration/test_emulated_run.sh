#!/usr/bin/env bash
# test_emulated_run.sh — the walking skeleton end to end on a 2-host emulated
# testbed: emulate, controller, deploy, a 2-run matrix (host cross-host and
# bridge same-host), then assert on the database (metrics positive and
# plausible, stored exactly once, samples present), a batch of skipped runs
# only (exit 1: nothing was measured), refusal of a bad matrix (exit 2,
# file:line:col, database untouched) and of a point no network can run
# (bridge cross-host), and that nothing of the runs or of the testbed is left.  Usage: test_emulated_run.sh BINDIR
# Exit 77 = skipped (not root).
set -euo pipefail
BIN=${1:?usage: $0 BINDIR}
BIN=$(cd "$BIN" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "test_emulated_run: skipped (needs root)"; exit 77; }
command -v jq >/dev/null && command -v sqlite3 >/dev/null || { echo "needs jq and sqlite3"; exit 77; }

NAME="it$(( $$ % 10000 ))"
WORK=$(mktemp -d /tmp/cntb-it.XXXXXX)
PASS=0 FAIL=0
cleanup() {
  (cd "$WORK" && "$BIN/cntb" testbed destroy "$NAME" >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"   # ok, fail, check, q, wait_for, wait_grep
between() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN{exit !(v+0 >= lo+0 && v+0 <= hi+0)}'; }

cd "$WORK"
export CNTB_DB="$WORK/it.db"
"$BIN/cntb" testbed emulate --name "$NAME" --hosts 2 >/dev/null
TB="$WORK/$NAME.testbed.json"
check "testbed file written" test -s "$TB"
check "emulate is idempotent" "$BIN/cntb" testbed emulate --name "$NAME" --hosts 2
check "host namespaces exist" ip netns pids "cntb-$NAME-h2"
"$BIN/cntb" controller start --testbed "$TB" >/dev/null

# Ownership (docs/cntb-controller.md, OWNERSHIP): one controller per testbed and per database.
PIDF="/run/cntb/$NAME/controller.pid"
out=$("$BIN/cntb" controller start --testbed "$TB" 2>&1) && rc=0 || rc=$?
check "second start, same database: exit 0, already running" \
  test "$rc" -eq 0 -a -n "$(echo "$out" | grep 'already running')"
out=$("$BIN/cntb" controller start --testbed "$TB" --db "$WORK/other.db" 2>&1) && rc=0 || rc=$?
check "second start, other database: exit 3 naming the running one's" \
  test "$rc" -eq 3 -a -n "$(echo "$out" | grep -F "on database $CNTB_DB, not $WORK/other.db")"
mkdir -m 700 "$WORK/rd2"
"$BIN/cntb-controller" --testbed "$TB" --db "$CNTB_DB" --rundir "$WORK/rd2" 2>"$WORK/c2.err" && rc=0 || rc=$?
check "a controller on a database in use: exit 3 naming the holder" \
  grep -q "database $CNTB_DB is in use by the controller of testbed $NAME (pid $(cat "$PIDF"))" "$WORK/c2.err"
check "...exit 3" test "$rc" -eq 3
"$BIN/cntb" controller stop --testbed "$TB" > "$WORK/stop.out"
check "stop says stopped" grep -q "stopped" "$WORK/stop.out"
# Two starts at once: the pid file names the one that answers.
"$BIN/cntb" controller start --testbed "$TB" > "$WORK/s1.out" 2>&1 &
"$BIN/cntb" controller start --testbed "$TB" > "$WORK/s2.out" 2>&1 || true
wait $! || true
check "two starts at once: one started" test "$(cat "$WORK"/s[12].out | grep -c ' started (pid')" -eq 1
st=$("$BIN/cntb" controller status --testbed "$TB" 2>&1 || true)
check "...the pid file names the controller that answers" grep -q "pid $(cat "$PIDF")," <<<"$st"
# SIGKILLed: its cli.sock is stale; a run says so at once, not after 30 s.
kill -9 "$(cat "$PIDF")"; sleep 0.3
echo '{ "name": "m0", "fixed": { "network": "host", "traffic": "tcp_stream", "duration_s": 1 } }' > "$WORK/m0.json"
t0=$(date +%s)
"$BIN/cntb" run "$WORK/m0.json" --testbed "$TB" > "$WORK/dead.out" 2>&1 && rc=0 || rc=$?
check "dead controller: named at once" test $(( $(date +%s) - t0 )) -le 5 -a "$rc" -ne 0
check "...no controller running for testbed" grep -q "no controller running for testbed $NAME" "$WORK/dead.out"
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
check "started again over the stale files" "$BIN/cntb" controller status --testbed "$TB"
"$BIN/cntb" deploy "$TB" >/dev/null
check "testbed check sees both agents" "$BIN/cntb" testbed check "$TB"
# A check checks the file: h2 at an address of the testbed's own /24 that nobody has (so
# the probe stays on the emulated switch), while an agent named h2 runs at the right one.
H2=$(jq -r '.hosts[] | select(.name == "h2") | .address' "$TB")
WRONG=${H2%.*}.200
jq --arg a "$WRONG" '(.hosts[] | select(.name == "h2") | .address) = $a' "$TB" > "$WORK/wrong.testbed.json"
"$BIN/cntb" testbed check "$WORK/wrong.testbed.json" > "$WORK/wrong.out" 2>&1 && rc=0 || rc=$?
check "testbed check of a wrong address: exit 3 (got $rc)" test "$rc" -eq 3
check "...h2's SSH does not answer at the file's address" \
  grep -Eq "^h2 .*${WRONG//./\\.} .*port 22: " "$WORK/wrong.out"
check "...h2's agent is named as connected from elsewhere" \
  grep -q "an agent named h2 is connected from $H2, not from the file's address" "$WORK/wrong.out"
check "...h1 is fine" grep -Eq '^h1 .*port 22 open +connected$' "$WORK/wrong.out"
# ... and the controller's address: where agents deployed with the file would look for it.
jq --arg a "$WRONG" '.controller.address = $a' "$TB" > "$WORK/wrongctl.testbed.json"
"$BIN/cntb" testbed check "$WORK/wrongctl.testbed.json" > "$WORK/wrongctl.out" 2>&1 && rc=0 || rc=$?
check "testbed check of a wrong controller address: exit 3 (got $rc)" test "$rc" -eq 3
check "...names the file's controller address as not answering" \
  grep -q "does not answer at the file's address $WRONG:" "$WORK/wrongctl.out"

cat > "$WORK/m.json" <<'JSON'
{
  "name": "it",
  "fixed": { "traffic": "tcp_stream", "size": 16384, "duration_s": 2 },
  "vary": { "network": ["host", "bridge"], "placement": ["cross-host", "same-host"] },
  "exclude": [ { "network": "bridge", "placement": "cross-host" },
               { "network": "host", "placement": "same-host" } ],
  "repetitions": 1
}
JSON
check "matrix expand --format json lists both runs" \
  test "$("$BIN/cntb" matrix expand "$WORK/m.json" --format json | jq -r '[.[].params.network] | join(",")')" = "host,bridge"
set +e
"$BIN/cntb" run "$WORK/m.json" --testbed "$TB" > "$WORK/run.out" 2>&1
rc=$?
set -e
cat "$WORK/run.out"
check "cntb run exits 0" test "$rc" -eq 0
check "one batch stored" test "$(q 'SELECT count(*) FROM batch')" -eq 1
check "two runs done" test "$(q "SELECT count(*) FROM run WHERE state='done'")" -eq 2
check "exactly one result per run" test "$(q 'SELECT count(*) FROM result')" -eq 2
for net in host bridge; do
  v=$(q "SELECT m.value FROM metric m JOIN run r ON r.id=m.run_id WHERE m.name='throughput_bps' AND json_extract(r.params_json,'\$.network')='$net'")
  check "$net throughput $v bit/s within 10 Mbit/s..1 Tbit/s" between "${v:-0}" 1e7 1e12
  n=$(q "SELECT count(*) FROM sample s JOIN run r ON r.id=s.run_id WHERE s.name='sent_bps' AND json_extract(r.params_json,'\$.network')='$net'")
  check "$net has per-second samples of the sent rate ($n)" between "$n" 2 3
done
check "throughput unit is bit/s" test "$(q "SELECT DISTINCT unit FROM metric WHERE name='throughput_bps'")" = "bit/s"
check "cross-host run used two hosts" test "$(q "SELECT client_host||'>'||server_host FROM run WHERE json_extract(params_json,'\$.placement')='cross-host'")" = "h1>h2"

check "results list --batch latest shows the batch's two runs" \
  test "$("$BIN/cntb" results list --batch latest --format json | jq 'length')" -eq 2
# compare prints both groups with n = 1
"$BIN/cntb" results compare --by network,placement --baseline network=host --metric throughput_bps --format csv > "$WORK/cmp.csv"
check "compare has a row per group" test "$(grep -c ',1,' "$WORK/cmp.csv")" -eq 2

# A restarted controller gets its agents back (they say HELLO again on their own).
"$BIN/cntb" controller stop --testbed "$TB" >/dev/null
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
back=1
for _ in $(seq 1 50); do
  if "$BIN/cntb" testbed check "$TB" >/dev/null 2>&1; then back=0; break; fi
  sleep 0.2
done
check "agents reconnect to a restarted controller" test "$back" -eq 0
# Host metadata: each host the batch used, as its agent reported it; shown, exported.
check "host metadata of h1 and h2 stored" test "$(q "SELECT group_concat(host) FROM (SELECT host FROM host_meta WHERE batch_id = 1 ORDER BY host)")" = "h1,h2"
check "metadata kernel release is this kernel's" test "$(q "SELECT DISTINCT json_extract(meta_json, '\$.kernel.release') FROM host_meta")" = "$(uname -r)"
check "metadata underlay is eth0 with an MTU" test "$(q "SELECT json_extract(meta_json, '\$.underlay.name') || ':' || (json_extract(meta_json, '\$.underlay.mtu') > 0) FROM host_meta WHERE host = 'h1'")" = "eth0:1"
check "results show prints the hosts' metadata" bash -c "'$BIN/cntb' results show 1 | grep -q 'host h1 (metadata of batch 1)'"
check "export json has the run's host metadata" test "$("$BIN/cntb" results export --format json | jq -r '.[0].hosts.h1.kernel.release')" = "$(uname -r)"
check "diff-hosts of a batch with itself: no differences" bash -c "'$BIN/cntb' results diff-hosts 1 1 | grep -q 'no differences'"
# A CDF of RTT from stream runs: nothing to plot, said with what it needs; exit 1 (docs/plot.md).
set +e
msg=$("$BIN/cntb" results plot --kind cdf --batch 1 --output "$WORK/rtt.svg" 2>&1); rc=$?
set -e
check "plot cdf of a stream batch exits 1" test "$rc" -eq 1
check "plot cdf says why: $msg" test "$msg" = "cntb: nothing to plot: no done run in batch 1 has an RTT percentile metric (rtt_us_p50, rtt_us_p90, rtt_us_p99, rtt_us_p999); --kind cdf needs request/response runs (traffic tcp_rr, udp_rr or tcp_crr)"
check "no figure written" test ! -e "$WORK/rtt.svg"

# A batch that measured nothing (every run skipped: real agents never build the
# simulated agents' network noop) is no success: exit 1, said in one line.
echo '{ "name": "sk", "fixed": { "network": "noop", "duration_s": 1 } }' > "$WORK/sk.json"
set +e
"$BIN/cntb" run "$WORK/sk.json" --testbed "$TB" > "$WORK/sk.out" 2>&1; rc=$?
set -e
skb=$(q "SELECT id FROM batch WHERE matrix_name = 'sk'")
check "all runs skipped: cntb run exits 1 (got $rc)" test "$rc" -eq 1
check "...and says nothing was measured" \
  grep -qx "nothing was measured: every run of batch $skb was skipped (1 of 1; cntb results list --batch $skb gives the reasons)" "$WORK/sk.out"
check "...the run skipped with the reason" test "$(q "SELECT state || ': ' || reason FROM run WHERE batch_id = $skb")" = \
  "skipped: host h1 cannot build network noop: not implemented by its agent"

# Bad input: refused before anything runs, exit 2, file:line:col, database untouched.
cat > "$WORK/bad.json" <<'JSON'
{
  "fixed": { "duration_s": "3" },
  "repetitions": 1
}
JSON
before=$(md5sum < "$CNTB_DB")
set +e
msg=$("$BIN/cntb" run "$WORK/bad.json" --testbed "$TB" 2>&1 >/dev/null); rc=$?
set -e
check "bad matrix exits 2" test "$rc" -eq 2
check "bad matrix message: $msg" test "$msg" = "$WORK/bad.json:2:28: \$.fixed.duration_s: must be a number (got string)"
check "database untouched" test "$(md5sum < "$CNTB_DB")" = "$before"
printf '{"fixed": {"network": "bridge", "placement": "cross-host"}}\n' > "$WORK/bc.json"
set +e
msg=$("$BIN/cntb" run "$WORK/bc.json" --testbed "$TB" 2>&1 >/dev/null); rc=$?
set -e
check "bridge cross-host refused before queueing: exit 2 ($rc)" test "$rc" -eq 2
check "...naming the combination: $msg" test "$msg" = "$WORK/bc.json:1:23: \$.fixed.network: network bridge cannot run placement cross-host (a Linux bridge joins the containers of one host) [\$.fixed.network with \$.fixed.placement]"
check "...database untouched" test "$(md5sum < "$CNTB_DB")" = "$before"

# Nothing of the runs is left: no run namespaces, no run links in the hosts.
check "no run namespace left" test -z "$(ip netns list | awk '{print $1}' | grep -E "^cntb-$NAME-[0-9]+-" || true)"
for h in h1 h2; do
  check "no run link left on $h" test -z "$(ip -n "cntb-$NAME-$h" -o link | grep -E 'cntb[0-9]+-' || true)"
done
check "no traffic process left" test -z "$(pgrep -f "$BIN/cntb-traffic (server|client)" || true)"

pids=$(cat /run/cntb/"$NAME"/*.pid)
check "destroy says destroyed" test "$("$BIN/cntb" testbed destroy "$NAME")" = "testbed $NAME destroyed"
check "no testbed namespace left" test -z "$(ip netns list | grep -E "^cntb-$NAME-" || true)"
check "no testbed link left" test -z "$(ip -o link | grep -E "cntb-$NAME-" || true)"
alive=""
for p in $pids; do  # a zombie not yet reaped by PID 1 counts as stopped
  st=$(awk '/^State:/{print $2}' "/proc/$p/status" 2>/dev/null || true)
  [ -n "$st" ] && [ "$st" != Z ] && alive="$alive $p"
done
check "controller and agents stopped" test -z "$alive"
check "run directory removed" test ! -e "/run/cntb/$NAME"

echo "test_emulated_run: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
