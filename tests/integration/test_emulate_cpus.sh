#!/usr/bin/env bash
# test_emulate_cpus.sh — `cntb testbed emulate --cpus` and `cntb demo --cpus`
# (docs/testbed.md, "Emulated testbeds: what cross-host numbers mean"):
# bad lists are refused with exit 2 before anything is built; a testbed
# emulated with --cpus C has its sshds, its agents and the traffic engines
# on CPU C only, the controller unconfined, the host metadata records
# cpu.allowed = C, and a cross-host tcp_stream of network host on that one
# CPU keeps its flow in order (retransmits near 0; with two CPUs the veth
# reordered it into hundreds of spurious retransmissions per second).
# Usage: test_emulate_cpus.sh BINDIR.  Exit 77 = skipped (not root).
set -euo pipefail
BIN=${1:?usage: $0 BINDIR}
BIN=$(cd "$BIN" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "test_emulate_cpus: skipped (needs root)"; exit 77; }
command -v jq >/dev/null && command -v sqlite3 >/dev/null || { echo "needs jq and sqlite3"; exit 77; }

NAME="cp$(( $$ % 10000 ))"
WORK=$(mktemp -d /tmp/cntb-cpus.XXXXXX)
PASS=0 FAIL=0
cleanup() {
  (cd "$WORK" && "$BIN/cntb" testbed destroy "$NAME" >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ok()   { PASS=$((PASS+1)); echo "ok - $*"; }
fail() { FAIL=$((FAIL+1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
allowed() { awk '/^Cpus_allowed_list/ {print $2}' "/proc/$1/status"; }

cd "$WORK"
export CNTB_DB="$WORK/cpus.db"
# The highest CPU this shell may use, and one it may not.
MINE=$(allowed $$)
CPU=$(echo "$MINE" | tr ',' '\n' | tail -1 | sed 's/.*-//')
NOPE=$((CPU + 1))

set +e
"$BIN/cntb" testbed emulate --name "$NAME" --hosts 2 --cpus "$NOPE" > out 2> err; rc=$?
set -e
check "--cpus with a CPU we may not use: exit 2" test "$rc" -eq 2
check "... and the message names it" grep -q -- "--cpus: CPU $NOPE is not one this process may use ($MINE)" err
for bad in "" "1-" "x" "3-1" "0,,1"; do
  set +e; "$BIN/cntb" testbed emulate --name "$NAME" --hosts 2 --cpus "$bad" > out 2> err; rc=$?; set -e
  check "--cpus \"$bad\": exit 2 with one line" test "$rc" -eq 2 -a "$(wc -l < err)" -eq 1
done
check "nothing was built" test -z "$(ip netns list | grep -- "cntb-$NAME-" || true)"
set +e; "$BIN/cntb" demo --name "$NAME" --cpus "$NOPE" > out 2> err; rc=$?; set -e
check "demo --cpus refused the same way: exit 2" test "$rc" -eq 2
check "cntb testbed --help documents --cpus" sh -c "'$BIN/cntb' testbed --help | grep -q -- '--cpus LIST'"
check "cntb demo --help documents --cpus" sh -c "'$BIN/cntb' demo --help | grep -q -- '--cpus LIST'"

"$BIN/cntb" testbed emulate --name "$NAME" --hosts 2 --cpus "$CPU" > out
check "emulate says where the hosts run" grep -q "hosts on CPU $CPU" out
TB="$WORK/$NAME.testbed.json"
for h in h1 h2; do
  pid=$(cat "/run/cntb/$NAME/sshd-$h.pid")
  check "sshd of $h on CPU $CPU only" test "$(allowed "$pid")" = "$CPU"
done
check "this shell is not confined" test "$(allowed $$)" = "$MINE"
"$BIN/cntb" controller start --testbed "$TB" > /dev/null
"$BIN/cntb" deploy "$TB" > /dev/null
cpid=$(cat "/run/cntb/$NAME/controller.pid")
check "the controller is not confined" test "$(allowed "$cpid")" = "$MINE"
apid=$(pgrep -f "/var/lib/cntb/$NAME/h1/cntb-agent" | head -1)
check "agent of h1 on CPU $CPU only" test -n "$apid" -a "$(allowed "${apid:-1}")" = "$CPU"

cat > m.json <<'JSON'
{ "name": "cpus", "fixed": { "traffic": "tcp_stream", "size": 16384, "duration_s": 2,
  "network": "host", "placement": "cross-host" } }
JSON
set +e; "$BIN/cntb" run m.json --testbed "$TB" > run.out 2>&1; rc=$?; set -e
cat run.out
check "the run is done" test "$rc" -eq 0
q() { sqlite3 -batch -noheader "$CNTB_DB" "$1"; }
check "metadata cpu.allowed of h1 and h2 is $CPU" \
  test "$(q "SELECT group_concat(json_extract(meta_json, '\$.cpu.allowed')) FROM (SELECT meta_json FROM host_meta ORDER BY host)")" = "$CPU,$CPU"
retr=$(q "SELECT CAST(value AS INTEGER) FROM metric WHERE name = 'retransmits'")
check "one CPU: the flow stays in order (retransmits $retr <= 20)" test "${retr:-999}" -le 20
check "throughput above 100 Mbit/s" \
  test "$(q "SELECT value > 1e8 FROM metric WHERE name = 'throughput_bps'")" = 1

"$BIN/cntb" testbed destroy "$NAME" > /dev/null
# The fair setting is the default: without --cpus the hosts share one CPU, the highest.
"$BIN/cntb" testbed emulate --name "$NAME" --hosts 1 > out
check "emulate without --cpus: hosts on CPU $CPU (the default)" grep -q "hosts on CPU $CPU)" out
check "...sshd of h1 on CPU $CPU only" test "$(allowed "$(cat "/run/cntb/$NAME/sshd-h1.pid")")" = "$CPU"
"$BIN/cntb" testbed destroy "$NAME" > /dev/null
"$BIN/cntb" testbed emulate --name "$NAME" --hosts 1 --cpus all > out
check "--cpus all: the hosts are not confined" \
  test "$(allowed "$(cat "/run/cntb/$NAME/sshd-h1.pid")")" = "$MINE" -a -z "$(grep 'hosts on CPU' out || true)"
"$BIN/cntb" testbed destroy "$NAME" > /dev/null
check "no namespace left" test -z "$(ip netns list | grep -- "cntb-$NAME-" || true)"
check "no link left" test -z "$(ip -o link | grep -- "cntb-$NAME-" || true)"
check "no process left" test -z "$(pgrep -f "cntb/$NAME/" || true)"
echo "test_emulate_cpus: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
