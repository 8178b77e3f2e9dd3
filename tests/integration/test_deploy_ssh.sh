#!/usr/bin/env bash
# test_deploy_ssh.sh — deployment over SSH and the CURVE control plane on a
# 3-host emulated testbed (an sshd in each host namespace):
#   - cntb deploy installs and starts 3 agents over SSH; all say HELLO; a
#     tiny matrix runs; deploying again is a no-op (same version), and
#     restarts (not "replaces") an agent of the same version that was stopped
#   - a changed host key refuses (also with --accept-new), naming the host
#   - a wrong SSH key fails at "authentication", naming the host
#   - an agent whose CURVE certificate is not in the key directory is
#     refused by the controller (ZAP, logged), deploy reports HELLO timeout
#     for that host only, and the agent never gets a run
#   - deploy --stop stops the agents; nothing is left after destroy
# Usage: test_deploy_ssh.sh BINDIR.  Exit 77 = skipped.
set -euo pipefail
BIN=${1:?usage: $0 BINDIR}
BIN=$(cd "$BIN" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "test_deploy_ssh: skipped (needs root)"; exit 77; }
for p in jq sqlite3 /usr/sbin/sshd ssh-keygen; do
  command -v "$p" >/dev/null || { echo "test_deploy_ssh: skipped (needs $p)"; exit 77; }
done

NAME="ds$(( $$ % 10000 ))"
WORK=$(mktemp -d /tmp/cntb-ds.XXXXXX)
PASS=0 FAIL=0
cleanup() {
  (cd "$WORK" && "$BIN/cntb" testbed destroy "$NAME" >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"   # ok, fail, check, q, wait_for, wait_grep
connected() { # HOST -> exit 0 when the controller has it connected
  "$BIN/cntb" controller status --testbed "$TB" | grep -Eq "agent $1 +connected"
}

cd "$WORK"
export CNTB_DB="$WORK/ds.db"
"$BIN/cntb" testbed emulate --name "$NAME" --hosts 3 >/dev/null
TB="$WORK/$NAME.testbed.json"
check "testbed file names keys and ssh files" \
  test "$(jq -r '[.keys, .ssh.key, .ssh.known_hosts] | join(" ")' "$TB")" = \
       "$NAME.keys $NAME.keys/ssh/id_ed25519 $NAME.keys/ssh/known_hosts"
check "one sshd per host" test "$(ls /run/cntb/$NAME/sshd-h*.pid | wc -l)" -eq 3
check "controller key directory is private" test "$(stat -c %a "$NAME.keys")" = 700
"$BIN/cntb" controller start --testbed "$TB" >/dev/null
check "CLI socket directory is 0700" test "$(stat -c %a /run/cntb/$NAME)" = 700

t0=$(date +%s)
check "deploy to 3 hosts over SSH" "$BIN/cntb" deploy "$TB"
echo "# deploy took $(( $(date +%s) - t0 )) s"
for h in h1 h2 h3; do check "agent $h connected" connected $h; done
check "agents run from /var/lib/cntb/$NAME/h2" \
  grep -q "/var/lib/cntb/$NAME/h2/cntb-agent" "/proc/$(cat /var/lib/cntb/$NAME/h2/agent.pid)/cmdline"
check "agent's secret key is mode 600" test "$(stat -c %a /var/lib/cntb/$NAME/h1/agent.cert_secret)" = 600
"$BIN/cntb" deploy "$TB" > redeploy.out
check "re-deploy of the same version is a no-op" test "$(grep -c unchanged redeploy.out)" -eq 3
# An agent of the same version that is not running is restarted, not "replaced" (issue 22).
H3PID=$(cat "/var/lib/cntb/$NAME/h3/agent.pid")
kill "$H3PID"
for i in $(seq 1 50); do kill -0 "$H3PID" 2>/dev/null || break; sleep 0.1; done
"$BIN/cntb" deploy "$TB" > restart.out
cat restart.out
check "a stopped agent of the same version is restarted" \
  grep -Eq "^host h3 +[0-9.]+ +restarted \(version [0-9a-f]{12}\), connected$" restart.out
check "the running ones are unchanged" test "$(grep -c unchanged restart.out)" -eq 2
check "nothing reported replaced" bash -c "! grep -q replaced restart.out"

cat > m.json <<'JSON'
{ "name": "ds", "fixed": { "traffic": "tcp_stream", "size": 1448, "duration_s": 1,
  "network": "host", "placement": "cross-host" }, "repetitions": 1 }
JSON
check "a tiny matrix runs on the deployed agents" "$BIN/cntb" run m.json --testbed "$TB"

# Changed host key: h2's line in a copy of known_hosts gets another key.
ssh-keygen -q -t ed25519 -N "" -f other_key
KH="$NAME.keys/ssh/known_hosts"
H2=$(jq -r '.hosts[1].address' "$TB")
awk -v a="$H2" -v k="$(cut -d' ' -f1,2 other_key.pub)" '$1==a {print a" "k; next} {print}' "$KH" > kh.changed
jq '.ssh.known_hosts = "kh.changed"' "$TB" > changed.testbed.json
set +e
"$BIN/cntb" deploy changed.testbed.json --accept-new > changed.out 2> changed.err; rc=$?
set -e
check "changed host key: exit 3" test "$rc" -eq 3
check "changed host key: h2 refused at 'host key'" grep -q "host h2 ($H2): host key failed" changed.err
check "changed host key: the others go on" test "$(grep -c unchanged changed.out)" -eq 2
check "changed host key: known_hosts not rewritten" grep -q "$(cut -d' ' -f2 other_key.pub)" kh.changed

# Wrong SSH key: every host refuses, each named.
jq '.ssh.key = "other_key"' "$TB" > wrongkey.testbed.json
set +e
"$BIN/cntb" deploy wrongkey.testbed.json > /dev/null 2> wrongkey.err; rc=$?
set -e
check "wrong SSH key: exit 3" test "$rc" -eq 3
check "wrong SSH key: h1 named at 'authentication'" grep -q "host h1 (.*): authentication failed" wrongkey.err
check "wrong SSH key: 3 hosts failed" grep -q "3 of 3 hosts failed" wrongkey.err

# Rogue certificate for h1: same controller key, h1's key not in hosts/.
ROGUE_FROM=$(( $(wc -l < "/var/lib/cntb/$NAME/h1/agent.log") + 1 ))
cp -a "$NAME.keys" rogue.keys
rm rogue.keys/secret/h1.cert rogue.keys/secret/h1.cert_secret
jq '.keys = "rogue.keys"' "$TB" > rogue.testbed.json
"$BIN/cntb" keys generate --testbed rogue.testbed.json > /dev/null
set +e
"$BIN/cntb" deploy rogue.testbed.json --timeout 4 > rogue.out 2> rogue.err; rc=$?
set -e
cat rogue.err
check "rogue certificate: deploy exit 3" test "$rc" -eq 3
check "rogue certificate: h1 fails at HELLO timeout" grep -q "host h1 (.*): HELLO timeout failed" rogue.err
check "rogue certificate: h2, h3 unchanged" test "$(grep -c unchanged rogue.out)" -eq 2
check "rogue certificate: controller logged the refusal" grep -q "denied (CURVE)" /run/cntb/$NAME/controller.log
for i in $(seq 1 40); do connected h1 || break; sleep 0.25; done
not_connected() { ! connected "$1"; }
check "rogue agent h1 is not connected" not_connected h1
# A same-host run restricted to h1: it must not reach the rogue agent.
cat > m2.json <<'JSON'
{ "name": "ds2", "fixed": { "traffic": "tcp_stream", "size": 1448, "duration_s": 1,
  "network": "host", "placement": "same-host" }, "repetitions": 1,
  "hosts": ["h1"], "timeouts": { "lease_s": 5 } }
JSON
set +e
"$BIN/cntb" run m2.json --testbed "$TB" > run2.out 2>&1; rc=$?
cat run2.out
set -e
check "run needing h1 is skipped, not done (cntb run exit $rc)" \
  test "$(q "SELECT state FROM run WHERE batch_id = (SELECT max(id) FROM batch)")" = skipped
check "its reason names h1 not connected" \
  test "$(q "SELECT count(*) FROM run WHERE state='skipped' AND reason LIKE '%host h1 not connected%'")" -eq 1
never_ran() { ! tail -n +"$ROGUE_FROM" "/var/lib/cntb/$NAME/h1/agent.log" | grep -Eq 'run [0-9]+:|welcomed'; }
check "the rogue agent was never welcomed nor given a run" never_ran

"$BIN/cntb" deploy "$TB" --stop > stop.out
check "deploy --stop stops 3 agents" test "$(grep -c 'agent stopped' stop.out)" -eq 3
check "no agent of the testbed is left" bash -c "! pgrep -f '[/]var/lib/cntb/$NAME/'"
"$BIN/cntb" controller stop --testbed "$TB" >/dev/null
"$BIN/cntb" testbed destroy "$NAME" >/dev/null
check "destroy leaves no sshd" bash -c "! pgrep -f '[/]run/cntb/$NAME/sshd'"
check "destroy leaves no namespace" bash -c "! ip netns list | grep -q cntb-$NAME-"
check "destroy removes /var/lib/cntb/$NAME and the keys" bash -c "! test -e /var/lib/cntb/$NAME && ! test -e $WORK/$NAME.keys"

echo "# $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
