#!/usr/bin/env bash
# test_nested_vm.sh — nested VMs end to end (docs/vm.md), with QEMU TCG: build the
# guest image (testbed/vm/build-image, cached under build/vm), emulate two
# hosts with one VM each, run tcp_stream between two containers inside the
# VM of h1 (network host, bridge, and ipvlan l2, l3, l3s: the guest's
# kernel has the ipvlan module the host's lacks; same-host), then assert:
# results stored with nesting=vm, client and server host = the VM, the
# accelerator, vCPUs and memory recorded in the result, a throughput for
# every network; the VM reused by all five runs (one boot); ipvlan l2
# cross-host between the VMs of h1 and h2 skipped with the reason (a VM's
# eth0 is routed by its parent, docs/networks/ipvlan.md); the VMs stopped
# at the end of the batch; no QEMU process, tap device or changed sysctl
# left.  CURVE (emulate makes keys): deploy uploads the VM's
# certificate pair beside its parent's files (mode 0600), the guest's /init
# finds it in the appended cpio archive and its agent is accepted; the
# initrd copy with the secret is gone when the VM stops (test_vm checks
# QEMU's argument vector).  Two failure paths: a VM whose image directory is
# missing (`cntb run` refuses the matrix with exit 3, naming
# testbed/vm/build-image; queued anyway, the run fails with the agent's
# message), and a VM whose /init never starts the agent (the run fails after
# boot_timeout_s with the console's last lines).  Usage: test_nested_vm.sh
# BINDIR.  Exit 77 = skipped (not root, no QEMU, no Debian kernel).
set -euo pipefail
BIN=${1:?usage: $0 BINDIR}
BIN=$(cd "$BIN" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "test_nested_vm: skipped (needs root)"; exit 77; }
command -v jq >/dev/null && command -v sqlite3 >/dev/null || { echo "test_nested_vm: skipped (needs jq and sqlite3)"; exit 77; }
[ -x /usr/bin/qemu-system-x86_64 ] || { echo "test_nested_vm: skipped (no qemu-system-x86)"; exit 77; }
ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || { echo "test_nested_vm: skipped (no linux-image-amd64)"; exit 77; }
[ -c /dev/net/tun ] || { echo "test_nested_vm: skipped (no /dev/net/tun)"; exit 77; }

NAME="vm$(( $$ % 10000 ))"
WORK=$(mktemp -d /tmp/cntb-vm.XXXXXX)
PASS=0 FAIL=0
cleanup() {
  (cd "$WORK" && "$BIN/cntb" testbed destroy "$NAME" >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"   # ok, fail, check, q, wait_for, wait_grep
between() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN{exit !(v+0 >= lo+0 && v+0 <= hi+0)}'; }

# The image: built (or found up to date) where the agent looks by default, BINDIR/../vm.
IMAGE=$(cd "$BIN/.." && pwd)/vm
"$SRC/testbed/vm/build-image" --bindir "$BIN" --out "$IMAGE"
check "image built" test -s "$IMAGE/initrd.img" -a -s "$IMAGE/vmlinuz"
check "manifest names the kernel" test -n "$(jq -r .kernel "$IMAGE/manifest.json")"
check "image has the ipvlan module" sh -c "jq -r '.modules[]' '$IMAGE/manifest.json' | grep -q '/ipvlan\.ko'"
check "image up to date on a second call" sh -c "'$SRC/testbed/vm/build-image' --bindir '$BIN' --out '$IMAGE' | grep -q 'up to date'"

cd "$WORK"
export CNTB_DB="$WORK/vm.db"
"$BIN/cntb" testbed emulate --name "$NAME" --hosts 2 --vms-per-host 1 >/dev/null
TB="$WORK/$NAME.testbed.json"
check "testbed has vms h1v1 and h2v1 with parents h1 and h2" test "$(jq -r '[.hosts[] | select(.kind=="vm") | .name+">"+.parent] | join(",")' "$TB")" = "h1v1>h1,h2v1>h2"
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
"$BIN/cntb" deploy "$TB" >/dev/null
NS="cntb-$NAME-h1"
DEP="/var/lib/cntb/$NAME/h1"
check "VM certificate uploaded with its parent's files" test -s "$DEP/vm-h1v1.cert" -a -s "$DEP/vm-h1v1.cert_secret"
check "VM certificate files are mode 600" test "$(stat -c %a "$DEP/vm-h1v1.cert")/$(stat -c %a "$DEP/vm-h1v1.cert_secret")" = 600/600
check "VM secret is the one cntb keys made" cmp -s "$DEP/vm-h1v1.cert_secret" "$(jq -r .keys "$TB")/secret/h1v1.cert_secret"
NS2="cntb-$NAME-h2"
fwd_before=$(ip netns exec "$NS" cat /proc/sys/net/ipv4/ip_forward)
fwd2_before=$(ip netns exec "$NS2" cat /proc/sys/net/ipv4/ip_forward)

# Five same-host runs in h1v1 (one boot), then ipvlan l2 cross-host, which boots h2v1.
cat > "$WORK/m.json" <<'JSON'
{
  "name": "vm-it",
  "fixed": { "traffic": "tcp_stream", "size": 16384, "duration_s": 2, "nesting": "vm" },
  "vary": { "placement": ["same-host", "cross-host"], "network": ["host", "bridge", "ipvlan"],
            "ipvlan_mode": ["l2", "l3", "l3s"] },
  "exclude": [ { "network": "host", "ipvlan_mode": "l3" }, { "network": "host", "ipvlan_mode": "l3s" },
               { "network": "bridge", "ipvlan_mode": "l3" }, { "network": "bridge", "ipvlan_mode": "l3s" },
               { "network": "host", "placement": "cross-host" },
               { "network": "bridge", "placement": "cross-host" },
               { "ipvlan_mode": "l3", "placement": "cross-host" },
               { "ipvlan_mode": "l3s", "placement": "cross-host" } ],
  "repetitions": 1
}
JSON
set +e
timeout 240 "$BIN/cntb" run "$WORK/m.json" --testbed "$TB" > "$WORK/run.out" 2>&1
rc=$?
set -e
cat "$WORK/run.out"
check "cntb run exits 0" test "$rc" -eq 0
check "five runs done" test "$(q "SELECT count(*) FROM run WHERE state='done'")" -eq 5
check "runs stored with nesting=vm" test "$(q "SELECT count(*) FROM run WHERE json_extract(params_json,'\$.nesting')='vm'")" -eq 6
check "client and server in the VM" test "$(q "SELECT DISTINCT client_host||'>'||server_host FROM run WHERE state='done'")" = "h1v1>h1v1"
check "accelerator recorded (tcg here)" test "$(q "SELECT DISTINCT json_extract(raw_json,'\$.vm.accel') FROM result")" = "tcg"
check "vCPUs and memory recorded" test "$(q "SELECT DISTINCT json_extract(raw_json,'\$.vm.vcpus')||'/'||json_extract(raw_json,'\$.vm.memory_mb') FROM result")" = "1/384"
for net in host bridge ipvlan/l2 ipvlan/l3 ipvlan/l3s; do
  mode=${net#*/}
  v=$(q "SELECT m.value FROM metric m JOIN run r ON r.id=m.run_id WHERE m.name='throughput_bps' AND r.state='done' AND json_extract(r.params_json,'\$.placement')='same-host' AND json_extract(r.params_json,'\$.network')='${net%/*}' AND ('$mode'='$net' OR json_extract(r.params_json,'\$.ipvlan_mode')='$mode')")
  check "$net in the VM: $v bit/s within 1 Mbit/s..1 Tbit/s" between "${v:-0}" 1e6 1e12
done
# Either VM may answer first: the reason starts with its name.
reason=$(q "SELECT state||': '||reason FROM run WHERE json_extract(params_json,'\$.placement')='cross-host'" | sed -E 's/^skipped: h[12]v1: /skipped: /')
check "ipvlan l2 cross-host between VMs skipped with the reason ($reason)" test "$reason" = "skipped: network ipvlan cross-host: this host is a VM whose eth0 its parent routes (a tap with proxy ARP for the VM's own address only, docs/vm.md), not a port on the underlay's switch, so the containers of two VMs cannot reach each other; use same-host"
LOG="$DEP/agent.log"
LOG2="/var/lib/cntb/$NAME/h2/agent.log"
check "one VM boot for all runs in h1v1" test "$(grep -c 'vm h1v1: QEMU pid' "$LOG")" -eq 1
check "one VM boot of h2v1" test "$(grep -c 'vm h2v1: QEMU pid' "$LOG2")" -eq 1
stopped=1
for _ in $(seq 1 50); do grep -q 'vm h1v1 stopped' "$LOG" && grep -q 'vm h2v1 stopped' "$LOG2" && { stopped=0; break; }; sleep 0.1; done
check "VMs stopped at the end of the batch" test "$stopped" -eq 0
qpid=$(sed -n 's/.*vm h1v1: QEMU pid \([0-9]*\),.*/\1/p' "$LOG" | head -1)
qpid2=$(sed -n 's/.*vm h2v1: QEMU pid \([0-9]*\),.*/\1/p' "$LOG2" | head -1)
check "QEMU pids logged ($qpid, $qpid2)" test -n "$qpid" -a -n "$qpid2"
CONSOLE="/run/cntb/$NAME/vm-h1v1.console"
check "guest's /init found its certificate" grep -q "using CURVE certificate /etc/cntb/agent.cert" "$CONSOLE"
check "initrd copy with the secret removed after the stop" test ! -e "/run/cntb/$NAME/vm-h1v1.initrd"
for p in "${qpid:-0}" "${qpid2:-0}"; do
  check "no QEMU left ($p)" test ! -e "/proc/$p/cmdline" -o -z "$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep qemu || true)"
done
check "no tap left" test -z "$(ip -n "$NS" -o link | grep cntbvm || true)$(ip -n "$NS2" -o link | grep cntbvm || true)"
check "forwarding restored" test "$(ip netns exec "$NS" cat /proc/sys/net/ipv4/ip_forward)/$(ip netns exec "$NS2" cat /proc/sys/net/ipv4/ip_forward)" = "$fwd_before/$fwd2_before"

# Failure paths: a VM whose image directory has no kernel.  `cntb run` refuses the matrix
# before queueing it (exit 3, the command that builds the image); the matrix names its
# testbed and no --testbed is given, so the check asks the running controller for its file.
# Queued anyway (cntb queue add, which does not check), the run fails with QEMU's message.
jq '(.hosts[] | select(.kind=="vm")) += {"image": "/nonexistent/cntb-vm"}' "$TB" > "$WORK/bad.testbed.json"
"$BIN/cntb" controller stop --testbed "$TB" >/dev/null
"$BIN/cntb" controller start --testbed "$WORK/bad.testbed.json" >/dev/null
for _ in $(seq 1 50); do "$BIN/cntb" testbed check "$WORK/bad.testbed.json" >/dev/null 2>&1 && break; sleep 0.2; done
jq --arg tb "$NAME" '{name: "vm-bad", testbed: $tb, fixed: (.fixed + {placement: "same-host", network: "host"}), repetitions: 1}' "$WORK/m.json" > "$WORK/bad.json"
batches_before=$(q "SELECT count(*) FROM batch")
set +e
"$BIN/cntb" run "$WORK/bad.json" > "$WORK/refused.out" 2>&1
rc=$?
set -e
check "no image: cntb run exits 3" test "$rc" -eq 3
check "no image: one line naming the VM, the directory and build-image ($(cat "$WORK/refused.out"))" test "$(cat "$WORK/refused.out")" = "cntb: $WORK/bad.json: nesting vm: no guest image for vm h1v1 in /nonexistent/cntb-vm (vmlinuz, initrd.img); build it with testbed/vm/build-image --out /nonexistent/cntb-vm"
check "no image: nothing queued" test "$(q "SELECT count(*) FROM batch")" -eq "$batches_before"
set +e
timeout 60 "$BIN/cntb" queue add "$WORK/bad.json" --follow --testbed "$WORK/bad.testbed.json" > "$WORK/bad.out" 2>&1
rc=$?
set -e
cat "$WORK/bad.out"
check "broken VM: the queued batch exits 1" test "$rc" -eq 1
reason=$(q "SELECT reason FROM run WHERE state='failed'")
check "broken VM: reason names the missing image ($reason)" sh -c "echo '$reason' | grep -q 'h1v1.*/nonexistent/cntb-vm/vmlinuz'"

# Boot timeout: an initramfs whose /init never starts the agent; the run fails after
# boot_timeout_s with the console's last lines as its reason, and QEMU is stopped.
mkdir -p "$WORK/hang/root/bin"
cp /bin/busybox "$WORK/hang/root/bin/busybox"
printf '#!/bin/busybox sh\necho "cntb-test: this guest never says HELLO"\nexec /bin/busybox sleep 100000\n' > "$WORK/hang/root/init"
chmod +x "$WORK/hang/root/init"
(cd "$WORK/hang/root" && find . | sort | cpio --quiet -o -H newc -R 0:0) | gzip -n > "$WORK/hang/initrd.img"
ln -s "$IMAGE/vmlinuz" "$WORK/hang/vmlinuz"
jq --arg img "$WORK/hang" '(.hosts[] | select(.kind=="vm")) += {"image": $img, "boot_timeout_s": 25}' "$TB" > "$WORK/hang.testbed.json"
"$BIN/cntb" controller stop --testbed "$TB" >/dev/null
"$BIN/cntb" controller start --testbed "$WORK/hang.testbed.json" >/dev/null
for _ in $(seq 1 50); do "$BIN/cntb" testbed check "$WORK/hang.testbed.json" >/dev/null 2>&1 && break; sleep 0.2; done
jq '.name = "vm-hang"' "$WORK/bad.json" > "$WORK/hang.json"
set +e
timeout 90 "$BIN/cntb" run "$WORK/hang.json" --testbed "$WORK/hang.testbed.json" > "$WORK/hang.out" 2>&1
rc=$?
set -e
cat "$WORK/hang.out"
check "hanging VM: cntb run exits 1" test "$rc" -eq 1
reason=$(q "SELECT reason FROM run WHERE state='failed' ORDER BY id DESC LIMIT 1")
check "hanging VM: reason has the timeout and the console" sh -c "echo \"\$1\" | grep -q 'within 25 s; console: .*cntb-test: this guest never says HELLO'" _ "$reason"
stopped=1
for _ in $(seq 1 50); do [ "$(grep -c 'vm h1v1 stopped' "$LOG")" -ge 2 ] && { stopped=0; break; }; sleep 0.1; done
check "hanging VM stopped" test "$stopped" -eq 0
check "no tap left after the hanging VM" test -z "$(ip -n "$NS" -o link | grep cntbvm || true)"

"$BIN/cntb" testbed destroy "$NAME" >/dev/null
check "no testbed namespace left" test -z "$(ip netns list | grep -E "^cntb-$NAME-" || true)"
echo "test_nested_vm: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
