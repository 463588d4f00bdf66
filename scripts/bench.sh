#!/usr/bin/env bash
# `npm run bench -- [--quick] [--json FILE]`: installs what is missing, starts the stack if
# needed (and stops it again if it was not running), then runs fraud-engine bench.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/bootstrap.sh
started=0
if ! scripts/stack status --json >/dev/null 2>&1; then scripts/stack up; started=1; fi
scripts/stack roles
set -a; source "${FRAUD_STACK_DIR:-.stack}/stack.env"; set +a
# The engine never migrates: the schema first; the bench's engines then read rules as the
# engine's read-only role.
node bin/fraud-engine.js migrate --engine-role fraud_engine
export FRAUD_POSTGRES_URL=$FRAUD_ENGINE_POSTGRES_URL
unset FRAUD_REDIS_CLUSTER_NODES   # the bench measures a single Redis node
rc=0
node bin/fraud-engine.js bench "$@" || rc=$?
# Leave the stack as it was found.
if (( started )); then scripts/stack down; fi
exit $rc
