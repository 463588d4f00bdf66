#!/usr/bin/env bash
# `npm run test:kafka-faults`: the multi-broker fault tests (test/faults/*.fault.ts) against a
# three-broker Kafka of their own (scripts/stack up --kafka-brokers 3 --only kafka, in its own
# state directory and ports), with the schema registry and Redis of the local stack
# (FRAUD_SCHEMA_REGISTRY_URL / FRAUD_REDIS_URL from the environment or .stack/stack.env).
# Also the scale-out tests (test/faults/scale-out.fault.ts); one file: `npm run test:kafka-faults --
# test/faults/scale-out.fault.ts`. The brokers are stopped at the end unless KEEP_KAFKA=1.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SHARED=${FRAUD_SHARED_STACK_DIR:-$ROOT/.stack}
STATE=${FRAUD_KAFKA_FAULTS_DIR:-${TMPDIR:-/tmp}/fraud-kafka-faults}
# The shared stack's registry and Redis unless already given.
if [[ -f $SHARED/stack.env ]]; then
  while IFS='=' read -r k v; do
    case $k in FRAUD_SCHEMA_REGISTRY_URL | FRAUD_REDIS_URL) [[ -n ${!k:-} ]] || export "$k=$v" ;; esac
  done < "$SHARED/stack.env"
fi
export FRAUD_STACK_DIR=$STATE
unset FRAUD_KAFKA_BROKERS   # the test reads the three brokers from $STATE/stack.env
scripts/stack up --kafka-brokers 3 --only kafka
[[ ${KEEP_KAFKA:-} == 1 ]] || trap 'scripts/stack down' EXIT
npx tsc -p tsconfig.json
npx vitest run --config vitest.faults.config.ts "$@"
