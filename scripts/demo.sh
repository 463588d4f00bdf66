#!/usr/bin/env bash
# `npm run demo [-- --rate R --duration S]`: installs what is missing, starts the local
# stack, then runs the engine end to end with a load generator (fraud-engine demo).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/bootstrap.sh
scripts/stack status --json >/dev/null 2>&1 || scripts/stack up
scripts/stack roles
set -a; source .stack/stack.env; set +a
# The engine never migrates: the schema first, then its read-only role's grants (the engine of
# the demo connects as that role, FRAUD_ENGINE_POSTGRES_URL).
node bin/fraud-engine.js migrate --engine-role fraud_engine
exec node bin/fraud-engine.js demo "$@"
