#!/usr/bin/env bash
# test_netkinds.sh — every intra-host network kind end to end on a 2-host
# emulated testbed, 1 s runs: none, container, bridge (2 pairs, pinned),
# macvlan bridge same-host and cross-host, macvlan vepa/source cross-host
# (traffic passes, throughput above a floor, setup_ms probed, clean
# teardown), and the skips with their reasons: macvlan private same-host
# (refused by the agent) and ipvlan (the kernel has none here, or a mode
# refused).  Usage: test_netkinds.sh BINDIR.  Exit 77 = skipped (not root).
set -euo pipefail
BIN=${1:?usage: $0 BINDIR}
BIN=$(cd "$BIN" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "test_netkinds: skipped (needs root)"; exit 77; }
command -v jq >/dev/null && command -v sqlite3 >/dev/null || { echo "needs jq and sqlite3"; exit 77; }

NAME="nk$(( $$ % 10000 ))"
WORK=$(mktemp -d /tmp/cntb-nk.XXXXXX)
PASS=0 FAIL=0
cleanup() {
  (cd "$WORK" && "$BIN/cntb" testbed destroy "$NAME" >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"   # ok, fail, check, q, wait_for, wait_grep
gt() { awk -v v="$1" -v lo="$2" 'BEGIN{exit !(v+0 > lo+0)}'; }

cd "$WORK"
export CNTB_DB="$WORK/nk.db"
"$BIN/cntb" testbed emulate --name "$NAME" --hosts 2 >/dev/null
TB="$WORK/$NAME.testbed.json"
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
"$BIN/cntb" deploy "$TB" >/dev/null

# One matrix, points listed explicitly through exclusions would be long:
# run several small matrices in one batch each instead.
runm() { # name json
  echo "$2" > "$WORK/$1.json"
  "$BIN/cntb" run "$WORK/$1.json" --testbed "$TB" > "$WORK/$1.out" 2>&1 || true
}
runm done1 '{"fixed":{"traffic":"tcp_stream","size":16384,"duration_s":1},
  "vary":{"network":["none","container","macvlan"]}}'
runm pairs '{"fixed":{"traffic":"tcp_stream","size":16384,"duration_s":1,"network":"bridge","pairs":2,"cpu_pinning":true}}'
# The connection limit (pairs x streams = 1024): the agent keeps beating while
# it starts 16 servers and 16 clients, so the run is done, not "agent lost".
runm many '{"fixed":{"traffic":"tcp_stream","duration_s":1,"network":"bridge","pairs":16,"streams":64}}'
runm cross '{"fixed":{"traffic":"tcp_stream","size":16384,"duration_s":1,"network":"macvlan","placement":"cross-host"},
  "vary":{"macvlan_mode":["bridge","vepa","source","private"]}}'
runm skips '{"fixed":{"traffic":"tcp_stream","duration_s":1},
  "vary":{"network":["macvlan","ipvlan"],"macvlan_mode":["private"]}}'

q "SELECT id, state, json_extract(params_json,'\$.network'), json_extract(params_json,'\$.placement'), json_extract(params_json,'\$.macvlan_mode'), coalesce(reason,'') FROM run ORDER BY id"
thr() { q "SELECT m.value FROM metric m WHERE m.run_id=$1 AND m.name='$2'"; }
for id in $(q "SELECT id FROM run WHERE NOT (json_extract(params_json,'\$.network')='ipvlan' OR (json_extract(params_json,'\$.macvlan_mode')='private' AND json_extract(params_json,'\$.placement')='same-host' AND json_extract(params_json,'\$.network')='macvlan'))"); do
  desc=$(q "SELECT json_extract(params_json,'\$.network')||' '||json_extract(params_json,'\$.placement')||' '||json_extract(params_json,'\$.macvlan_mode') FROM run WHERE id=$id")
  check "run $id ($desc) done" test "$(q "SELECT state FROM run WHERE id=$id")" = done
  check "run $id ($desc) throughput above 10 Mbit/s" gt "$(thr "$id" throughput_bps)" 1e7
  check "run $id ($desc) setup_ms probed and stored" gt "$(thr "$id" setup_ms)" 0
done
pid=$(q "SELECT id FROM run WHERE json_extract(params_json,'\$.pairs')=2")
raw=$(q "SELECT raw_json FROM result WHERE run_id=$pid")
check "pairs: two per-pair results" test "$(echo "$raw" | jq '.pairs | length')" -eq 2
check "pairs: sum equals the pairs' throughput" test "$(echo "$raw" | jq '((.metrics.throughput_bps - ([.pairs[].throughput_bps]|add))|fabs) < 1')" = true
check "cpu pinning: cores recorded" test "$(echo "$raw" | jq '.applied.cpus.client | length')" -eq 2
r=$(q "SELECT state||'|'||reason FROM run WHERE json_extract(params_json,'\$.network')='macvlan' AND json_extract(params_json,'\$.placement')='same-host' AND json_extract(params_json,'\$.macvlan_mode')='private'")
check "macvlan private same-host skipped with reason ($r)" grep -q "^skipped|.*never exchange" <<<"$r"
r=$(q "SELECT state||'|'||reason FROM run WHERE json_extract(params_json,'\$.network')='ipvlan'")
check "ipvlan skipped with the kernel's reason ($r)" grep -q "^skipped|.*ipvlan" <<<"$r"
check "no run namespace left" test -z "$(ip netns list | grep "^cntb-$NAME-[0-9]" || true)"
for h in h1 h2; do
  check "no run link left on $h" test -z "$(ip -n "cntb-$NAME-$h" -o link | grep -E 'cntb[0-9]+-' || true)"
done
echo "test_netkinds: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
