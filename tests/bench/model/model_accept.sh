#!/usr/bin/env bash
# tests/bench/model/model_accept.sh — the acceptance run of the performance
# model (issue 6): fit time per packet = a + b·size on udp_stream packet-rate
# sweeps of host and bridge networking (testbed/matrices/model-fit.json:
# sizes 64, 256, 512, 1024, 1472 B, 5 repetitions, random order), then
# measure held-out sizes 128 and 768 B in a second batch
# (model-held.json) and print, per network and size, the predicted packet/s
# (`cntb model predict`), the measured mean packet/s (`cntb results
# compare`), and the error in %.  Goal: within ±10 %.
#
# Not a ctest: about 5 minutes, and the numbers depend on how quiet the
# machine is (the per-byte cost is small beside the per-packet cost on
# these paths, so noise moves the fit).  Needs root (emulated testbed).
# Usage: tests/bench/model/model_accept.sh BINDIR [REPETITIONS]
set -euo pipefail
BIN=${1:?usage: $0 BINDIR [REPETITIONS]}
BIN=$(cd "$BIN" && pwd)
REPS=${2:-5}
SRC=$(cd "$(dirname "$0")/../../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "model_accept: needs root" >&2; exit 3; }
NAME="ma$(( $$ % 10000 ))"
WORK=$(mktemp -d /tmp/cntb-ma.XXXXXX)
cleanup() {
  (cd "$WORK" && "$BIN/cntb" testbed destroy "$NAME" >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export CNTB_DB="$WORK/ma.db" PATH="$BIN:$PATH"
cd "$WORK"
for m in fit held; do
  sed -e "s/\"repetitions\": [0-9]*/\"repetitions\": $REPS/" \
      "$SRC/testbed/matrices/model-$m.json" > "$m.json"
done
cntb testbed emulate --name "$NAME" --hosts 1 >/dev/null
cntb controller start --testbed "$NAME.testbed.json" >/dev/null
cntb deploy "$NAME.testbed.json" --accept-new >/dev/null
echo "== fitting batch (model-fit.json, $REPS repetitions)"
cntb run fit.json --testbed "$NAME.testbed.json" | tail -n 1
echo "== held-out batch (model-held.json)"
cntb run held.json --testbed "$NAME.testbed.json" | tail -n 1
echo
cntb model fit --batch 1
echo
cntb results compare --batch 2 --by network,size --metric throughput_pps \
    --baseline network=host --format csv > measured.csv
printf '%-8s %10s %22s %21s %9s\n' network "size (B)" "predicted (packet/s)" \
    "measured (packet/s)" "error (%)"
worst=0
for net in host bridge; do
  for size in 128 768; do
    pred=$(cntb model predict --batch 1 --network "$net" --size "$size" --format csv \
           | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "packet_per_s") c = i; next }
                      { print $c }')
    meas=$(awk -F, -v n="$net" -v s="$size" \
           'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "mean_packet_per_s") c = i; next }
            $1 == n && $2 == s { print $c }' measured.csv)
    err=$(awk -v p="$pred" -v m="$meas" 'BEGIN { printf "%+.1f", (p - m) / m * 100 }')
    printf '%-8s %10s %22.0f %21.0f %9s\n' "$net" "$size" "$pred" "$meas" "$err"
    worst=$(awk -v w="$worst" -v e="$err" 'BEGIN { e = e < 0 ? -e : e; print (e > w ? e : w) }')
  done
done
echo "largest |error|: $worst % (goal: within 10 %)"
