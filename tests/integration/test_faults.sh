#!/usr/bin/env bash
# test_faults.sh — faults on a 2-host emulated testbed (issue 9, docs/faults.md):
#  1. an agent SIGKILLed mid-run (cross-host nat): the controller notices
#     within 3 heartbeat intervals, fails the attempt "agent lost: ...",
#     tears down the other host's part; the restarted agent removes the
#     leftovers (links, nft table, namespace) and the retry is done;
#  2. a run whose traffic never ends (the client's traffic process frozen):
#     the collect timeout fires, teardown runs, the next run starts and is done;
#  3. a partition (nft drop on h2's underlay, in its namespace, for 20 s):
#     the run touching it fails "agent lost", the agent reconnects by
#     itself, the batch completes with one result per run;
#  4. the database's disk full (a small tmpfs filled up): the controller
#     says why (log, `cntb controller status`), holds the result
#     unacknowledged, takes no new run; once space is back the batch
#     completes and every result is stored exactly once.
# Usage: test_faults.sh BINDIR.  Exit 77 = skipped (not root, no jq/sqlite3/nft).
set -euo pipefail
BIN=${1:?usage: $0 BINDIR}
BIN=$(cd "$BIN" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "test_faults: skipped (needs root)"; exit 77; }
for t in jq sqlite3 nft; do command -v $t >/dev/null || { echo "test_faults: skipped (needs $t)"; exit 77; }; done

NAME="f$(( $$ % 100000 ))"
WORK=$(mktemp -d /tmp/cntb-f.XXXXXX)
MNT="$WORK/mnt"
PASS=0 FAIL=0
cleanup() {
  ip netns exec "cntb-$NAME-h2" nft delete table inet cntbfault 2>/dev/null || true
  (cd "$WORK" && "$BIN/cntb" controller stop --testbed "$WORK/$NAME.testbed.json" >/dev/null 2>&1) || true
  (cd "$WORK" && "$BIN/cntb" testbed destroy "$NAME" >/dev/null 2>&1) || true
  mountpoint -q "$MNT" && umount "$MNT"
  rm -rf "$WORK"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"   # ok, fail, check, q, wait_for, wait_grep
queue() { "$BIN/cntb" queue add "$WORK/$1.json" --testbed "$TB" >/dev/null; }
batch_of() { q "SELECT batch_id FROM queue WHERE name = '$1'"; }
LOG="/run/cntb/$NAME/controller.log"
AGLOG="/var/lib/cntb/$NAME/h2/agent.log"

cd "$WORK"
mkdir -p "$MNT"
mount -t tmpfs -o size=6m cntbfault "$MNT"
export CNTB_DB="$MNT/f.db"
"$BIN/cntb" testbed emulate --name "$NAME" --hosts 2 >/dev/null
TB="$WORK/$NAME.testbed.json"
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
"$BIN/cntb" deploy "$TB" >/dev/null

# 1. SIGKILL of an agent mid-run.
cat > k.json <<'JSON'
{ "name": "k", "hosts": ["h1", "h2"], "fixed": { "network": "nat", "placement": "cross-host",
  "traffic": "tcp_stream", "duration_s": 6 }, "retries": 1, "timeouts": { "lease_s": 60 } }
JSON
queue k; K=$(batch_of k)
check "k: run in collect" wait_for 60 "SELECT count(*) = 1 FROM run WHERE batch_id = $K AND state = 'collect'"
RUN=$(q "SELECT id FROM run WHERE batch_id = $K")
t0=$(date +%s%N)
kill -9 "$(cat /var/lib/cntb/$NAME/h2/agent.pid)"
for ((i = 0; i < 100; i++)); do grep -q "agent h2 lost" "$LOG" && break; sleep 0.05; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# agent loss noticed after $ms ms (heartbeat 1000 ms)"
check "loss noticed within 3 heartbeat intervals (+ scheduling slack): $ms ms" test "$ms" -le 3600
check "attempt failed with reason agent lost" wait_for 20 \
  "SELECT count(*) = 1 FROM run_attempt WHERE run_id = $RUN AND state = 'failed' AND reason LIKE 'agent lost: host h2 silent during collect%'"
check "h2 holds leftovers of run $RUN while its agent is dead (links, nft table)" \
  test -n "$(ip -n "cntb-$NAME-h2" -o link | grep "cntb$RUN-" || true)" -a \
       -n "$(ip netns exec "cntb-$NAME-h2" nft list tables | grep "cntb$RUN\$" || true)"
check "h1's part was torn down" test -z "$(ip -n "cntb-$NAME-h1" -o link | grep "cntb$RUN-" || true)"
"$BIN/cntb" deploy "$TB" >/dev/null
check "the restarted agent reports the cleanup" wait_grep 20 "removed leftovers of .*run $RUN" "$AGLOG"
check "the retry is done" wait_for 60 "SELECT count(*) = 1 FROM run WHERE id = $RUN AND state = 'done'"
check "no link of run $RUN left on h2" test -z "$(ip -n "cntb-$NAME-h2" -o link | grep "cntb$RUN-" || true)"
check "no nft table of run $RUN left on h2" test -z "$(ip netns exec "cntb-$NAME-h2" nft list tables | grep "cntb$RUN\$" || true)"
check "k: one result" test "$(q "SELECT count(*) FROM result WHERE run_id = $RUN")" -eq 1

[ "$(q "SELECT state FROM run WHERE id = $RUN")" = done ] || { echo "# k log:"; grep -E "run $RUN|h2" "$LOG" | tail -n 15 | sed 's/^/# /'; tail -n 15 "$AGLOG" | sed 's/^/# agent: /'; }

# 2. Traffic that never ends: the stage timeout fires, the next run starts.
cat > h.json <<'JSON'
{ "name": "h", "hosts": ["h1"], "fixed": { "network": "bridge", "traffic": "tcp_stream",
  "duration_s": 1 }, "repetitions": 2, "timeouts": { "collect_s": 3 } }
JSON
queue h; H=$(batch_of h)
check "h: first run in collect" wait_for 30 "SELECT count(*) = 1 FROM run WHERE batch_id = $H AND state = 'collect'"
R1=$(q "SELECT id FROM run WHERE batch_id = $H AND state = 'collect'")
for p in $(ip netns pids "cntb-$NAME-$R1-client" 2>/dev/null); do kill -STOP "$p"; done
check "h: the hung run fails at its collect timeout" wait_for 20 \
  "SELECT count(*) = 1 FROM run WHERE id = $R1 AND state = 'failed' AND reason = 'no result before the collect timeout'"
check "h: the next run is done" wait_for 30 "SELECT count(*) = 1 FROM batch WHERE id = $H AND state = 'done'"
check "h: 1 failed, 1 done" test "$(q "SELECT group_concat(state, ',') FROM (SELECT state FROM run WHERE batch_id = $H ORDER BY idx)")" = "failed,done"
check "h: no namespace of run $R1 left" test -z "$(ip netns list | grep "^cntb-$NAME-$R1-" || true)"

# 3. Partition: h2's underlay dropped for 20 s (issue 9).
cat > p.json <<'JSON'
{ "name": "p", "hosts": ["h1", "h2"], "fixed": { "network": "host", "placement": "cross-host",
  "traffic": "tcp_stream", "duration_s": 4 }, "repetitions": 2, "retries": 1,
  "timeouts": { "lease_s": 60 } }
JSON
queue p; P=$(batch_of p)
check "p: run in collect" wait_for 60 "SELECT count(*) = 1 FROM run WHERE batch_id = $P AND state = 'collect'"
C0=$(grep -c "agent h2 connected" "$LOG")
T0=$(date +%s.%N)
ip netns exec "cntb-$NAME-h2" nft -f - <<'NFT'
table inet cntbfault {
  chain in { type filter hook input priority -10; iifname "eth0" drop; }
  chain out { type filter hook output priority -10; oifname "eth0" drop; }
}
NFT
check "p: the run cut off fails with agent lost" wait_for 15 \
  "SELECT count(*) >= 1 FROM run_attempt a JOIN run r ON r.id = a.run_id WHERE r.batch_id = $P AND a.reason LIKE 'agent lost: host h2 silent during %'"
sleep "$(awk -v t0="$T0" -v now="$(date +%s.%N)" 'BEGIN { d = 20 - (now - t0); print (d > 0 ? d : 0) }')"
ip netns exec "cntb-$NAME-h2" nft delete table inet cntbfault
echo "# partition lasted $(awk -v t0="$T0" -v now="$(date +%s.%N)" 'BEGIN { printf "%.1f", now - t0 }') s"
reconnected() { [ "$(grep -c "agent h2 connected" "$LOG")" -gt "$C0" ]; }
wait_reconnect() { local i; for ((i = 0; i < 150; i++)); do reconnected && return 0; sleep 0.2; done; return 1; }
check "p: the agent reconnected by itself" wait_reconnect
check "p: the batch completes" wait_for 90 "SELECT count(*) = 1 FROM batch WHERE id = $P AND state = 'done'"
v=$(q "SELECT count(*) || '/' || count(DISTINCT run_id) FROM result WHERE run_id IN (SELECT id FROM run WHERE batch_id = $P AND state = 'done')")
check "p: 2 runs done, one result each (results/runs: $v)" test "$v" = "2/2"
[ "$v" = "2/2" ] || q "SELECT id, state, reason FROM run WHERE batch_id = $P; SELECT run_id, attempt, state, reason FROM run_attempt WHERE run_id IN (SELECT id FROM run WHERE batch_id = $P)" | sed 's/^/# /'

# 4. Disk full under the database.
cat > d.json <<'JSON'
{ "name": "d", "hosts": ["h1"], "fixed": { "network": "host", "traffic": "tcp_stream",
  "duration_s": 3 }, "repetitions": 3 }
JSON
queue d; D=$(batch_of d)
check "d: run in collect" wait_for 30 "SELECT count(*) = 1 FROM run WHERE batch_id = $D AND state = 'collect'"
dd if=/dev/zero of="$MNT/fill" bs=64k >/dev/null 2>&1 || true
check "d: the controller says the database is full" wait_grep 20 "database not writable (result: .*full" "$LOG"
"$BIN/cntb" controller status --testbed "$TB" > status.out || true
check "d: controller status says why" grep -q "database NOT WRITABLE (.*full" status.out
sleep 3
check "d: nothing new started while full" test "$(q "SELECT count(*) FROM run WHERE batch_id = $D AND state = 'queued'")" -ge 1
rm -f "$MNT/fill"
check "d: writable again is logged" wait_grep 20 "database writable again" "$LOG"
check "d: the batch completes" wait_for 60 "SELECT count(*) = 1 FROM batch WHERE id = $D AND state = 'done'"
check "d: 3 runs done, one result each" test "$(q "SELECT count(*) || '/' || count(DISTINCT run_id) || '/' || (SELECT sum(state = 'done') FROM run WHERE batch_id = $D) FROM result WHERE run_id IN (SELECT id FROM run WHERE batch_id = $D)")" = "3/3/3"

echo "# controller log:"; grep -E "lost|writable|failed" "$LOG" | tail -n 8 | sed 's/^/# /'
"$BIN/cntb" controller stop --testbed "$TB" >/dev/null || true
"$BIN/cntb" testbed destroy "$NAME" >/dev/null
check "no namespace of testbed $NAME left" test -z "$(ip netns list | grep -E "^cntb-$NAME-" || true)"
echo "test_faults: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
