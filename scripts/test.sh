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
npx tsc -p tsconfig.test.json
npx vitest run "$@"
