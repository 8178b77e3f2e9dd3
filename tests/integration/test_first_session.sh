#!/usr/bin/env bash
# test_first_session.sh — what a first session shows (issue 22), end to end on
# a controller bound to 127.0.0.1 with two simulated agents (cntb-agent
# --simulate 2: hosts sim1, sim2, network noop, no traffic, no namespaces):
#   - cntb run names the parameters of include points in its progress lines
#     (they named none: "[2/2] run 2 rep 1: done");
#   - a matrix of include entries only runs exactly them (no run of the
#     defaults beside them), and an empty vary with nothing fixed is refused
#     (exit 2, nothing queued);
#   - a series (queue add --every) draws each batch's random order with its
#     own seed: the first the matrix's, the next matrix_batch_seed(seed, 1),
#     both stored in batch.seed, the orders differ, and a matrix with the
#     stored seed expands to that batch's order (replay).
# Needs root (the controller's /run/cntb/NAME), sqlite3 and jq.  Takes a
# few seconds.  Usage: test_first_session.sh BINDIR.  Exit 77 = skipped.
set -euo pipefail
BIN=${1:?usage: $0 BINDIR}
BIN=$(cd "$BIN" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "test_first_session: skipped (needs root)"; exit 77; }
for p in jq sqlite3 python3; do
  command -v "$p" >/dev/null || { echo "test_first_session: skipped (needs $p)"; exit 77; }
done

NAME="fs$(( $$ % 10000 ))"
WORK=$(mktemp -d /tmp/cntb-fs.XXXXXX)
SIMPID=""
PASS=0 FAIL=0
cleanup() {
  if [ -n "$SIMPID" ]; then kill "$SIMPID" 2>/dev/null || true; wait "$SIMPID" 2>/dev/null || true; fi
  "$BIN/cntb" controller stop --testbed "$WORK/tb.json" >/dev/null 2>&1 || true
  rm -rf "$WORK" "/run/cntb/$NAME"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"   # ok, fail, check, q, wait_for

cd "$WORK"
export CNTB_DB="$WORK/fs.db"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > tb.json <<JSON
{ "name": "$NAME", "controller": { "address": "127.0.0.1", "port": $PORT },
  "hosts": [ { "name": "sim1", "kind": "bare-metal", "address": "198.18.253.1" },
             { "name": "sim2", "kind": "bare-metal", "address": "198.18.253.2" } ] }
JSON
TB="$WORK/tb.json"
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
"$BIN/cntb-agent" --controller "tcp://127.0.0.1:$PORT" --simulate 2 2> sim.log &
SIMPID=$!
connected() { [ "$("$BIN/cntb" controller status --testbed "$TB" | grep -c ' connected ')" -eq 2 ]; }
for i in $(seq 1 50); do connected && break; sleep 0.2; done
check "two simulated agents connected" connected

# 1. Include points: only they run, and the progress lines name their parameters.
cat > inc.json <<'JSON'
{ "name": "inc", "fixed": { "network": "noop", "duration_s": 0.1 },
  "include": [ { "placement": "same-host" }, { "placement": "cross-host", "size": 64 } ] }
JSON
rc=0; "$BIN/cntb" run inc.json --testbed "$TB" > inc.out 2>&1 || rc=$?
cat inc.out
check "include-only matrix: exit 0 (got $rc)" test "$rc" -eq 0
check "include-only matrix: 2 runs queued, no run of the defaults" grep -q '^batch 1: 2 runs queued' inc.out
check "progress line of include point 1 names its parameters" \
  grep -Eq '^\[[12]/2\] run 1 placement=same-host size=1448 rep 1: done' inc.out
check "progress line of include point 2 names its parameters" \
  grep -Eq '^\[[12]/2\] run 2 placement=cross-host size=64 rep 1: done' inc.out

# 2. An empty vary with nothing fixed names no point: refused here, nothing queued.
printf '{ "name": "empty", "vary": {} }\n' > empty.json
rc=0; "$BIN/cntb" run empty.json --testbed "$TB" > empty.out 2>&1 || rc=$?
check "empty vary: exit 2 (got $rc)" test "$rc" -eq 2
check "empty vary: one line naming \$.vary" test "$(cat empty.out)" = \
  "empty.json:1:28: \$.vary: varies nothing, and nothing is fixed or included: the matrix names no point (leave \"vary\" out for one run of the defaults)"
check "empty vary: nothing queued" test "$(q "SELECT count(*) FROM batch")" -eq 1

# 3. A series: every batch its own order, its seed stored, replayable.
cat > ser.json <<'JSON'
{ "name": "ser", "fixed": { "network": "noop", "duration_s": 0.1 },
  "vary": { "size": { "from": 1, "to": 8 } }, "order": "random", "seed": 42 }
JSON
"$BIN/cntb" queue add ser.json --every 2s --testbed "$TB" > ser.out
Q=$(sed -n 's/^queue entry \([0-9]*\):.*/\1/p' ser.out)
check "series queued (entry $Q)" test -n "$Q"
check "two batches of the series done" wait_for 40 \
  "SELECT count(*) >= 2 FROM batch WHERE queue_id = $Q AND state = 'done'"
"$BIN/cntb" queue cancel "$Q" --testbed "$TB" >/dev/null
read -r B1 B2 <<<"$(q "SELECT group_concat(id, ' ') FROM (SELECT id FROM batch WHERE queue_id = $Q ORDER BY id LIMIT 2)")"
order() { q "SELECT group_concat(point, ',') FROM (SELECT point FROM run WHERE batch_id = $1 ORDER BY idx)"; }
O1=$(order "$B1") O2=$(order "$B2")
echo "# batch $B1 order $O1, batch $B2 order $O2"
check "the first batch keeps the matrix's seed (42)" test "$(q "SELECT seed FROM batch WHERE id = $B1")" = 42
check "the second batch has its own seed (6529064058449557)" \
  test "$(q "SELECT seed FROM batch WHERE id = $B2")" = 6529064058449557
check "the two nights ran different orders" test "$O1" != "$O2"
check "the first night's order is the one matrix expand shows" test "$O1" = \
  "$("$BIN/cntb" matrix expand ser.json --format json | jq -r '[.[].point] | join(",")')"
jq --argjson s "$(q "SELECT seed FROM batch WHERE id = $B2" 2>/dev/null)" '.seed = $s' ser.json > replay.json 2>/dev/null || true
check "a matrix with the stored seed replays the second night's order" test "$O2" = \
  "$("$BIN/cntb" matrix expand replay.json --format json | jq -r '[.[].point] | join(",")')"
check "results list shows each batch's seed" test \
  "$("$BIN/cntb" results list --format json | jq -r "[.[] | select(.id == $B1 or .id == $B2) | .seed] | join(\",\")")" = \
  "42,6529064058449557"

echo "test_first_session: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
