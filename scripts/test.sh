#!/usr/bin/env bash
# The test command (npm test). Runs every tier in order and prints a count per tier:
#   static (typecheck + lint), unit, integration (real dockerd), template (real agent images),
#   e2e (VS Code in code-server driven by Chromium).
# PADDOCK_TIERS="unit integration" limits the tiers. On a fresh machine it installs what it needs
# (node modules; a Docker engine and base image via scripts/ensure-engine.sh; sshd, openssl and
# python3 via scripts/ensure-test-tools.sh; code-server and Chromium via scripts/ensure-e2e.sh).
# A tier passes only with 0 failed, 0 cancelled and 0 skipped tests.
set -uo pipefail
cd "$(dirname "$0")/.."
TIERS="${PADDOCK_TIERS:-static unit integration template e2e}"
RESULTS_DIR="${PADDOCK_TEST_RESULTS:-test-results}"
mkdir -p "$RESULTS_DIR"
summary=()
failed=0

# node modules: installed when missing or older than the lock file (a dependency was added).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund || { echo "npm ci failed: see above; run 'npm ci' in $(pwd) to retry" >&2; exit 1; }
fi
npm run -s build || exit 1

needs_engine() { case " $TIERS " in *" integration "*|*" template "*|*" e2e "*) return 0;; esac; return 1; }
if needs_engine; then scripts/ensure-engine.sh || exit 1; fi
case " $TIERS " in *" integration "*|*" template "*) scripts/ensure-test-tools.sh || exit 1;; esac

run_node_tier() { # name, glob, extra args
  local name="$1" glob="$2"; shift 2
  local log="$RESULTS_DIR/$name.log"
  local files
  shopt -s globstar nullglob
  # shellcheck disable=SC2206
  files=( $glob )
  shopt -u globstar nullglob
  if [ ${#files[@]} = 0 ]; then summary+=("$name: no test files"); return; fi
  node --import tsx --test --test-reporter=spec --test-reporter-destination=stdout "$@" "${files[@]}" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local tests pass fail cancelled skip
  tests=$(grep -E '^ℹ tests ' "$log" | awk '{print $3}' | tail -1)
  pass=$(grep -E '^ℹ pass ' "$log" | awk '{print $3}' | tail -1)
  fail=$(grep -E '^ℹ fail ' "$log" | awk '{print $3}' | tail -1)
  # A cancelled test (its before() hook failed, or a timeout) did not pass: count it as such.
  cancelled=$(grep -E '^ℹ cancelled ' "$log" | awk '{print $3}' | tail -1)
  skip=$(grep -E '^ℹ (skipped|todo) ' "$log" | awk '{s+=$3} END {print s+0}')
  local verdict=ok
  if [ "$rc" != 0 ] || [ "${fail:-1}" != 0 ] || [ "${cancelled:-0}" != 0 ] || [ "${skip:-0}" != 0 ] || [ -z "$tests" ]; then verdict=FAILED; failed=1; fi
  summary+=("$name: ${tests:-0} tests, ${pass:-0} passed, ${fail:-?} failed, ${cancelled:-0} cancelled, ${skip:-0} skipped — $verdict")
}

for tier in $TIERS; do
  echo "=== tier: $tier"
  case "$tier" in
    static)
      if npm run -s typecheck && npm run -s lint; then summary+=("static: typecheck + lint clean"); else summary+=("static: FAILED"); failed=1; fi ;;
    unit) run_node_tier unit "test/unit/**/*.test.ts" ;;
    integration) run_node_tier integration "test/integration/**/*.test.ts" --test-concurrency=1 ;;
    template) run_node_tier template "test/template/**/*.test.ts" --test-concurrency=1 ;;
    e2e)
      if [ -x scripts/ensure-e2e.sh ]; then
        scripts/ensure-e2e.sh || { summary+=("e2e: setup FAILED"); failed=1; continue; }
        run_node_tier e2e "test/e2e/**/*.test.ts" --test-concurrency=1
      else
        summary+=("e2e: not built yet (scripts/ensure-e2e.sh missing)")
      fi ;;
    *) echo "unknown tier $tier"; failed=1 ;;
  esac
done

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
exit $failed
