#!/usr/bin/env bash
# `npm run demo [-- --rate R --duration S]`: installs what is missing, starts the local
# stack, then runs the engine end to end with a load generator (fraud-engine demo).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/bootstrap.sh
scripts/stack status --json >/dev/null 2>&1 || scripts/stack up
set -a; source .stack/stack.env; set +a
exec node bin/fraud-engine.js demo "$@"
