#!/usr/bin/env bash
# `npm test`: installs what is missing, starts the local stack when it is not up,
# then runs the unit and integration tests against the real services.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/bootstrap.sh
PY=$(bash scripts/setup-python.sh | tail -n 1)   # training/.venv/bin/python unless FRAUD_VENV_DIR
# The trainer's own tests (training/tests, training/pytest.ini): any failure stops here, and so
# does pytest's exit code 5 (no test collected).
"$PY" -m pytest -q training/tests
scripts/stack status --json >/dev/null 2>&1 || scripts/stack up
# The engine never migrates: the schema first, then its read-only role and that role's grants.
scripts/stack roles
STACK_ENV=${FRAUD_STACK_DIR:-$ROOT/.stack}/stack.env
FRAUD_POSTGRES_URL=${FRAUD_POSTGRES_URL:-$(sed -n 's/^FRAUD_POSTGRES_URL=//p' "$STACK_ENV")} \
  node bin/fraud-engine.js migrate --engine-role fraud_engine
# The Redis Cluster of the tests that run on a cluster too (a few seconds); stopped after if started here.
cluster_started=0
if ! scripts/stack cluster status >/dev/null 2>&1; then scripts/stack cluster up; cluster_started=1; fi
trap '(( cluster_started )) && scripts/stack cluster down' EXIT
npx tsc -p tsconfig.test.json
npx vitest run "$@"
