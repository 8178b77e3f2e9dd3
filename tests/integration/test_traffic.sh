#!/bin/bash
# test_traffic.sh — integration test of cntb-traffic: every traffic kind on a
# veth pair between two network namespaces this test makes (addresses of its
# own /30 in 198.19.0.0/16, RFC 2544 benchmarking space) and removes, with
# plausible values asserted; loss counted from dropped datagrams (an nftables
# rule drops every 10th in the server's namespace); the MTU refusal of
# CASES.md case 1; bad usage.  Throughput bounds are loose on purpose: the
# machine is shared.
#
# usage: test_traffic.sh BINDIR     (BINDIR holds cntb-traffic)
# exit: 0 all passed, 1 some failed, 77 skipped (not root, no ip/jq).
set -euo pipefail

BIN=${1:?usage: test_traffic.sh BINDIR}
TRAFFIC=$BIN/cntb-traffic
TAG=$(( $$ % 100000 ))
NSA=cntb-tt$TAG-a           # client
NSB=cntb-tt$TAG-b           # server
VA=cntbta$TAG
VB=cntbtb$TAG
NET=198.19.$(( 100 + $$ % 100 )).$(( ($$ / 100 % 60) * 4 ))
A=${NET%.*}.$(( ${NET##*.} + 1 ))
B=${NET%.*}.$(( ${NET##*.} + 2 ))
PORT=5301
passed=0
failed=0

if [ "$(id -u)" -ne 0 ]; then
    echo "test_traffic: skipped: needs root" >&2
    exit 77
fi
for tool in ip jq timeout awk; do
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
    # Anything else still inside our namespaces (only ours) goes too.
    for ns in "$NSA" "$NSB"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill "$pid" 2>/dev/null || true
        done
        ip netns del "$ns" 2>/dev/null || true
    done
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
jqck() { jq -e "$@" >/dev/null; }  # jqck FILTER [ARGS...]: the filter yields true

ip netns add "$NSA"
ip netns add "$NSB"
ip link add "$VA" netns "$NSA" type veth peer name "$VB" netns "$NSB"
ip -n "$NSA" addr add "$A/30" dev "$VA"
ip -n "$NSB" addr add "$B/30" dev "$VB"
for ns in "$NSA" "$NSB"; do ip -n "$ns" link set lo up; done
ip -n "$NSA" link set "$VA" up
ip -n "$NSB" link set "$VB" up

# Server: its first stdout line, read from a file, says it listens.
# Not through a shell function: $! must be the server itself (ip netns exec execs it).
ip netns exec "$NSB" "$TRAFFIC" server --bind "$B" --port "$PORT" \
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
check "listening line" jqck --arg b "$B" --argjson p "$PORT" \
    '.event == "listening" and .address == $b and .port == $p' <<<"$listening"

# run NAME ARGS...: one client run into $TMP/NAME.json; checks exit 0 and one JSON object.
run() {
    local name=$1 rc=0
    shift
    timeout 60 ip netns exec "$NSA" "$TRAFFIC" client --server "$B" --port "$PORT" "$@" \
        >"$TMP/$name.json" 2>"$TMP/$name.err" || rc=$?
    check "$name: exit 0 (got $rc: $(head -c 300 "$TMP/$name.err"))" test "$rc" -eq 0
    check "$name: stdout is one JSON object" \
        test "$(jq -s 'length' "$TMP/$name.json" 2>/dev/null || echo 0)" -eq 1
    R=$TMP/$name.json
}
common='.version == 1 and (.flags | type == "array") and (.flags | index("invalid") | not)
        and .metrics.cpu_client_pct >= 0 and .metrics.cpu_server_pct >= 0
        and .metrics.cpu_softirq_pct >= 0 and .applied.engine == "builtin"'

# tcp_stream, upload and download, with a warm-up and half-second samples.
run tcp_up --traffic tcp_stream --duration 1.5 --omit 0.5 --interval 0.5 --streams 2 --size 16384
check "tcp_up: common fields, not invalid" jqck "$common" "$R"
check "tcp_up: throughput in [1e7, 1e12] bit/s" \
    jqck '.metrics.throughput_bps >= 1e7 and .metrics.throughput_bps <= 1e12' "$R"
check "tcp_up: 3 or 4 samples" jqck '(.samples | length) as $n | $n == 3 or $n == 4' "$R"
check "tcp_up: mss read back, 1448 on a 1500-byte veth" jqck '.applied.mss == 1448' "$R"
check "tcp_up: pps = bps / 8 / mss" \
    jqck '((.metrics.throughput_pps - .metrics.throughput_bps / 8 / 1448) | fabs) < 1' "$R"
check "tcp_up: retransmits counted" jqck '.metrics.retransmits >= 0' "$R"
check "tcp_up: measured time 1.5 s" jqck '(.applied.measured_s - 1.5 | fabs) < 0.1' "$R"
echo "  tcp upload: $(jq -r '.metrics.throughput_bps / 1e9 * 100 | floor / 100' "$R") Gbit/s"

run tcp_down --traffic tcp_stream --direction download --duration 1 --size 16384
check "tcp_down: common fields" jqck "$common" "$R"
check "tcp_down: direction recorded" jqck '.applied.direction == "download"' "$R"
check "tcp_down: throughput in [1e7, 1e12] bit/s" \
    jqck '.metrics.throughput_bps >= 1e7 and .metrics.throughput_bps <= 1e12' "$R"

# udp_stream at a rate the path surely carries: no loss, the rate met.
run udp_rate --traffic udp_stream --size 64 --rate 20000 --duration 1 --omit 0.3
check "udp_rate: common fields" jqck "$common" "$R"
check "udp_rate: sent 20000 pps within 3 %" \
    jqck '(.metrics.sent_pps - 20000 | fabs) < 600' "$R"
check "udp_rate: received = sent, loss < 1 %" \
    jqck '.metrics.loss_ratio < 0.01 and .metrics.throughput_pps <= .metrics.sent_pps' "$R"
check "udp_rate: bps = pps * 64 * 8" \
    jqck '((.metrics.throughput_bps - .metrics.throughput_pps * 512) | fabs) < 1' "$R"
check "udp_rate: no reordering on a veth" jqck '.metrics.reorder_ratio == 0' "$R"
check "udp_rate: DF set, GSO off, MTU 1500 read back" \
    jqck '.applied.dont_fragment == true and .applied.gso == false and .applied.path_mtu == 1500' "$R"

run udp_down --traffic udp_stream --size 512 --rate 10000 --duration 1 --direction download
check "udp_down: about 10000 pps received" \
    jqck '.metrics.throughput_pps > 9000 and .metrics.throughput_pps < 10500' "$R"
check "udp_down: loss < 1 %" jqck '.metrics.loss_ratio < 0.01' "$R"

run udp_max --traffic udp_stream --size 64 --duration 1
check "udp_max: unpaced, > 10000 pps, loss in [0, 1]" \
    jqck '.metrics.sent_pps > 10000 and .metrics.loss_ratio >= 0 and .metrics.loss_ratio <= 1' "$R"
echo "  udp 64 B unpaced: $(jq -r '.metrics.sent_pps | floor' "$R") pps sent, loss $(jq -r '.metrics.loss_ratio' "$R")"

# Request/response: latency from per-probe timestamps.
for k in tcp_rr udp_rr; do
    run $k --traffic $k --size 64 --duration 1 --omit 0.2
    check "$k: common fields" jqck "$common" "$R"
    check "$k: p50 in (0, 5000] us and p50 <= p90 <= p99 <= p999" \
        jqck '.metrics.rtt_us_p50 > 0 and .metrics.rtt_us_p50 <= 5000
              and .metrics.rtt_us_p50 <= .metrics.rtt_us_p90
              and .metrics.rtt_us_p90 <= .metrics.rtt_us_p99
              and .metrics.rtt_us_p99 <= .metrics.rtt_us_p999' "$R"
    check "$k: > 500 transactions/s, no loss" \
        jqck '.metrics.transactions_per_s > 500 and .metrics.loss_ratio == 0' "$R"
    # With one probe outstanding, rate x mean RTT cannot exceed 1 s per second.
    check "$k: transactions/s x mean RTT <= 1" \
        jqck '.metrics.transactions_per_s * .metrics.rtt_us_mean / 1e6 <= 1.01' "$R"
    # CASES.md case 10: one flow, burst 1: a transaction is one round trip, so
    # 1e6 / transactions_per_s and the mean RTT agree within 10 % (the gate's
    # rr_inconsistent bound); a probe stamped after send() misses half of it.
    check "$k: one flow, burst 1: 1e6/transactions_per_s within 10 % of rtt_us_mean ($(jq -r \
        '"\(1e6 / .metrics.transactions_per_s * 100 | round / 100) vs \(.metrics.rtt_us_mean * 100 | round / 100) us"' "$R"))" \
        jqck '.streams == 1 and .applied.burst == 1
              and ((1e6 / .metrics.transactions_per_s - .metrics.rtt_us_mean) | fabs)
                  <= 0.10 * .metrics.rtt_us_mean' "$R"
    echo "  $k: $(jq -r '.metrics.transactions_per_s | floor' "$R")/s, p50 $(jq -r '.metrics.rtt_us_p50' "$R") us"
done
run udp_rr_burst --traffic udp_rr --size 64 --duration 1 --burst 4 --streams 2
check "udp_rr_burst: applied burst 4, transactions counted" \
    jqck '.applied.burst == 4 and .metrics.transactions_per_s > 500' "$R"

# TIME_WAIT of the client's namespace towards the server's port.
tw() { ip netns exec "$NSA" ss -Htan state time-wait "( dport = :$PORT )" | wc -l; }
tw0=$(tw)
run tcp_crr --traffic tcp_crr --size 64 --duration 1
check "tcp_crr: common fields" jqck "$common" "$R"
check "tcp_crr: > 100 connections/s, connect p50 < rtt p50" \
    jqck '.metrics.connections_per_s > 100 and .metrics.connect_us_p50 > 0
          and .metrics.connect_us_p50 <= .metrics.rtt_us_p50' "$R"
echo "  tcp_crr: $(jq -r '.metrics.connections_per_s | floor' "$R") connections/s"
# The server closes first and the client waits for its FIN: thousands of
# connections leave TIME_WAIT on the server only (a few for the stats
# connections at most), else the client's port range fills up.
tw1=$(tw)
check "tcp_crr: no TIME_WAIT left on the client ($((tw1 - tw0)) new after $(jq -r \
    '.metrics.connections_per_s | floor' "$R") connections)" test $((tw1 - tw0)) -le 4

# Several crr flows at once, with requests of many segments: partial reads
# and writes on the server's event loop.
run tcp_crr_big --traffic tcp_crr --size 100000 --streams 4 --duration 1
check "tcp_crr_big: common fields" jqck "$common" "$R"
check "tcp_crr_big: > 50 connections/s" jqck '.metrics.connections_per_s > 50' "$R"

# A crr hello and request that come in pieces (one write at a time) are put
# together and answered; a tcp_rr flow runs beside it.
piecewise=$(timeout 10 ip netns exec "$NSA" bash -c '
    exec 3<>"/dev/tcp/$1/$2"
    printf "{\"t\":\"cr" >&3; sleep 0.2
    printf "r\",\"size\":8}\nabcd" >&3; sleep 0.2
    printf "efgh" >&3
    head -c 8 <&3' _ "$B" "$PORT" 2>&1 || true)
check "tcp_crr: hello and request in pieces are answered (got '$piecewise')" \
    test "$piecewise" = abcdefgh
# An rr hello with two requests behind it in one write: the server's loop
# reads past the hello and hands those bytes to the connection's thread.
ahead=$(timeout 10 ip netns exec "$NSA" bash -c '
    exec 3<>"/dev/tcp/$1/$2"
    printf "{\"t\":\"rr\",\"size\":4}\nabcdwxyz" >&3
    head -c 8 <&3' _ "$B" "$PORT" 2>&1 || true)
check "tcp_rr: requests in the hello's segment are echoed (got '$ahead')" test "$ahead" = abcdwxyz

# Loss: every 10th 64-byte UDP datagram towards the server is dropped (nftables
# numgen); data and the 16-byte rendezvous punches share the server's port, and
# only data is dropped.
if command -v nft >/dev/null; then
    ip netns exec "$NSB" nft -f - <<EOF2
table inet cntbtt {
    chain in {
        type filter hook input priority 0;
        udp dport 5301 udp length 72 numgen inc mod 10 == 0 drop
    }
}
EOF2
    run udp_loss --traffic udp_stream --size 64 --rate 10000 --duration 1
    check "udp_loss: loss_ratio 0.10 +- 0.01 ($(jq -r .metrics.loss_ratio "$R"))" \
        jqck '(.metrics.loss_ratio - 0.1 | fabs) <= 0.01' "$R"
    check "udp_loss: loss is not reordering" jqck '.metrics.reorder_ratio == 0' "$R"
    start=$(date +%s%N)
    run udp_rr_loss --traffic udp_rr --size 64 --duration 1 --timeout-ms 20
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    check "udp_rr_loss: lost probes time out: loss 0.10 +- 0.03 ($(jq -r .metrics.loss_ratio "$R"))" \
        jqck '(.metrics.loss_ratio - 0.1 | fabs) <= 0.03 and .metrics.timeouts > 0' "$R"
    check "udp_rr_loss: no stall (run took $ms ms), percentiles unaffected (p50 < 20 ms)" \
        test "$ms" -lt 5000 -a "$(jq -r '.metrics.rtt_us_p50 < 20000' "$R")" = true
    ip netns exec "$NSB" nft delete table inet cntbtt
else
    echo "skip: nft missing, loss not tested"
fi

# CASES.md case 1: a datagram larger than MTU - 28 is refused, exit 2, unless allowed.
for how in "--mtu 1500" ""; do
    rc=0
    # shellcheck disable=SC2086  # $how is two words or none on purpose
    ip netns exec "$NSA" "$TRAFFIC" client --server "$B" --port "$PORT" --traffic udp_stream \
        --size 1473 --duration 0.5 $how >"$TMP/mtu.out" 2>"$TMP/mtu.err" || rc=$?
    check "size 1473 ${how:-(kernel MTU)}: exit 2 (got $rc)" test "$rc" -eq 2
    check "size 1473 ${how:-(kernel MTU)}: reason names the limit" \
        grep -q 'UDP size 1473 exceeds the path MTU 1500 minus 28 (1472 bytes)' "$TMP/mtu.err"
    check "size 1473: nothing on stdout" test ! -s "$TMP/mtu.out"
done
run udp_1472 --traffic udp_stream --size 1472 --rate 2000 --duration 0.5 --mtu 1500
check "udp_1472: fits, not fragmented" jqck '(.flags | index("fragmented") | not) and .metrics.loss_ratio < 0.01' "$R"
run udp_frag --traffic udp_stream --size 3000 --rate 2000 --duration 0.5 --mtu 1500 --allow-fragments
check "udp_frag: allowed, flagged fragmented, delivered" \
    jqck '(.flags | index("fragmented")) and .applied.dont_fragment == false and .metrics.loss_ratio < 0.01' "$R"

# Bad values: exit 2 and a one-line message.
for bad in "--size 0" "--duration -1" "--traffic sctp_stream" "--direction sideways" \
           "--burst 65" "--traffic udp_stream --size 4" "--gso --traffic tcp_rr" "--engine netperf"; do
    rc=0
    # shellcheck disable=SC2086  # $bad is several words on purpose
    ip netns exec "$NSA" "$TRAFFIC" client --server "$B" --port "$PORT" $bad \
        >"$TMP/bad.out" 2>"$TMP/bad.err" || rc=$?
    check "$bad: exit 2 (got $rc)" test "$rc" -eq 2
    check "$bad: one line on stderr" test "$(grep -c '^cntb-traffic: ' "$TMP/bad.err")" -eq 1
    check "$bad: nothing on stdout" test ! -s "$TMP/bad.out"
done

# Nobody listens on PORT+1: a non-zero exit within 5 s.
rc=0
start=$(date +%s%N)
timeout 5 ip netns exec "$NSA" "$TRAFFIC" client --server "$B" --port $((PORT + 1)) \
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
