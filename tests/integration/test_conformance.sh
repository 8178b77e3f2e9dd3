#!/usr/bin/env bash
# test_conformance.sh — every network × traffic kind × placement × pairs ×
# engine that testbed/matrices/conformance.json allows, on a 2-host emulated
# testbed, 1 s runs (issue 14): each run must be `done` with a non-zero main
# figure (throughput_bps for the stream kinds, transactions_per_s for the
# request/response kinds) and no `invalid` flag, or `skipped` with a reason
# that names what is missing (a kernel without the device, a mode or pair
# count the network refuses).  No run may fail.  Prints the conformance table
# (network, placement, traffic, engine, pairs, direction → state and figure).
# Usage: test_conformance.sh BINDIR.  Exit 77 = skipped (not root, no jq).
set -euo pipefail
BIN=${1:?usage: $0 BINDIR}
BIN=$(cd "$BIN" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "test_conformance: skipped (needs root)"; exit 77; }
command -v jq >/dev/null && command -v sqlite3 >/dev/null || { echo "needs jq and sqlite3"; exit 77; }

NAME="cf$(( $$ % 10000 ))"
WORK=$(mktemp -d /tmp/cntb-cf.XXXXXX)
PASS=0 FAIL=0
cleanup() {
  (cd "$WORK" && "$BIN/cntb" testbed destroy "$NAME" >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"   # ok, fail, check, q, wait_for, wait_grep

cd "$WORK"
export CNTB_DB="$WORK/cf.db"
"$BIN/cntb" testbed emulate --name "$NAME" --hosts 2 >/dev/null
TB="$WORK/$NAME.testbed.json"
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
"$BIN/cntb" deploy "$TB" >/dev/null

M="$SRC/testbed/matrices/conformance.json"
total=$("$BIN/cntb" matrix expand "$M" --format json | jq length)
t0=$(date +%s)
set +e
"$BIN/cntb" run "$M" --testbed "$TB" > "$WORK/run.out" 2>&1
rc=$?
set -e
echo "# $total runs in $(( $(date +%s) - t0 )) s, cntb run exit $rc"

P="json_extract(r.params_json, '\$.%s')"
row=""
for k in network placement traffic engine pairs direction; do
  row="$row ifnull($(printf "$P" "$k"), '-') || ' | ' ||"
done
# The conformance table: one line per run.
echo "# network | placement | traffic | engine | pairs | direction | state | figure | flags | reason"
q "SELECT $row r.state || ' | ' ||
          ifnull((SELECT printf('%.4g', value) FROM metric m WHERE m.run_id = r.id AND
                  m.name IN ('throughput_bps', 'transactions_per_s') ORDER BY m.name LIMIT 1), '-')
          || ' | ' || ifnull((SELECT group_concat(flag) FROM run_flag f WHERE f.run_id = r.id), '-')
          || ' | ' || ifnull(r.reason, '')
   FROM run r ORDER BY r.idx" | sed 's/^/# /'

check "every run of the matrix is stored ($total)" test "$(q 'SELECT count(*) FROM run')" -eq "$total"
failed=$(q "SELECT count(*) FROM run WHERE state NOT IN ('done', 'skipped')")
check "no run failed or unfinished ($failed)" test "$failed" -eq 0
q "SELECT '  not done: run ' || id || ' ' || state || ': ' || ifnull(reason, '') FROM run
   WHERE state NOT IN ('done', 'skipped')"
# A done run measured something: the main figure of its kind is above zero.
zero=$(q "SELECT count(*) FROM run r WHERE r.state = 'done' AND NOT EXISTS (
            SELECT 1 FROM metric m WHERE m.run_id = r.id AND m.value > 0 AND m.name =
            CASE WHEN $(printf "$P" traffic) IN ('tcp_stream', 'udp_stream')
                 THEN 'throughput_bps' ELSE 'transactions_per_s' END)")
check "every done run has a non-zero throughput or transaction rate ($zero without)" test "$zero" -eq 0
inv=$(q "SELECT count(*) FROM run_flag f JOIN run r ON r.id = f.run_id WHERE r.state = 'done' AND f.flag = 'invalid'")
check "no done run is flagged invalid ($inv)" test "$inv" -eq 0
# A skip names what is missing: the kernel's refusal, or the network's rule.
# Here: the kernel has no ipvlan ("cannot build network ipvlan: the kernel refuses ..."),
# and the cross-host kinds build one pair per run ("... builds one client/server pair").
badskip=$(q "SELECT count(*) FROM run WHERE state = 'skipped' AND (reason IS NULL OR NOT (
               reason LIKE '%cannot build network%' OR reason LIKE '%one client/server pair%'))")
check "every skip names what is missing ($badskip do not)" test "$badskip" -eq 0
q "SELECT DISTINCT '  skipped: ' || $(printf "$P" network) || ' ' || $(printf "$P" placement) || ': '
   || reason FROM run r WHERE state = 'skipped'"
done_n=$(q "SELECT count(*) FROM run WHERE state = 'done'")
# What must run here: every network but ipvlan (no driver in this kernel) with every kind.
for net in none host container bridge macvlan nat overlay routing; do
  n=$(q "SELECT count(*) FROM run r WHERE state = 'done' AND $(printf "$P" network) = '$net'")
  check "$net: some runs done ($n)" test "$n" -gt 0
done
for t in tcp_stream udp_stream tcp_rr udp_rr tcp_crr; do
  n=$(q "SELECT count(*) FROM run r WHERE state = 'done' AND $(printf "$P" network) = 'nat' AND $(printf "$P" traffic) = '$t'")
  check "nat carries $t ($n done)" test "$n" -gt 0
done
check "udp_stream download through nat is done" \
  test "$(q "SELECT count(*) FROM run r WHERE state = 'done' AND $(printf "$P" network) = 'nat' AND $(printf "$P" traffic) = 'udp_stream' AND $(printf "$P" direction) = 'download'")" -eq 1
echo "# $done_n done, $(q "SELECT count(*) FROM run WHERE state = 'skipped'") skipped"

"$BIN/cntb" testbed destroy "$NAME" > /dev/null
check "no namespace left" test -z "$(ip netns list | grep -- "cntb-$NAME-" || true)"
echo "test_conformance: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
