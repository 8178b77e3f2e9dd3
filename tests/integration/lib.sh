# tests/integration/lib.sh — the helpers every integration test sources
# (`. "$(dirname "$0")/lib.sh"`): TAP-like lines "ok - WHAT" / "FAIL - WHAT"
# counted in PASS and FAIL, and polling waits.  Needs CNTB_DB for q and
# wait_for.  Polls every 0.2 s.

ok()   { PASS=$((PASS+1)); echo "ok - $*"; }
fail() { FAIL=$((FAIL+1)); echo "FAIL - $*"; }
# check WHAT COMMAND...: ok when the command succeeds, FAIL otherwise.
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
# q SQL: the rows of a query on $CNTB_DB, no header.
q() { sqlite3 -batch -noheader "$CNTB_DB" "$1"; }
# wait_for SECONDS SQL: until the SQL prints 1; status 1 on time-out.
wait_for() {
  local t=$(( $1 * 5 )) i
  for ((i = 0; i < t; i++)); do [ "$(q "$2")" = 1 ] && return 0; sleep 0.2; done
  return 1
}
# wait_grep SECONDS PATTERN FILE: until FILE has a line matching PATTERN.
wait_grep() {
  local t=$(( $1 * 5 )) i
  for ((i = 0; i < t; i++)); do grep -q -- "$2" "$3" 2>/dev/null && return 0; sleep 0.2; done
  return 1
}
