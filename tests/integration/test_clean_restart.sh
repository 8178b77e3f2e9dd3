#!/usr/bin/env bash
# test_clean_restart.sh — an agent SIGKILLed while a run of network overlay
# holds etcd keys and a cgroup, then restarted (issue 9, docs/faults.md "An
# agent dies"): on a 2-host emulated testbed (with etcd), one cross-host
# overlay run with cpu_pinning (duration_s 20, no retry).  While the run is in
# collect the test asserts that each host has its etcd keys below its own
# underlay address and that each container's cgroup exists with the core the
# agent pinned it to in cpuset.cpus; then it SIGKILLs h2's agent and checks
# that h2's leftovers stay (keys below h2's address, its container's cgroup,
# namespace and links) while h1's part is torn down by the controller; then
# it restarts h2's agent (cntb deploy) and asserts that the start-up
# cleanup removed them all and that its log line names the etcd keys (with
# their count) and the cgroup.  A later bridge run's result says in which
# cgroup version its containers ran (applied.cgroup).
# Usage: test_clean_restart.sh BINDIR.  Exit 77 = skipped (not root, no
# jq/sqlite3/curl/etcd, no cgroup cpuset hierarchy).  About 40 s.
set -euo pipefail
BIN=${1:?usage: $0 BINDIR}
BIN=$(cd "$BIN" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "test_clean_restart: skipped (needs root)"; exit 77; }
for t in jq sqlite3 curl; do command -v $t >/dev/null || { echo "test_clean_restart: skipped (needs $t)"; exit 77; }; done
[ -x /usr/bin/etcd ] || { echo "test_clean_restart: skipped (needs etcd-server)"; exit 77; }
# The cpuset hierarchy: v2 at /sys/fs/cgroup with cpuset offered, else v1's.
if grep -qw cpuset /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then CPUSET=/sys/fs/cgroup; CPUACCT=
else
  CPUSET=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpuset(,|$)/ {print $2; exit}' /proc/self/mounts)
  CPUACCT=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpuacct(,|$)/ && $4 !~ /(^|,)cpuset(,|$)/ {print $2; exit}' /proc/self/mounts)
fi
[ -n "$CPUSET" ] || { echo "test_clean_restart: skipped (no cgroup cpuset hierarchy)"; exit 77; }

NAME="cr$(( $$ % 10000 ))"
WORK=$(mktemp -d /tmp/cntb-cr.XXXXXX)
PASS=0 FAIL=0
cleanup() {
  (cd "$WORK" && "$BIN/cntb" controller stop --testbed "$WORK/$NAME.testbed.json" >/dev/null 2>&1) || true
  (cd "$WORK" && "$BIN/cntb" testbed destroy "$NAME" >/dev/null 2>&1) || true
  local d
  for d in "$CPUSET" $CPUACCT; do rmdir "$d/cntb-$NAME-"* 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"   # ok, fail, check, q, wait_for, wait_grep
keys() { # PREFIX: number of etcd keys below it
  local k e
  k=$(printf '%s' "$1" | base64 -w0)
  e=$(printf '%s' "${1%/}0" | base64 -w0)   # '/' + 1 = '0': the end of the prefix's range
  curl -s -m 3 "$ETCD/v3/kv/range" -d "{\"key\":\"$k\",\"range_end\":\"$e\",\"count_only\":true}" |
    jq -r '.count // "0"'
}
cgroups() { # PATTERN: cgroup dirs matching it in every hierarchy, one per line
  local d
  for d in "$CPUSET" $CPUACCT; do ls -d "$d"/$1 2>/dev/null || true; done
}

cd "$WORK"
export CNTB_DB="$WORK/cr.db"
"$BIN/cntb" testbed emulate --name "$NAME" --hosts 2 >/dev/null
TB="$WORK/$NAME.testbed.json"
ETCD=$(jq -r '.kv.endpoints[0]' "$TB")
A1=$(jq -r '.hosts[] | select(.name == "h1") | .address' "$TB")
A2=$(jq -r '.hosts[] | select(.name == "h2") | .address' "$TB")
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
"$BIN/cntb" deploy "$TB" >/dev/null
AGLOG="/var/lib/cntb/$NAME/h2/agent.log"

cat > o.json <<'JSON'
{ "name": "o", "hosts": ["h1", "h2"], "fixed": { "network": "overlay", "placement": "cross-host",
  "traffic": "tcp_stream", "duration_s": 20, "cpu_pinning": true }, "retries": 0 }
JSON
"$BIN/cntb" queue add o.json --testbed "$TB" >/dev/null
check "o: run in collect" wait_for 60 "SELECT count(*) = 1 FROM run WHERE state = 'collect'"
RUN=$(q "SELECT id FROM run WHERE state = 'collect'")
P="/cntb/$NAME/overlay/$RUN"
check "h1 has its etcd keys below $A1 (map + ack)" test "$(keys "$P/$A1/")" = 2
check "h2 has its etcd keys below $A2 (map + ack)" test "$(keys "$P/$A2/")" = 2
for ((i = 0; i < 25; i++)); do # the client starts right after the server
  CG=$(cgroups "cntb-$NAME-$RUN-*" | xargs -rn1 basename | sort -u | tr '\n' ' ')
  [ "$CG" = "cntb-$NAME-$RUN-client cntb-$NAME-$RUN-server " ] && break; sleep 0.2
done
check "both containers have a cgroup: $CG" test "$CG" = "cntb-$NAME-$RUN-client cntb-$NAME-$RUN-server "
pinned_ok() { # ROLE: cpuset.cpus of its cgroup is one core, the one its traffic process may use
  local cg="$CPUSET/cntb-$NAME-$RUN-$1" cpus pid aff
  cpus=$(cat "$cg/cpuset.cpus")
  pid=$(head -n1 "$cg/cgroup.procs")
  [ -n "$pid" ] || return 1
  aff=$(awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$pid/status")
  echo "# $1: cpuset.cpus $cpus, pid $pid ($(tr '\0' ' ' < "/proc/$pid/cmdline" | cut -c1-40)), allowed $aff"
  [[ "$cpus" =~ ^[0-9]+$ ]] && [ "$aff" = "$cpus" ] && grep -q cntb-traffic "/proc/$pid/cmdline"
}
check "client cgroup pinned to one core, its traffic process inside" pinned_ok client
check "server cgroup pinned to one core, its traffic process inside" pinned_ok server
if [ -n "$CPUACCT" ]; then
  check "the client's cpuacct cgroup holds the same process" test \
    "$(head -n1 "$CPUACCT/cntb-$NAME-$RUN-client/cgroup.procs")" = "$(head -n1 "$CPUSET/cntb-$NAME-$RUN-client/cgroup.procs")"
fi
# Which container h2 holds is the controller's choice; h2's journal names it.
ROLE2=$(awk '{print $1}' "/var/lib/cntb/$NAME/h2/run-$RUN")
check "h2's journal names its container ($ROLE2)" test -n "$ROLE2"

kill -9 "$(cat "/var/lib/cntb/$NAME/h2/agent.pid")"
check "the run fails: agent lost" wait_for 20 \
  "SELECT count(*) = 1 FROM run WHERE id = $RUN AND state = 'failed' AND reason LIKE 'agent lost: host h2 silent during %'"
check "h1's keys went with its teardown" test "$(keys "$P/$A1/")" = 0
check "h1's container cgroup went with its teardown" test -z "$(cgroups "cntb-$NAME-$RUN-*" | grep -v -- "-$ROLE2\$" || true)"
check "h2's keys stay while its agent is dead" test "$(keys "$P/$A2/")" = 2
check "h2's cgroup stays while its agent is dead" test -n "$(cgroups "cntb-$NAME-$RUN-$ROLE2")"
check "h2's namespace and links stay while its agent is dead" test \
  -n "$(ip netns list | grep "^cntb-$NAME-$RUN-$ROLE2" || true)" -a \
  -n "$(ip -n "cntb-$NAME-h2" -o link | grep "cntb$RUN-" || true)"

"$BIN/cntb" deploy "$TB" >/dev/null
check "the restarted agent reports the cleanup" wait_grep 20 "removed leftovers of .*run $RUN" "$AGLOG"
line=$(grep "removed leftovers of .*run $RUN" "$AGLOG" | tail -n1)
echo "# ${line#*cntb }"
check "the log line names h2's etcd keys and their count" grep -qF "etcd keys $P/$A2/: 2" <<< "$line"
check "the log line names h2's cgroup" grep -qF "cgroup cntb-$NAME-$RUN-$ROLE2" <<< "$line"
check "no etcd key of run $RUN left" test "$(keys "$P/")" = 0
check "no cgroup of run $RUN left" test -z "$(cgroups "cntb-$NAME-$RUN-*")"
check "no namespace of run $RUN left" test -z "$(ip netns list | grep "^cntb-$NAME-$RUN-" || true)"
check "no link of run $RUN left on h2" test -z "$(ip -n "cntb-$NAME-h2" -o link | grep "cntb$RUN-" || true)"
check "h2's journal is empty" test -z "$(ls "/var/lib/cntb/$NAME/h2" | grep '^run-' || true)"

# A run's result says which cgroups its containers had.
cat > b.json <<'JSON'
{ "name": "b", "hosts": ["h1"], "fixed": { "network": "bridge", "placement": "same-host",
  "traffic": "tcp_stream", "duration_s": 0.3 } }
JSON
"$BIN/cntb" run b.json --testbed "$TB" > b.out 2>&1 || cat b.out
want=v1; [ "$CPUSET" = /sys/fs/cgroup ] && want=v2
got=$(q "SELECT json_extract(raw_json, '\$.applied.cgroup') FROM result WHERE run_id = (SELECT max(id) FROM run WHERE state = 'done')")
check "the bridge run's result says applied.cgroup = $want ($got)" test "$got" = "$want"
check "no cgroup of the testbed left" test -z "$(cgroups "cntb-$NAME-*")"

"$BIN/cntb" controller stop --testbed "$TB" >/dev/null || true
"$BIN/cntb" testbed destroy "$NAME" >/dev/null
check "no namespace of testbed $NAME left" test -z "$(ip netns list | grep -E "^cntb-$NAME-" || true)"
echo "test_clean_restart: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
