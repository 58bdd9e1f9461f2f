#!/usr/bin/env bash
# The test command (npm test). Runs every tier in order and prints a count per tier:
#   static (typecheck + lint), unit, integration (real dockerd), template (real agent images),
#   e2e (VS Code in code-server driven by Chromium).
# PADDOCK_TIERS="unit integration" limits the tiers. On a fresh machine it installs what it needs
# (node modules; a Docker engine and base image via scripts/ensure-engine.sh; sshd, openssl and
# python3 via scripts/ensure-test-tools.sh; code-server and Chromium via scripts/ensure-e2e.sh).
# A tier passes only with 0 failed, 0 cancelled and 0 skipped tests.
# The integration tier runs in two lanes (test/integration/lanes.txt says which file is in which):
# the parallel lane, PADDOCK_PARALLEL_FILES files at once, then the serial lane, one file at a
# time. PADDOCK_INTEGRATION_LANES="parallel" (or "serial") runs one lane only. The default is still
# 1 file at a time: the one run of the parallel lane with 2 (a shared machine at load 10-16) is not
# yet a passing run that is faster (see README, Development).
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
  local files
  shopt -s globstar nullglob
  # shellcheck disable=SC2206
  files=( $glob )
  shopt -u globstar nullglob
  if [ ${#files[@]} = 0 ]; then summary+=("$name: no test files"); return; fi
  run_node_files "$name" "$*" "${files[@]}"
}

run_node_files() { # name, extra args (one word list), files...
  local name="$1" extra="$2"; shift 2
  local log="$RESULTS_DIR/$name.log"
  local files=( "$@" )
  # shellcheck disable=SC2086
  node --import tsx --test --test-reporter=spec --test-reporter-destination=stdout $extra "${files[@]}" 2>&1 | tee "$log"
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

LANES_FILE=test/integration/lanes.txt
# The integration tier in its two lanes. Every test file must be in exactly one lane, and every
# listed file must exist: a new file is placed by its author, never parallel by default.
run_integration_lanes() {
  local parallel=() serial=() unplaced=() lane file rest f
  if [ ! -f "$LANES_FILE" ]; then summary+=("integration: FAILED ($LANES_FILE is missing)"); failed=1; return; fi
  while read -r lane file rest; do
    case "$lane" in ''|'#'*) continue ;; esac
    # A line for a file that is gone runs nothing (a misspelt one leaves the real file in no lane, which fails below).
    if [ ! -f "test/integration/$file" ]; then summary+=("integration: note: $LANES_FILE names test/integration/$file, which does not exist (remove the line)"); continue; fi
    case " ${parallel[*]} ${serial[*]} " in *" test/integration/$file "*) summary+=("integration: FAILED ($LANES_FILE lists $file twice: keep one line)"); failed=1; return ;; esac
    case "$lane" in
      parallel) parallel+=("test/integration/$file") ;;
      serial) serial+=("test/integration/$file") ;;
      *) summary+=("integration: FAILED ($LANES_FILE: unknown lane '$lane' for $file; use parallel or serial)"); failed=1; return ;;
    esac
  done < "$LANES_FILE"
  shopt -s globstar nullglob
  for f in test/integration/**/*.test.ts; do
    case " ${parallel[*]} ${serial[*]} " in *" $f "*) ;; *) unplaced+=("$f") ;; esac
  done
  shopt -u globstar nullglob
  if [ ${#unplaced[@]} != 0 ]; then
    summary+=("integration: FAILED (in no lane: ${unplaced[*]}; add each to $LANES_FILE as parallel or serial, see its header)"); failed=1; return
  fi
  local lanes="${PADDOCK_INTEGRATION_LANES:-parallel serial}" started
  : > "$RESULTS_DIR/integration.log"
  if [[ " $lanes " == *" parallel "* ]] && [ ${#parallel[@]} != 0 ]; then
    started=$SECONDS
    run_node_files integration-parallel "--test-concurrency=${PADDOCK_PARALLEL_FILES:-1}" "${parallel[@]}"
    walls+=("integration parallel lane $((SECONDS - started)) s")
    cat "$RESULTS_DIR/integration-parallel.log" >> "$RESULTS_DIR/integration.log"
  fi
  if [[ " $lanes " == *" serial "* ]] && [ ${#serial[@]} != 0 ]; then
    started=$SECONDS
    run_node_files integration-serial --test-concurrency=1 "${serial[@]}"
    walls+=("integration serial lane $((SECONDS - started)) s")
    cat "$RESULTS_DIR/integration-serial.log" >> "$RESULTS_DIR/integration.log"
  fi
}

# The extension packaged and installed once for the whole e2e tier: every file's code-server uses
# that extensions folder (PADDOCK_E2E_EXTENSIONS), each with a fresh profile of its own. An e2e
# file run on its own packages and installs it itself.
package_e2e_extension() {
  local out="$RESULTS_DIR/e2e-vsix" paths code_server node
  # From scratch: an install over an earlier one of the same version keeps the earlier files.
  rm -rf "$out"
  mkdir -p "$out"
  node_modules/.bin/vsce package --no-dependencies --allow-missing-repository --skip-license -o "$out/paddock.vsix" >/dev/null || return 1
  PADDOCK_E2E_VSIX="$(cd "$out" && pwd)/paddock.vsix"
  paths="$(scripts/ensure-e2e.sh --print-env)"
  code_server="$(sed -n 's/^PADDOCK_E2E_CODE_SERVER=//p' <<<"$paths")"
  node="$(sed -n 's/^PADDOCK_E2E_NODE=//p' <<<"$paths")"
  PATH="$(dirname "$node"):$PATH" XDG_CONFIG_HOME="$out/install/config" XDG_DATA_HOME="$out/install/data" \
    "$code_server" --user-data-dir "$out/install/user-data" --extensions-dir "$out/extensions" --install-extension "$PADDOCK_E2E_VSIX" >/dev/null || return 1
  PADDOCK_E2E_EXTENSIONS="$(cd "$out/extensions" && pwd)"
  export PADDOCK_E2E_VSIX PADDOCK_E2E_EXTENSIONS
}

walls=()
for tier in $TIERS; do
  echo "=== tier: $tier"
  tier_started=$SECONDS
  case "$tier" in
    static)
      if npm run -s typecheck && npm run -s lint; then summary+=("static: typecheck + lint clean"); else summary+=("static: FAILED"); failed=1; fi ;;
    unit) run_node_tier unit "test/unit/**/*.test.ts" ;;
    integration) run_integration_lanes ;;
    template) run_node_tier template "test/template/**/*.test.ts" --test-concurrency=1 ;;
    e2e)
      if [ -x scripts/ensure-e2e.sh ]; then
        scripts/ensure-e2e.sh || { summary+=("e2e: setup FAILED"); failed=1; continue; }
        package_e2e_extension || { summary+=("e2e: packaging or installing the extension (vsce package, code-server --install-extension) FAILED: see above"); failed=1; continue; }
        walls+=("e2e setup (checks, package, install) $((SECONDS - tier_started)) s")
        run_node_tier e2e "test/e2e/**/*.test.ts" --test-concurrency=1
      else
        summary+=("e2e: not built yet (scripts/ensure-e2e.sh missing)")
      fi ;;
    *) echo "unknown tier $tier"; failed=1 ;;
  esac
  walls+=("$tier $((SECONDS - tier_started)) s")
done

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "wall time: $(IFS=,; echo "${walls[*]}" | sed 's/,/, /g')"
exit $failed
