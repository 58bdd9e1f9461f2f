#!/usr/bin/env bash
# Quick start: installs what is missing, then runs the default agent (Claude Code) in a sandbox
# on the embedded demo workspace. Extra arguments go to `paddock demo` (e.g. --agent shell).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run -s build
scripts/ensure-engine.sh
exec node bin/paddock demo "$@"
