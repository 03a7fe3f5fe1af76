#!/usr/bin/env bash
# Installs the pinned npm `midjourney` client used by tests/fidelity (idempotent, quiet).
# Without npm it warns and exits 0 (the fidelity test then skips), unless FIDELITY_REQUIRED=1.
set -euo pipefail
cd "$(dirname "$0")/node"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "fidelity: node/npm not found; the npm-client fidelity test will be skipped" >&2
  [ "${FIDELITY_REQUIRED:-0}" = "1" ] && exit 1
  exit 0
fi
# Fast path: node_modules already matches the lock file (npm writes node_modules/.package-lock.json).
if [ -f node_modules/.package-lock.json ] && [ -f node_modules/midjourney/package.json ] \
   && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error >/dev/null
