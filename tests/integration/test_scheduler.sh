#!/usr/bin/env bash
# test_scheduler.sh — the queue and the scheduler on a 4-host emulated testbed:
#  1. a matrix queued with --at a few seconds ahead (ISO 8601 UTC) starts on
#     its own, not before its time;
#  2. two batches restricted to disjoint hosts (h1, h2) run concurrently
#     (their [first start, last finish] intervals overlap) while two on the
#     same host (h3) take turns (their intervals do not overlap);
#  3. queue cancel: the batch stops after its run in flight, the rest skipped;
#  4. the controller SIGKILLed mid-batch and started again: the batch
#     completes with every run done exactly once (one result each, no run
#     missing, no point and repetition twice), the run it had in collect
#     adopted (no attempt cut short);
#  5. retries: an attempt failed by its agent dying is recorded, the retry is done;
#  6. a run whose host has no agent waits lease_s, then is skipped with the reason.
# Usage: test_scheduler.sh BINDIR.  Exit 77 = skipped (not root, no jq/sqlite3).
set -euo pipefail
BIN=${1:?usage: $0 BINDIR}
BIN=$(cd "$BIN" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "test_scheduler: skipped (needs root)"; exit 77; }
command -v jq >/dev/null && command -v sqlite3 >/dev/null || { echo "needs jq and sqlite3"; exit 77; }

NAME="q$(( $$ % 100000 ))"
WORK=$(mktemp -d /tmp/cntb-q.XXXXXX)
PASS=0 FAIL=0
cleanup() {
  (cd "$WORK" && "$BIN/cntb" testbed destroy "$NAME" >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"   # ok, fail, check, q, wait_for, wait_grep
# Waits up to $1 seconds for the SQL $2 to print 1.
matrix() { # name hosts(json) runs duration [extra json]
  cat > "$WORK/$1.json" <<JSON
{ "name": "$1", "hosts": $2, "fixed": { "network": "host", "traffic": "tcp_stream", "duration_s": $4 },
  "vary": { "size": {"from": 1000, "to": $(( 999 + $3 )) } } ${5:-} }
JSON
}

cd "$WORK"
export CNTB_DB="$WORK/q.db"
"$BIN/cntb" testbed emulate --name "$NAME" --hosts 4 >/dev/null
TB="$WORK/$NAME.testbed.json"
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
"$BIN/cntb" deploy "$TB" >/dev/null

# 1. --at a few seconds ahead starts on its own.
matrix at '["h4"]' 1 1
AT=$(date -u -d '+6 seconds' +%Y-%m-%dT%H:%M:%SZ)
"$BIN/cntb" queue add "$WORK/at.json" --at "$AT" --testbed "$TB" > "$WORK/add.out"
check "queue add answers with the entry" grep -q '^queue entry 1: ' "$WORK/add.out"
check "not started before its time" test "$(q 'SELECT count(*) FROM batch')" -eq 0
"$BIN/cntb" queue list --format json --testbed "$TB" > "$WORK/list.json"
check "queue list shows it waiting, next start $AT" \
  test "$(jq -r '.[0].state + " " + .[0].next_start' "$WORK/list.json")" = "waiting $AT"
check "the batch started on its own" wait_for 40 \
  "SELECT count(*) = 1 FROM batch b JOIN queue q ON q.batch_id = b.id AND b.queue_id = q.id WHERE q.id = 1"
check "not before --at" test "$(q "SELECT substr(created_at, 1, 19) || 'Z' >= '$AT' FROM batch WHERE queue_id = 1")" = 1
check "its run done" wait_for 30 "SELECT count(*) = 1 FROM run WHERE state = 'done' AND batch_id = (SELECT batch_id FROM queue WHERE id = 1)"
check "one-off entry is started, no next start" \
  test "$(q "SELECT state || '/' || coalesce(next_start, '-') FROM queue WHERE id = 1")" = "started/-"

# 2. Disjoint hosts overlap, the same host takes turns.
matrix a '["h1"]' 3 2; matrix b '["h2"]' 3 2; matrix c '["h3"]' 2 1; matrix d '["h3"]' 2 1
for m in a b c d; do "$BIN/cntb" queue add "$WORK/$m.json" --testbed "$TB" >/dev/null; done
check "four batches finish" wait_for 120 \
  "SELECT count(*) = 4 FROM batch WHERE matrix_name IN ('a','b','c','d') AND state = 'done'"
span() { q "SELECT min(r.started_at) || ' ' || max(r.finished_at) FROM run r JOIN batch b ON b.id = r.batch_id WHERE b.matrix_name = '$1'"; }
read -r a0 a1 <<<"$(span a)"; read -r b0 b1 <<<"$(span b)"
read -r c0 c1 <<<"$(span c)"; read -r d0 d1 <<<"$(span d)"
echo "# a $a0..$a1  b $b0..$b1  c $c0..$c1  d $d0..$d1"
overlap() { [[ "$1" < "$4" && "$3" < "$2" ]]; }  # [s1,e1] and [s2,e2] intersect
check "batches on h1 and h2 overlap in time" overlap "$a0" "$a1" "$b0" "$b1"
check "batches both on h3 do not overlap" bash -c "! { [[ '$c0' < '$d1' && '$d0' < '$c1' ]]; }"
check "every run of a/b/c/d done on its own host" test "$(q "SELECT count(*) FROM run r JOIN batch b ON b.id = r.batch_id WHERE r.state = 'done' AND ((b.matrix_name = 'a' AND r.client_host = 'h1') OR (b.matrix_name = 'b' AND r.client_host = 'h2') OR (b.matrix_name IN ('c','d') AND r.client_host = 'h3'))")" -eq 10

# 3. Cancel: the run in flight finishes, the rest are skipped.
matrix e '["h1"]' 4 2
"$BIN/cntb" queue add "$WORK/e.json" --testbed "$TB" >/dev/null
E=$(q "SELECT id FROM queue WHERE name = 'e'")
check "batch e has a run in flight" wait_for 30 \
  "SELECT count(*) = 1 FROM run WHERE batch_id = (SELECT batch_id FROM queue WHERE id = $E) AND state IN ('setup','running','collect')"
"$BIN/cntb" queue cancel "$E" --testbed "$TB" > "$WORK/cancel.out"
check "cancel says the batch stops" grep -q "stops after its run in flight" "$WORK/cancel.out"
check "batch e ends cancelled" wait_for 30 "SELECT count(*) = 1 FROM batch WHERE matrix_name = 'e' AND state = 'cancelled' AND finished_at IS NOT NULL"
check "e: 1 run done, 3 skipped as cancelled" test "$(q "SELECT group_concat(state || ':' || coalesce(reason, ''), ',') FROM (SELECT state, reason FROM run WHERE batch_id = (SELECT batch_id FROM queue WHERE id = $E) ORDER BY idx)")" = "done:,skipped:cancelled with queue entry $E,skipped:cancelled with queue entry $E,skipped:cancelled with queue entry $E"
set +e
"$BIN/cntb" queue cancel 999 --testbed "$TB" 2>/dev/null; rc=$?
set -e
check "cancel of an unknown entry exits 2" test "$rc" -eq 2

# 4. SIGKILL mid-batch, restart: complete, no duplicate, no missing run.
cat > "$WORK/k.json" <<'JSON'
{ "name": "k", "hosts": ["h1", "h2"], "fixed": { "network": "host", "duration_s": 2 },
  "vary": { "size": {"from": 1000, "to": 1002}, "placement": ["same-host", "cross-host"] },
  "order": "random", "seed": 7 }
JSON
"$BIN/cntb" queue add "$WORK/k.json" --testbed "$TB" >/dev/null
K=$(q "SELECT batch_id FROM queue WHERE name = 'k'")
check "batch k: a run done and one in collect" wait_for 60 \
  "SELECT (SELECT count(*) FROM run WHERE batch_id = $K AND state = 'done') >= 1 AND (SELECT count(*) FROM run WHERE batch_id = $K AND state = 'collect') = 1"
kill -9 "$(cat /run/cntb/$NAME/controller.pid)"
sleep 0.5
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
check "batch k completes after the restart" wait_for 120 "SELECT count(*) = 1 FROM batch WHERE id = $K AND state = 'done'"
check "k: 6 runs, all done" test "$(q "SELECT count(*) || '/' || sum(state = 'done') FROM run WHERE batch_id = $K")" = "6/6"
check "k: exactly one result per run" test "$(q "SELECT count(*) || '/' || count(DISTINCT run_id) FROM result WHERE run_id IN (SELECT id FROM run WHERE batch_id = $K)")" = "6/6"
check "k: no point and repetition twice" test "$(q "SELECT count(DISTINCT point || '-' || repetition) FROM run WHERE batch_id = $K")" -eq 6
# The run in collect is adopted (test_ctl_restart.sh): its result counts, no attempt is cut short.
check "k: the run in collect adopted, no attempt cut short" test "$(grep -c "(batch $K) adopted in collect after the restart" "/run/cntb/$NAME/controller.log")/$(q "SELECT count(*) FROM run_attempt WHERE run_id IN (SELECT id FROM run WHERE batch_id = $K)")" = "1/0"
check "k: throughput stored for every run" test "$(q "SELECT count(*) FROM metric WHERE name = 'throughput_bps' AND value > 0 AND run_id IN (SELECT id FROM run WHERE batch_id = $K)")" -eq 6

# 5. Retries: the agent of h4 dies mid-run; the attempt fails with that reason,
#    the run waits for the agent (restarted by deploy) and is done on its retry.
matrix r '["h4"]' 1 6 ', "retries": 1, "timeouts": {"lease_s": 60}'
"$BIN/cntb" queue add "$WORK/r.json" --testbed "$TB" >/dev/null
check "batch r: its run in collect" wait_for 30 \
  "SELECT count(*) = 1 FROM run r JOIN batch b ON b.id = r.batch_id WHERE b.matrix_name = 'r' AND r.state = 'collect'"
kill "$(cat /var/lib/cntb/$NAME/h4/agent.pid)"
check "the failed attempt is on record with its reason" wait_for 20 \
  "SELECT count(*) = 1 FROM run_attempt a JOIN run r ON r.id = a.run_id JOIN batch b ON b.id = r.batch_id WHERE b.matrix_name = 'r' AND a.attempt = 1 AND a.state = 'failed' AND a.reason = 'agent lost: host h4 silent during collect' AND a.client_host = 'h4'"
"$BIN/cntb" deploy "$TB" >/dev/null
check "the retry is done" wait_for 60 \
  "SELECT count(*) = 1 FROM run r JOIN batch b ON b.id = r.batch_id WHERE b.matrix_name = 'r' AND r.state = 'done' AND b.state = 'done'"
check "r: one result" test "$(q "SELECT count(*) FROM result WHERE run_id IN (SELECT r.id FROM run r JOIN batch b ON b.id = r.batch_id WHERE b.matrix_name = 'r')")" -eq 1

# 6. No agent on the host: wait lease_s, then skipped with the reason.
kill "$(cat /var/lib/cntb/$NAME/h4/agent.pid)"
sleep 5  # the controller notices the silence after 3 heartbeats (3 s)
matrix n '["h4"]' 1 1 ', "timeouts": {"lease_s": 8}'
"$BIN/cntb" queue add "$WORK/n.json" --testbed "$TB" >/dev/null
check "run on h4 skipped for its agent" wait_for 40 \
  "SELECT count(*) = 1 FROM run r JOIN batch b ON b.id = r.batch_id WHERE b.matrix_name = 'n' AND r.state = 'skipped' AND r.reason = 'agent of host h4 not connected within 8 s'"

# 7. A one-off --at already past starts now, with a warning line; exit 0.
matrix past '["h1"]' 1 1
PAST=$(date -d '-2 hours' +%Y-%m-%dT%H:%M)
set +e
"$BIN/cntb" queue add "$WORK/past.json" --at "$PAST" --testbed "$TB" > "$WORK/past.out" 2> "$WORK/past.err"; rc=$?
set -e
check "past --at exits 0" test "$rc" -eq 0
check "past --at warns: $(cat "$WORK/past.err")" test "$(cat "$WORK/past.err")" = "cntb: warning: --at $PAST is in the past: starting now"
check "past --at started a batch now" grep -q 'started now as batch' "$WORK/past.out"
"$BIN/cntb" queue add "$WORK/past.json" --at now --testbed "$TB" > /dev/null 2> "$WORK/now.err"
check "--at now does not warn" test ! -s "$WORK/now.err"

# Bad input: refused, exit 2, nothing queued.
before=$(q "SELECT count(*) FROM queue")
set +e
msg=$("$BIN/cntb" queue add "$WORK/a.json" --at 25:00 --testbed "$TB" 2>&1); rc=$?
set -e
check "bad --at exits 2: $msg" test "$rc" -eq 2
echo '{ "hosts": ["h1", "h9"] }' > "$WORK/h9.json"
set +e
msg=$("$BIN/cntb" queue add "$WORK/h9.json" --testbed "$TB" 2>&1); rc=$?
set -e
check "unknown host refused by the controller: $msg" test "$rc" -eq 2 -a "$msg" = "$WORK/h9.json:1:19: \$.hosts[1]: no host h9 in testbed $NAME"
check "nothing queued by refusals" test "$(q "SELECT count(*) FROM queue")" -eq "$before"

echo "# controller log:"; tail -n 5 "/run/cntb/$NAME/controller.log" | sed 's/^/# /'
"$BIN/cntb" testbed destroy "$NAME" >/dev/null
check "no testbed namespace left" test -z "$(ip netns list | grep -E "^cntb-$NAME-" || true)"
echo "test_scheduler: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
