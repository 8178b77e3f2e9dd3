#!/usr/bin/env bash
# tests/bench/scale/scale.sh — the controller at scale (issue 9): N simulated
# agents (`cntb-agent --simulate N`, one process, one connection each) on a
# controller bound to 127.0.0.1, and RUNS no-op runs (network noop,
# cross-host) as N/2 batches, each restricted with "hosts" to its own pair of
# hosts (disjoint, so all batches run at once), RUNS/(N/2) runs each.
# Prints, beside the goals of issue 9:
#   - controller CPU time per run: utime+stime of /proc/PID/stat (clock
#     ticks) over the whole queue / runs done;
#   - due -> dispatched: per run, from when it became due (its batch created,
#     or the previous run of its batch finished) to when it entered setup
#     (run.started_at), median, p95 and max;
#   - controller memory per agent: VmRSS with N agents connected minus
#     VmRSS before any agent, / N;
#   - heartbeat cost: controller CPU over 30 s with N idle agents, as % of a
#     core.
# Not a ctest (minutes long; numbers depend on the machine).  Root not needed.
# Usage: tests/bench/scale/scale.sh BINDIR [N [RUNS]]   (default 500 10000)
set -euo pipefail
BIN=${1:?usage: $0 BINDIR [N [RUNS]]}
BIN=$(cd "$BIN" && pwd)
N=${2:-500}
RUNS=${3:-10000}
IDLE_S=${IDLE_S:-30}
command -v sqlite3 >/dev/null || { echo "scale: needs sqlite3" >&2; exit 2; }
[ $((N % 2)) -eq 0 ] && [ "$N" -ge 2 ] || { echo "scale: N must be even" >&2; exit 2; }
B=$((N / 2)); PER=$((RUNS / B)); RUNS=$((PER * B))
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true   # N connections at each end

NAME="sc$(( $$ % 10000 ))"
WORK=$(mktemp -d /tmp/cntb-sc.XXXXXX)
SIMPID=""
cleanup() {
  [ -n "$SIMPID" ] && kill "$SIMPID" 2>/dev/null && wait "$SIMPID" 2>/dev/null
  (cd "$WORK" && "$BIN/cntb" controller stop --testbed "$WORK/tb.json" >/dev/null 2>&1) || true
  rm -rf "$WORK" "/run/cntb/$NAME"
}
trap cleanup EXIT
export CNTB_DB="$WORK/sc.db"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
  printf '{ "name": "%s", "controller": { "address": "127.0.0.1", "port": %d },\n  "hosts": [\n' "$NAME" "$PORT"
  for ((i = 1; i <= N; i++)); do
    printf '    { "name": "sim%d", "kind": "bare-metal", "address": "198.18.%d.%d" }%s\n' \
      "$i" $((i / 250)) $((i % 250 + 1)) "$([ $i -lt $N ] && echo , || true)"
  done
  printf '  ]\n}\n'
} > "$WORK/tb.json"
TB="$WORK/tb.json"
cd "$WORK"
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
CPID=$(cat "/run/cntb/$NAME/controller.pid")
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }     # clock ticks
rss() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }  # KiB
q() { sqlite3 -batch -noheader "$CNTB_DB" "$1"; }
sleep 1
rss0=$(rss "$CPID")
"$BIN/cntb-agent" --controller "tcp://127.0.0.1:$PORT" --simulate "$N" 2> "$WORK/sim.log" &
SIMPID=$!
# all connected: the controller logs each HELLO; wait until N distinct hosts said it
for ((i = 0; i < 300; i++)); do
  n=$(grep -c 'agent sim[0-9]* connected' "/run/cntb/$NAME/controller.log" 2>/dev/null || true)
  [ "${n:-0}" -ge "$N" ] && break
  sleep 0.2
done
sleep 3
rss1=$(rss "$CPID")
# heartbeats only: IDLE_S seconds of N idle agents
c0=$(cpu "$CPID"); t0=$(date +%s%N)
sleep "$IDLE_S"
c1=$(cpu "$CPID"); t1=$(date +%s%N)
idle_pct=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v ns=$((t1 - t0)) 'BEGIN{printf "%.2f", 100 * c / hz / (ns / 1e9)}')

# the queue: B batches of PER runs, batch b on hosts sim(2b-1), sim(2b)
for ((b = 1; b <= B; b++)); do
  printf '{ "name": "s%d", "hosts": ["sim%d", "sim%d"], "fixed": { "network": "noop", "placement": "cross-host", "duration_s": 1 }, "repetitions": %d }\n' \
    "$b" $((2 * b - 1)) $((2 * b)) "$PER" > "$WORK/m$b.json"
done
c0=$(cpu "$CPID"); t0=$(date +%s%N)
for ((b = 1; b <= B; b++)); do "$BIN/cntb" queue add "$WORK/m$b.json" --testbed "$TB" >/dev/null; done
for ((i = 0; i < 36000; i++)); do
  left=$(q "SELECT count(*) FROM run WHERE state NOT IN ('done','failed','skipped')")
  total=$(q "SELECT count(*) FROM run")
  [ "$total" -ge "$RUNS" ] && [ "$left" -eq 0 ] && break
  sleep 1
done
c1=$(cpu "$CPID"); t1=$(date +%s%N)
done_n=$(q "SELECT count(*) FROM run WHERE state = 'done'")
other=$(q "SELECT group_concat(state || ':' || n) FROM (SELECT state, count(*) n FROM run WHERE state <> 'done' GROUP BY state)")
ms_run=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v n="$done_n" 'BEGIN{printf "%.3f", n ? 1000 * c / hz / n : 0}')
wall=$(awk -v ns=$((t1 - t0)) 'BEGIN{printf "%.1f", ns / 1e9}')
# due -> dispatched per run (ms): due = batch created or previous run of the batch finished
q "WITH r AS (SELECT r.started_at s, coalesce(lag(r.finished_at) OVER (PARTITION BY r.batch_id ORDER BY r.started_at), b.created_at) d
              FROM run r JOIN batch b ON b.id = r.batch_id WHERE r.started_at IS NOT NULL)
   SELECT (julianday(s) - julianday(d)) * 86400000 FROM r ORDER BY 1" > "$WORK/lat"
lat() { awk -v p="$1" '{v[NR]=$1} END{i=int(p*NR); if (i<1) i=1; if (i>NR) i=NR; printf "%.0f", v[i]}' "$WORK/lat"; }

echo "scale: $N simulated agents, $RUNS noop runs in $B batches of $PER ($done_n done${other:+, $other}) in $wall s"
printf '%-44s %12s   %s\n' "figure" "measured" "goal"
printf '%-44s %12s   %s\n' "controller CPU per run (ms)" "$ms_run" "<= 2"
printf '%-44s %12s   %s\n' "due -> dispatched, median (ms)" "$(lat 0.5)" "-"
printf '%-44s %12s   %s\n' "due -> dispatched, p95 (ms)" "$(lat 0.95)" "-"
printf '%-44s %12s   %s\n' "due -> dispatched, max (ms)" "$(lat 1)" "-"
printf '%-44s %12s   %s\n' "controller memory per agent (KiB)" "$(( (rss1 - rss0) / N ))" "-"
printf '%-44s %12s   %s\n' "controller RSS idle / with agents (KiB)" "$rss0/$rss1" "-"
printf '%-44s %12s   %s\n' "heartbeat CPU, $N idle agents, ${IDLE_S} s (% core)" "$idle_pct" "< 5"
