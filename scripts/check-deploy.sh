#!/usr/bin/env bash
# `npm run test:deploy`: the Helm chart checked without a cluster. helm lint, then helm template
# over the default values (KEDA), with KEDA off and the HPA on, and with every secret and option
# set; fails on any error or when a variant lacks the objects it should render.
# helm is built from its Go module (go install: 1.5 min with a warm Go build cache, 6-8 min cold) into
# ~/.cache/fraud-engine/helm, outside git; HELM=/path/to/helm uses another one.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CHART="$ROOT/deploy/helm/fraud-engine"
HELM_VERSION=v3.22.0
KUBE_VERSION=1.30.0   # helm template assumes an old cluster otherwise (the chart needs >= 1.25)
say() { printf '[check-deploy] %s\n' "$*" >&2; }

HELM=${HELM:-}
if [[ -z $HELM ]]; then
  bin="${XDG_CACHE_HOME:-$HOME/.cache}/fraud-engine/helm/$HELM_VERSION"
  HELM="$bin/helm"
  if [[ ! -x $HELM ]]; then
    command -v go >/dev/null || { say "go is needed to build helm $HELM_VERSION (or set HELM=/path/to/helm)"; exit 1; }
    say "building helm $HELM_VERSION with go install into $bin"
    start=$SECONDS
    GOFLAGS=-mod=mod GOBIN="$bin" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    say "helm built in $((SECONDS - start)) s"
  fi
fi
"$HELM" version --short >&2

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

say "helm lint (default values, then KEDA off / HPA on)"
"$HELM" lint --strict "$CHART" --kube-version "$KUBE_VERSION" >&2
"$HELM" lint --strict "$CHART" --kube-version "$KUBE_VERSION" --set autoscaling.mode=hpa >&2

# render NAME [--set ...]: helm template into $out/NAME.yaml.
render() {
  local name=$1; shift
  "$HELM" template fe "$CHART" --namespace fraud --kube-version "$KUBE_VERSION" "$@" >"$out/$name.yaml"
  say "template $name: $(grep -c '^kind:' "$out/$name.yaml") objects ($(grep '^kind:' "$out/$name.yaml" | sort | uniq -c | awk '{printf "%s %s, ", $1, $3}' | sed 's/, $//'))"
}
# expect NAME KIND COUNT: the rendering NAME holds COUNT objects of KIND.
expect() {
  local got
  got=$(grep -c "^kind: $2\$" "$out/$1.yaml" || true)
  [[ $got == "$3" ]] || { say "FAIL: $1 renders $got $2 (expected $3)"; exit 1; }
}

render default
expect default Deployment 3
expect default ScaledObject 1
expect default HorizontalPodAutoscaler 0
expect default PrometheusRule 1
expect default ServiceMonitor 1
expect default PodDisruptionBudget 1
expect default NetworkPolicy 2
expect default Secret 0   # the chart never carries a secret
expect default Job 1      # fraud-engine migrate, a pre-install/pre-upgrade hook

render hpa --set autoscaling.mode=hpa
expect hpa ScaledObject 0
expect hpa HorizontalPodAutoscaler 1

render full --set autoscaling.mode=none \
  --set secrets.kafkaSasl.existingSecret=fe-kafka,secrets.schemaRegistry.existingSecret=fe-registry \
  --set secrets.redis.existingSecret=fe-redis,secrets.postgres.existingSecret=fe-pg,secrets.tls.existingSecret=fe-tls \
  --set autoscaling.keda.authenticationRef=fe-kafka-auth,console.enabled=false,audit.enabled=false \
  --set 'networkPolicy.egress[0].to[0].ipBlock.cidr=10.0.0.0/8' \
  --set engine.postgresUrl=postgres://fraud_engine@db:5432/fraud,secrets.enginePostgres.existingSecret=fe-engine-pg \
  --set migrations.engineRole=fraud_engine
expect full Deployment 1
expect full Job 1
# The engine reads as its own role (its password only, not the owner's); the Job grants that role.
grep -q 'name: fe-engine-pg' "$out/full.yaml" || { say "FAIL: full does not give the engine its own PGPASSWORD"; exit 1; }
[[ $(grep -c 'name: PGPASSWORD$' "$out/full.yaml") == 2 ]] || { say "FAIL: full sets PGPASSWORD other than once in the engine and once in the Job"; exit 1; }
grep -q -- '- --engine-role' "$out/full.yaml" || { say "FAIL: the migrate Job of full does not grant the engine role"; exit 1; }
expect full ScaledObject 0
expect full HorizontalPodAutoscaler 0
expect full NetworkPolicy 1
for v in FRAUD_KAFKA_SASL_PASSWORD FRAUD_SCHEMA_REGISTRY_PASSWORD FRAUD_REDIS_PASSWORD PGPASSWORD; do
  grep -q "name: $v\$" "$out/full.yaml" || { say "FAIL: full does not set $v from its Secret"; exit 1; }
done

# Every rendered document is valid YAML with a kind and a name (yaml, from the project's node_modules).
(cd "$ROOT" && node --input-type=module -e '
  import { readFileSync } from "node:fs";
  import { parseAllDocuments } from "yaml";
  for (const file of process.argv.slice(1)) {
    for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
      const o = doc.toJS();
      if (o && !(o.kind && o.metadata?.name)) throw new Error(`${file}: a document without kind or name`);
    }
  }' "$out"/*.yaml) || { say "FAIL: a rendered manifest does not parse"; exit 1; }

# Values the schema refuses must stop helm (the chart never holds a secret).
if "$HELM" template fe "$CHART" --kube-version "$KUBE_VERSION" --set config.redis.password=x >/dev/null 2>&1; then
  say "FAIL: a password in the values was accepted"; exit 1
fi
say "ok"
