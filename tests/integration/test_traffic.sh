#!/bin/bash
# test_traffic.sh — integration test of cntb-traffic (tcp_stream) on the
# loopback of a network namespace this test makes and removes.
#
# usage: test_traffic.sh BINDIR     (BINDIR holds cntb-traffic)
# exit: 0 all passed, 1 some failed, 77 skipped (not root, no ip/jq).
set -euo pipefail

BIN=${1:?usage: test_traffic.sh BINDIR}
TRAFFIC=$BIN/cntb-traffic
NS=cntb-ttest-$$
PORT=5301
passed=0
failed=0

if [ "$(id -u)" -ne 0 ]; then
    echo "test_traffic: skipped: needs root" >&2
    exit 77
fi
for tool in ip jq timeout; do
    if ! command -v "$tool" >/dev/null; then
        echo "test_traffic: skipped: $tool is missing" >&2
        exit 77
    fi
done
[ -x "$TRAFFIC" ] || { echo "test_traffic: $TRAFFIC is not an executable" >&2; exit 1; }

TMP=$(mktemp -d /tmp/test_traffic.XXXXXX)
SERVER_PID=

cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    # Anything else still inside our namespace (only ours) goes too.
    for pid in $(ip netns pids "$NS" 2>/dev/null); do
        kill "$pid" 2>/dev/null || true
    done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap "exit 130" INT TERM   # so that the EXIT trap runs on a signal too

ok() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1" >&2; }
check() {  # check DESCRIPTION COMMAND...: passes when the command succeeds
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}
in_ns() { ip netns exec "$NS" "$@"; }
jqck() { jq -e "$@" >/dev/null; }  # jqck FILTER [ARGS...]: the filter yields true

ip netns add "$NS"
ip -n "$NS" link set lo up

# Server: its first stdout line, read from a file, says it listens.
# Not through in_ns: $! must be the server itself (ip netns exec execs it).
ip netns exec "$NS" "$TRAFFIC" server --bind 127.0.0.1 --port "$PORT" \
    >"$TMP/server.out" 2>"$TMP/server.err" &
SERVER_PID=$!
listening=
for _ in $(seq 50); do
    if [ -s "$TMP/server.out" ] && head -n1 "$TMP/server.out" | grep -q .; then
        listening=$(head -n1 "$TMP/server.out")
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$listening" ]; then
    fail "server did not announce listening within 5 s: $(cat "$TMP/server.err")"
    echo "test_traffic: $passed passed, $failed failed"
    exit 1
fi
check "listening line" jqck --argjson p "$PORT" \
    '.event == "listening" and .address == "127.0.0.1" and .port == $p' <<<"$listening"

# A 2-second run with 2 streams of 16384-byte sends.
rc=0
timeout 30 ip netns exec "$NS" "$TRAFFIC" client --server 127.0.0.1 --port "$PORT" \
    --duration 2 --streams 2 --size 16384 >"$TMP/client.json" 2>"$TMP/client.err" || rc=$?
check "client exits 0 (got $rc: $(cat "$TMP/client.err"))" test "$rc" -eq 0
check "stdout is exactly one JSON object" \
    test "$(jq -s 'length' "$TMP/client.json" 2>/dev/null || echo 0)" -eq 1
R=$TMP/client.json
check "throughput_bps in [1e7, 1e12]" \
    jqck '.metrics.throughput_bps >= 1e7 and .metrics.throughput_bps <= 1e12' "$R"
check "2 or 3 samples" jqck '(.samples | length) as $n | $n == 2 or $n == 3' "$R"
check "applied.mss > 0" jqck '.applied.mss > 0' "$R"
check "streams == 2" jqck '.streams == 2' "$R"
check "no sample above 1.5 x the total" \
    jqck '.metrics.throughput_bps as $t | all(.samples[]; .throughput_bps <= 1.5 * $t)' "$R"
check "header fields" jqck '.version == 1 and .traffic == "tcp_stream" and .size == 16384' "$R"
check "pps = bps / 8 / size" jqck \
    '((.metrics.throughput_pps - .metrics.throughput_bps / 8 / 16384) | fabs) < 1' "$R"
echo "loopback throughput: $(jq -r '.metrics.throughput_bps / 1e9 * 100 | floor / 100' "$R") Gbit/s"

# Bad values: exit 2 and a one-line message.
for bad in "--size 0" "--duration -1"; do
    rc=0
    # shellcheck disable=SC2086  # $bad is two words on purpose
    in_ns "$TRAFFIC" client --server 127.0.0.1 --port "$PORT" $bad \
        >"$TMP/bad.out" 2>"$TMP/bad.err" || rc=$?
    check "$bad: exit 2 (got $rc)" test "$rc" -eq 2
    check "$bad: message on stderr" grep -q '^cntb-traffic: ' "$TMP/bad.err"
    check "$bad: nothing on stdout" test ! -s "$TMP/bad.out"
done

# Nobody listens on PORT+1: a non-zero exit within 5 s.
rc=0
start=$(date +%s%N)
timeout 5 ip netns exec "$NS" "$TRAFFIC" client --server 127.0.0.1 --port $((PORT + 1)) \
    --duration 1 >"$TMP/refused.out" 2>"$TMP/refused.err" || rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "refused: non-zero exit, not the timeout (got $rc after $ms ms)" \
    test "$rc" -ne 0 -a "$rc" -ne 124
check "refused: message on stderr" grep -q '^cntb-traffic: .*connect' "$TMP/refused.err"

# SIGTERM: the server leaves with 0.
kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
check "server exits 0 on SIGTERM (got $rc)" test "$rc" -eq 0

echo "test_traffic: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
