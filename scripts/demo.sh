#!/usr/bin/env bash
# Quick start: installs what is missing, then runs the default agent (Claude Code) in a sandbox
# on the embedded demo workspace. Extra arguments go to `paddock demo` (e.g. --agent shell).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run -s build
scripts/ensure-engine.sh
exec node bin/paddock demo "$@"
