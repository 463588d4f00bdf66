#!/usr/bin/env bash
# `npm test`: installs what is missing, starts the local stack when it is not up,
# then runs the unit and integration tests against the real services.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/bootstrap.sh
bash scripts/setup-python.sh >/dev/null
scripts/stack status --json >/dev/null 2>&1 || scripts/stack up
npx tsc -p tsconfig.test.json
npx vitest run "$@"
