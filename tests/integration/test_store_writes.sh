#!/usr/bin/env bash
# test_store_writes.sh — a write the controller cannot make is never ignored
# (issue 14 item 7, docs/faults.md "The disk fills up"): the database refuses
# to mark a batch done (a trigger raises an error, as a full disk or a
# read-only file would refuse the write), and the controller
#   - says so (log, `cntb controller status`) instead of logging the batch
#     as done while the database keeps it running;
#   - starts no run of the next batch while it cannot write;
#   - once the write works again, ends the batch and goes on.
# No agent and no traffic: the hosts have no agent, so each run is skipped
# after timeouts.lease_s.  Usage: test_store_writes.sh BINDIR.
# Exit 77 = skipped (not root, no sqlite3/python3).
set -euo pipefail
BIN=${1:?usage: $0 BINDIR}
BIN=$(cd "$BIN" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "test_store_writes: skipped (needs root)"; exit 77; }
for t in sqlite3 python3; do
  command -v $t >/dev/null || { echo "test_store_writes: skipped (needs $t)"; exit 77; }
done

NAME="sw$(( $$ % 10000 ))"
WORK=$(mktemp -d /tmp/cntb-sw.XXXXXX)
PASS=0 FAIL=0
cleanup() {
  (cd "$WORK" && "$BIN/cntb" controller stop --testbed "$WORK/tb.json" >/dev/null 2>&1) || true
  rm -rf "$WORK" "/run/cntb/$NAME"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"   # ok, fail, check, q, wait_for, wait_grep
cd "$WORK"
export CNTB_DB="$WORK/sw.db"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > tb.json <<JSON
{ "name": "$NAME", "controller": { "address": "127.0.0.1", "port": $PORT },
  "hosts": [ { "name": "h1", "kind": "bare-metal", "address": "198.18.251.1" } ] }
JSON
for m in a b; do
  cat > $m.json <<JSON
{ "name": "$m", "fixed": { "network": "host", "duration_s": 1 }, "timeouts": { "lease_s": 2 } }
JSON
done
LOG="/run/cntb/$NAME/controller.log"
"$BIN/cntb" controller start --testbed tb.json >/dev/null

sqlite3 -cmd '.timeout 5000' "$CNTB_DB" "CREATE TRIGGER test_no_done BEFORE UPDATE OF state ON batch
  WHEN NEW.state = 'done' BEGIN SELECT RAISE(ABORT, 'test: batch end refused'); END;"
"$BIN/cntb" queue add a.json --testbed tb.json >/dev/null
"$BIN/cntb" queue add b.json --testbed tb.json >/dev/null
A=$(q "SELECT id FROM batch WHERE matrix_name = 'a'")
B=$(q "SELECT id FROM batch WHERE matrix_name = 'b'")
check "a's run skipped (no agent on h1)" wait_for 20 \
  "SELECT count(*) = 1 FROM run WHERE batch_id = $A AND state = 'skipped'"
check "the controller says it cannot record the end of batch a" \
  wait_grep 10 "database not writable (end of batch $A: .*test: batch end refused" "$LOG"
"$BIN/cntb" controller status --testbed tb.json > status.out 2>&1 || true
check "controller status says the database is not writable" grep -q "database NOT WRITABLE (end of batch $A" status.out
check "no log line claims batch a done" test -z "$(grep "batch $A done" "$LOG" || true)"
sleep 3   # b's run would have been leased and skipped by now (lease_s 2)
check "no run of batch b started while the store cannot be written" \
  test "$(q "SELECT state FROM run WHERE batch_id = $B")" = queued
check "batch a is still running on record" test "$(q "SELECT state FROM batch WHERE id = $A")" = running

sqlite3 -cmd '.timeout 5000' "$CNTB_DB" "DROP TRIGGER test_no_done"
check "batch a ends once the write works" wait_for 20 "SELECT state = 'done' FROM batch WHERE id = $A"
check "then batch b runs and ends" wait_for 20 "SELECT state = 'done' FROM batch WHERE id = $B"
check "writable again is logged" wait_grep 5 "database writable again" "$LOG"
check "each run skipped once, with the reason" test \
  "$(q "SELECT group_concat(state || ': ' || reason, ' | ') FROM run ORDER BY id")" = \
  "skipped: agent of host h1 not connected within 2 s | skipped: agent of host h1 not connected within 2 s"

"$BIN/cntb" controller stop --testbed tb.json >/dev/null
echo "test_store_writes: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
