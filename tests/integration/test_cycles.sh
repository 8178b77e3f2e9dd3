#!/usr/bin/env bash
# test_cycles.sh — many setup/teardown cycles in a row (issue 9,
# docs/faults.md "Many cycles"): on a 2-host emulated testbed, N short runs
# (network bridge, same-host, duration_s 0.2), as a first matrix of 10
# repetitions and a second of N-10.  After run 10 and after run N it records
# the open file descriptors (entries of /proc/PID/fd) and the resident memory
# (VmRSS of /proc/PID/status) of the controller and of h1's agent, and asserts
#   - fds flat: at the end at most 2 more than after run 10 (slack for a
#     socket or log file the kernel/czmq may be between closing and opening);
#   - RSS flat: the agent's growth under 2 MiB, the controller's under 2 MiB
#     plus SQLite's page cache: it fills as the database and its WAL grow,
#     up to cache_size (default -2000 = 2000 KiB, sqlite.org/pragma.html
#     #pragma_cache_size): measured with gdb (sqlite3_memory_used) it is
#     ~3.5 KiB per bridge run, the rest of the controller's growth ~1.5 KiB
#     per run (malloc arena).  So a leak per run (a params object, a
#     netkind context, a traffic output, a zsock) fails it from ~80 KiB per
#     run at N = 60 and from ~20 KiB per run at N = 200 (fds catch a leaked
#     socket or pipe at once);
#   - no namespace, no link in the host namespaces, no nft table, no BIRD
#     or QEMU process of the testbed, no cgroup cntb-<testbed>-* in any
#     cgroup hierarchy and no etcd key of any run is left;
#   - a run of network noop (simulated agents only) is skipped with the reason.
# Usage: test_cycles.sh BINDIR [N].  N = runs in all (>= 20; default 60, so
# the test stays under ~2.5 minutes in CI).  The issue's 200 cycles:
#     sudo tests/integration/test_cycles.sh build/bin 200
# Exit 77 = skipped (not root, no jq/sqlite3/nft).
set -euo pipefail
BIN=${1:?usage: $0 BINDIR [N]}
BIN=$(cd "$BIN" && pwd)
N=${2:-60}
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 20 ] || { echo "test_cycles: N must be an integer >= 20" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "test_cycles: skipped (needs root)"; exit 77; }
for t in jq sqlite3 nft; do command -v $t >/dev/null || { echo "test_cycles: skipped (needs $t)"; exit 77; }; done

NAME="cy$(( $$ % 10000 ))"
WORK=$(mktemp -d /tmp/cntb-cy.XXXXXX)
PASS=0 FAIL=0
cleanup() {
  (cd "$WORK" && "$BIN/cntb" testbed destroy "$NAME" >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"   # ok, fail, check, q, wait_for, wait_grep
fds() { ls "/proc/$1/fd" | wc -l; }
rss() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }   # KiB
etcd_keys() { # number of keys under /cntb/NAME/ (0 when the testbed has no etcd)
  local url k e
  url=$(jq -r '.kv.endpoints[0] // empty' "$TB")
  [ -n "$url" ] && command -v curl >/dev/null || { echo 0; return; }
  k=$(printf '/cntb/%s/' "$NAME" | base64 -w0)
  e=$(printf '/cntb/%s0' "$NAME" | base64 -w0)
  curl -s -m 3 "$url/v3/kv/range" -d "{\"key\":\"$k\",\"range_end\":\"$e\",\"count_only\":true}" |
    jq -r '.count // "0"'
}
matrix() { # NAME REPETITIONS
  cat > "$WORK/$1.json" <<JSON
{ "name": "$1", "fixed": { "network": "bridge", "placement": "same-host",
  "traffic": "tcp_stream", "duration_s": 0.2 }, "repetitions": $2 }
JSON
}

cd "$WORK"
export CNTB_DB="$WORK/cy.db"
"$BIN/cntb" testbed emulate --name "$NAME" --hosts 2 >/dev/null
TB="$WORK/$NAME.testbed.json"
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
"$BIN/cntb" deploy "$TB" >/dev/null
CPID=$(cat "/run/cntb/$NAME/controller.pid")
APID=$(cat "/var/lib/cntb/$NAME/h1/agent.pid")

t0=$(date +%s)
matrix first 10
"$BIN/cntb" run "$WORK/first.json" --testbed "$TB" > "$WORK/run1.out" 2>&1 || { cat "$WORK/run1.out"; fail "first matrix ran"; }
check "10 runs done" test "$(q "SELECT count(*) FROM run WHERE state = 'done'")" -eq 10
c_fd10=$(fds "$CPID") c_rss10=$(rss "$CPID") a_fd10=$(fds "$APID") a_rss10=$(rss "$APID")
matrix rest $((N - 10))
"$BIN/cntb" run "$WORK/rest.json" --testbed "$TB" > "$WORK/run2.out" 2>&1 || { cat "$WORK/run2.out"; fail "second matrix ran"; }
check "$N runs done" test "$(q "SELECT count(*) FROM run WHERE state = 'done'")" -eq "$N"
c_fd=$(fds "$CPID") c_rss=$(rss "$CPID") a_fd=$(fds "$APID") a_rss=$(rss "$APID")
echo "# $N cycles in $(( $(date +%s) - t0 )) s"
echo "# controller: fds $c_fd10 -> $c_fd, VmRSS $c_rss10 -> $c_rss KiB (after run 10 -> after run $N)"
echo "# agent h1:   fds $a_fd10 -> $a_fd, VmRSS $a_rss10 -> $a_rss KiB"
echo "# database: $(( $(stat -c %s "$CNTB_DB") / 1024 )) KiB (+ WAL $(( $(stat -c %s "$CNTB_DB-wal" 2>/dev/null || echo 0) / 1024 )) KiB)"
check "controller fds flat ($c_fd10 -> $c_fd)" test "$c_fd" -le $((c_fd10 + 2))
check "agent fds flat ($a_fd10 -> $a_fd)" test "$a_fd" -le $((a_fd10 + 2))
check "controller RSS growth under 2 MiB + 2000 KiB SQLite cache ($((c_rss - c_rss10)) KiB)" \
  test $((c_rss - c_rss10)) -lt $((2048 + 2000))
check "agent RSS growth under 2 MiB ($((a_rss - a_rss10)) KiB)" test $((a_rss - a_rss10)) -lt 2048

check "no run namespace left" test -z "$(ip netns list | awk '{print $1}' | grep -E "^cntb-$NAME-[0-9]+-" || true)"
for h in h1 h2; do
  ns="cntb-$NAME-$h"
  check "no run link left on $h" test -z "$(ip -n "$ns" -o link | grep -E 'cntb[0-9]+-' || true)"
  check "no nft table of a run on $h" test -z "$(ip netns exec "$ns" nft list tables | grep -E 'cntb[0-9]+' || true)"
done
check "no BIRD of the testbed left" test -z "$(pgrep -f "/run/cntb/$NAME/bird-" || true)"
# QEMU's console file lies in the testbed's run dir (node-agent/vm.c).
check "no QEMU of the testbed left" test -z "$(pgrep -f "qemu-system.*/run/cntb/$NAME/" || true)"
cgroups_left() { # cgroups cntb-NAME-* at the top of every mounted hierarchy (agent_cgroup.h)
  awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/self/mounts |
    while read -r d; do ls -d "$d/cntb-$NAME-"* 2>/dev/null || true; done
}
check "no cgroup of the testbed left" test -z "$(cgroups_left)"
check "no etcd key of the testbed left" test "$(etcd_keys)" = 0
# noop is for simulated agents only: real agents never announce it.
cat > "$WORK/noop.json" <<'JSON'
{ "name": "noop", "fixed": { "network": "noop", "placement": "same-host" }, "timeouts": { "lease_s": 5 } }
JSON
"$BIN/cntb" run "$WORK/noop.json" --testbed "$TB" > "$WORK/run3.out" 2>&1 || true
check "a noop run on real agents is skipped with the reason" test \
  "$(q "SELECT state || ': ' || reason FROM run WHERE json_extract(params_json, '\$.network') = 'noop'")" = \
  "skipped: host h1 cannot build network noop: not implemented by its agent"
check "no traffic process left" test -z "$(pgrep -f "$BIN/cntb-traffic (server|client)" || true)"

echo "test_cycles: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
