#!/usr/bin/env bash
# test_ctl_restart.sh — the controller SIGKILLed while an agent holds an
# unacknowledged RESULT (issue 9, docs/faults.md "The controller dies"), on a
# 2-host emulated testbed:
#  1. a bridge run in collect: the controller is frozen (SIGSTOP) so that the
#     agent's RESULT goes out and is never acknowledged, then SIGKILLed and
#     started again.  The restarted controller adopts the run: the RESULT the
#     agent re-sends on WELCOME is stored once, the run is done with ONE
#     attempt (nothing in run_attempt), its metrics stored once, the log says
#     so, and the batch completes;
#  2. the same, but the agent is SIGKILLed too (its result is gone): the
#     adopted run waits duration_s + collect_s, fails that attempt with "no
#     result after controller restart", and its retry is done;
#  3. the result stored and the run in teardown when the controller dies
#     (its agent frozen so that TEARDOWN_OK cannot come): the run is adopted
#     in teardown, its host gets TEARDOWN on HELLO, and it is done once;
#  and nothing of the runs is left (namespaces, links, traffic processes).
# Usage: test_ctl_restart.sh BINDIR.  Exit 77 = skipped (not root, no jq/sqlite3).
set -euo pipefail
BIN=${1:?usage: $0 BINDIR}
BIN=$(cd "$BIN" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "test_ctl_restart: skipped (needs root)"; exit 77; }
for t in jq sqlite3; do command -v $t >/dev/null || { echo "test_ctl_restart: skipped (needs $t)"; exit 77; }; done

NAME="r$(( $$ % 100000 ))"
WORK=$(mktemp -d /tmp/cntb-r.XXXXXX)
PASS=0 FAIL=0
LOG="/run/cntb/$NAME/controller.log"
PIDF="/run/cntb/$NAME/controller.pid"
cleanup() {
  # A controller left frozen by a failed step must be able to stop.
  [ -f "$PIDF" ] && kill -CONT "$(cat "$PIDF")" 2>/dev/null || true
  (cd "$WORK" && "$BIN/cntb" controller stop --testbed "$WORK/$NAME.testbed.json" >/dev/null 2>&1) || true
  (cd "$WORK" && "$BIN/cntb" testbed destroy "$NAME" >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"   # ok, fail, check, q, wait_for, wait_grep
batch_of() { q "SELECT batch_id FROM queue WHERE name = '$1'"; }
# Freezes the controller, runs "$@" (what happens while it is frozen), kills
# it (SIGKILL) and starts it again.
freeze_kill_restart() {
  local pid; pid=$(cat "$PIDF")
  kill -STOP "$pid"
  "$@"
  kill -9 "$pid"
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  "$BIN/cntb" controller start --testbed "$TB" >/dev/null
}

cd "$WORK"
export CNTB_DB="$WORK/r.db"
"$BIN/cntb" testbed emulate --name "$NAME" --hosts 2 >/dev/null
TB="$WORK/$NAME.testbed.json"
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
"$BIN/cntb" deploy "$TB" >/dev/null

# 1. The agent holds an unacknowledged RESULT across the controller's death.
cat > a.json <<'JSON'
{ "name": "a", "hosts": ["h1"], "fixed": { "network": "bridge", "traffic": "tcp_stream",
  "duration_s": 3 }, "repetitions": 3 }
JSON
"$BIN/cntb" queue add a.json --testbed "$TB" >/dev/null; A=$(batch_of a)
check "a: a run in collect" wait_for 60 "SELECT count(*) = 1 FROM run WHERE batch_id = $A AND state = 'collect'"
RA=$(q "SELECT id FROM run WHERE batch_id = $A AND state = 'collect'")
AG1="/var/lib/cntb/$NAME/h1/agent.log"
sent_unacked() { # the agent's client finished (RESULT sent), the controller frozen
  wait_grep 20 "run $RA: 1 client(s) done" "$AG1" || echo "# agent of h1 never finished run $RA"
  sleep 1
}
freeze_kill_restart sent_unacked
check "a: run $RA adopted in collect" grep -q "run $RA (batch $A) adopted in collect after the restart" "$LOG"
check "a: the batch completes" wait_for 60 "SELECT count(*) = 1 FROM batch WHERE id = $A AND state = 'done'"
check "a: the re-delivered result is stored (log)" \
  grep -q "run $RA: result seq 1 from h1 re-delivered after the controller restart: stored" "$LOG"
check "a: run $RA done" test "$(q "SELECT state FROM run WHERE id = $RA")" = done
check "a: run $RA has one attempt (none in run_attempt)" test "$(q "SELECT count(*) FROM run_attempt WHERE run_id = $RA")" -eq 0
check "a: run $RA has one result and one throughput" \
  test "$(q "SELECT (SELECT count(*) FROM result WHERE run_id = $RA) || '/' || (SELECT count(*) FROM metric WHERE run_id = $RA AND name = 'throughput_bps' AND value > 0)")" = "1/1"
check "a: 3 runs done, one result each, no attempt cut short" \
  test "$(q "SELECT (SELECT sum(state = 'done') FROM run WHERE batch_id = $A) || '/' || count(*) || '/' || count(DISTINCT run_id) || '/' || (SELECT count(*) FROM run_attempt WHERE run_id IN (SELECT id FROM run WHERE batch_id = $A)) FROM result WHERE run_id IN (SELECT id FROM run WHERE batch_id = $A)")" = "3/3/3/0"
check "a: the agent's result was acknowledged, not dropped" \
  bash -c "! grep -q 'run $RA: result dropped' '$AG1'"

# 2. The agent dies too: no result can come; the attempt fails, the retry is done.
cat > b.json <<'JSON'
{ "name": "b", "hosts": ["h2"], "fixed": { "network": "bridge", "traffic": "tcp_stream",
  "duration_s": 3 }, "retries": 1, "timeouts": { "collect_s": 3, "lease_s": 60 } }
JSON
"$BIN/cntb" queue add b.json --testbed "$TB" >/dev/null; B=$(batch_of b)
check "b: its run in collect" wait_for 60 "SELECT count(*) = 1 FROM run WHERE batch_id = $B AND state = 'collect'"
RB=$(q "SELECT id FROM run WHERE batch_id = $B")
kill_agent2() { kill -9 "$(cat "/var/lib/cntb/$NAME/h2/agent.pid")"; sleep 0.5; }
t0=$(date +%s)
freeze_kill_restart kill_agent2
"$BIN/cntb" deploy "$TB" >/dev/null   # h2's agent again (it cleans up run $RB's leftovers)
check "b: run $RB adopted in collect, waiting 6 s" \
  grep -q "run $RB (batch $B) adopted in collect after the restart: waiting up to 6.0 s" "$LOG"
check "b: the attempt failed with the reason" wait_for 30 \
  "SELECT count(*) = 1 FROM run_attempt WHERE run_id = $RB AND attempt = 1 AND state = 'failed' AND reason = 'no result after controller restart' AND client_host = 'h2'"
echo "# attempt failed $(( $(date +%s) - t0 )) s after the restart"
check "b: the retry is done" wait_for 60 "SELECT count(*) = 1 FROM batch WHERE id = $B AND state = 'done'"
check "b: run $RB done, one result, one throughput, 2 attempts" \
  test "$(q "SELECT state || '/' || (SELECT count(*) FROM result WHERE run_id = $RB) || '/' || (SELECT count(*) FROM metric WHERE run_id = $RB AND name = 'throughput_bps') || '/' || ((SELECT count(*) FROM run_attempt WHERE run_id = $RB) + 1) FROM run WHERE id = $RB")" = "done/1/1/2"

# 3. The result stored, the run in teardown when the controller dies: the
#    controller is frozen until h1's agent has sent the RESULT, then the agent
#    is frozen (its TEARDOWN_OK cannot come) and the controller thawed: it
#    stores the result and waits in teardown; then it is killed and started
#    again, and the agent thawed.  The run is adopted in teardown and done.
cat > c.json <<'JSON'
{ "name": "c", "hosts": ["h1"], "fixed": { "network": "bridge", "traffic": "tcp_stream",
  "duration_s": 2 } }
JSON
"$BIN/cntb" queue add c.json --testbed "$TB" >/dev/null; C=$(batch_of c)
check "c: its run in collect" wait_for 60 "SELECT count(*) = 1 FROM run WHERE batch_id = $C AND state = 'collect'"
RC=$(q "SELECT id FROM run WHERE batch_id = $C")
CPID=$(cat "$PIDF"); APID=$(cat "/var/lib/cntb/$NAME/h1/agent.pid")
kill -STOP "$CPID"
wait_grep 20 "run $RC: 1 client(s) done" "$AG1" || echo "# agent of h1 never finished run $RC"
sleep 0.5
kill -STOP "$APID"; kill -CONT "$CPID"
check "c: result stored, run in teardown" wait_for 2 \
  "SELECT count(*) = 1 FROM run WHERE id = $RC AND state = 'teardown' AND (SELECT count(*) FROM result WHERE run_id = $RC) = 1"
kill -9 "$CPID"
for ((i = 0; i < 50; i++)); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
kill -CONT "$APID"
check "c: run $RC adopted in teardown" grep -q "run $RC (batch $C) adopted after the restart: its result is stored" "$LOG"
check "c: the batch completes" wait_for 30 "SELECT count(*) = 1 FROM batch WHERE id = $C AND state = 'done'"
check "c: run $RC done, one result, one attempt" \
  test "$(q "SELECT state || '/' || (SELECT count(*) FROM result WHERE run_id = $RC) || '/' || (SELECT count(*) FROM run_attempt WHERE run_id = $RC) FROM run WHERE id = $RC")" = "done/1/0"

# Nothing left of the runs.
check "no namespace of a run left" test -z "$(ip netns list | grep -E "^cntb-$NAME-[0-9]" || true)"
left_links() { for h in h1 h2; do ip -n "cntb-$NAME-$h" -o link | grep -E "cntb($RA|$RB|$RC)-" || true; done; }
check "no link of runs $RA, $RB, $RC left" test -z "$(left_links)"
traffic_left() { for h in h1 h2; do pgrep -P "$(cat "/var/lib/cntb/$NAME/$h/agent.pid")" || true; done; }
check "no traffic process of the agents left" test -z "$(traffic_left)"

echo "# controller log:"; grep -E "adopted|re-delivered|no result|restart|queued again" "$LOG" | tail -n 8 | sed 's/^/# /'
"$BIN/cntb" controller stop --testbed "$TB" >/dev/null || true
"$BIN/cntb" testbed destroy "$NAME" >/dev/null
check "no namespace of testbed $NAME left" test -z "$(ip netns list | grep -E "^cntb-$NAME-" || true)"
echo "test_ctl_restart: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
