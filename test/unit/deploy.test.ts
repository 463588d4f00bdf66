/**
 * The release artifacts checked without Docker or a cluster (docs/deploy.md): the chart's values
 * against its schema and the engine's configuration loader, the metric and label names of the
 * dashboard and the alerts against the code's registries, the Dockerfile's runtime stage, and the
 * chart's alerts against docs/operations.md. `scripts/check-deploy.sh` adds helm lint and template.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { createDriftMetrics, createMetrics } from '../../src/observability/metrics.js';
import { createAuditMetrics } from '../../src/sinks/audit/metrics.js';
import { seriesOf, unknownNames } from '../helpers/promql-names.js';

const root = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(resolve(root, path), 'utf8');
const CHART = 'deploy/helm/fraud-engine';

type Section = Record<string, unknown>;
type Values = { config: Record<string, Section>; [key: string]: unknown };
/** The parts of the values the negative cases change. */
type Mutable = Values & { securityContext: Section; podSecurityContext: Section; autoscaling: Section };
const values = () => parse(read(`${CHART}/values.yaml`)) as Values;
const validator = () =>
  new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(read(`${CHART}/values.schema.json`)));

/** A section.key list of a configuration document. */
const keysOf = (doc: Record<string, Record<string, unknown>>) =>
  Object.entries(doc)
    .flatMap(([section, fields]) => Object.keys(fields).map((k) => `${section}.${k}`))
    .sort();

describe('Helm chart values', () => {
  it('values.yaml validates against values.schema.json', () => {
    const validate = validator();
    expect(validate(values()), JSON.stringify(validate.errors)).toBe(true);
  });

  it('the schema refuses a secret in the values, a URL with a password, a root container and an unknown mode', () => {
    const validate = validator();
    const bad: ((v: Mutable) => void)[] = [
      (v) => (v.config.redis!.password = 'hunter2'),
      (v) => (v.config.kafka!.sasl_password = 'hunter2'),
      (v) => (v.config.postgres!.url = 'postgres://fraud:hunter2@db:5432/fraud'),
      (v) => (v.securityContext.readOnlyRootFilesystem = false),
      (v) => (v.podSecurityContext.runAsNonRoot = false),
      (v) => (v.autoscaling.mode = 'vpa'),
      (v) => (v.config.engine!.typo_key = 1),
    ];
    for (const change of bad) {
      const v = values() as Mutable;
      change(v);
      expect(validate(v), change.toString()).toBe(false);
    }
  });

  it("its config is a configuration the engine loads, with config/default.yaml's keys", () => {
    const cfgValues = values().config;
    expect(keysOf(cfgValues)).toEqual(keysOf(parse(read('config/default.yaml')) as Values['config']));
    const file = join(mkdtempSync(join(tmpdir(), 'fe-chart-')), 'config.yaml');
    writeFileSync(file, stringify(cfgValues));
    const cfg = loadConfig(file, {});
    expect(cfg.engine.http_host).toBe('0.0.0.0'); // reachable by the probes and Prometheus
  });
});

describe('metric names of the dashboard and the alerts', () => {
  const engine = createMetrics();
  createDriftMetrics(engine.registry); // registered when the model has a drift reference
  const series = seriesOf(engine.registry, createAuditMetrics().registry);
  const dashboard = JSON.parse(read('deploy/grafana/fraud-engine.json')) as {
    templating: { list: { name: string; type: string; query: string }[] };
    panels: { type: string; title: string; datasource?: { uid: string }; targets?: { expr: string }[] }[];
  };
  const alerts = parse(read(`${CHART}/files/alerts.yaml`)) as {
    spec: { groups: { rules: { alert: string; expr: string }[] }[] };
  };

  it('the checker finds an unknown metric, an unknown label and a renamed histogram', () => {
    expect(unknownNames('sum by (outcome) (rate(fraud_decisions_total[5m]))', series)).toEqual([]);
    expect(unknownNames('rate(fraud_decision_total[5m])', series)).toEqual(['unknown metric fraud_decision_total']);
    expect(unknownNames('fraud_dlq_total{outcome="x"}', series)).toEqual(['fraud_dlq_total has no label outcome']);
    expect(unknownNames('sum by (stage) (rate(fraud_decisions_total[5m]))', series)).toHaveLength(1);
    expect(unknownNames('fraud_decision_latency_ms_bucket', series)).toHaveLength(1);
  });

  it('every series and label the dashboard queries exists in the code', () => {
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThan(20);
    const problems = exprs.flatMap(({ panel, expr }) => unknownNames(expr, series).map((e) => `${panel}: ${e}`));
    expect(problems).toEqual([]);
  });

  it('the dashboard covers what it promises and queries through its Prometheus datasource variable', () => {
    const all = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    for (const needed of [
      'fraud_decisions_total',
      'fraud_decision_latency_seconds_bucket',
      'fraud_stage_latency_seconds_bucket',
      'fraud_degraded_total',
      'fraud_dlq_total',
      'fraud_consumer_lag',
      'fraud_rule_hits_total',
      'fraud_model_score_bucket',
      'stage="features"',
      'stage="model"',
    ])
      expect(all).toContain(needed);
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    for (const p of dashboard.panels.filter((p) => p.type !== 'row')) expect(p.datasource?.uid).toBe('${datasource}');
  });

  it('every series and label the alerts use exists in the code', () => {
    const rules = alerts.spec.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(5);
    expect(rules.flatMap((r) => unknownNames(r.expr, series).map((e) => `${r.alert}: ${e}`))).toEqual([]);
  });
});

describe('Dockerfile', () => {
  const stages = read('Dockerfile')
    .split(/^FROM\s+/m)
    .slice(1);
  const runtime = stages.at(-1)!;
  const build = stages[0]!;
  /** The instructions `op` of a stage, each on one line (continuations joined, comments dropped). */
  const instructions = (stage: string, op: string) =>
    stage
      .split('\n')
      .filter((line) => !/^\s*#/.test(line))
      .join('\n')
      .replace(/\\\n/g, ' ')
      .split('\n')
      .filter((line) => new RegExp(`^${op}\\s`).test(line));

  it('is multi-stage: npm ci without the onnxruntime download and tsc in the build stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build).toMatch(/ONNXRUNTIME_NODE_INSTALL=skip/);
    expect(build).toMatch(/npm ci\b/);
    expect(build).toMatch(/tsc -p tsconfig\.json/);
    expect(build).toMatch(/npm prune --omit=dev/);
    expect(runtime).toMatch(/^\$\{NODE_IMAGE\}|^node:20[^\s]*-slim/);
    expect(read('Dockerfile')).toMatch(/^ARG NODE_IMAGE=node:20-[a-z]+-slim$/m);
  });

  it('runs its runtime stage as a non-root user with a health check on /healthz', () => {
    const users = instructions(runtime, 'USER').map((l) => l.replace(/^USER\s+/, '').trim());
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const health = instructions(runtime, 'HEALTHCHECK');
    expect(health).toHaveLength(1);
    expect(health[0]).toMatch(/CMD .*127\.0\.0\.1:.*FRAUD_HEALTHCHECK_PORT.*\/healthz/);
    // The port it probes by default is the engine's (config/default.yaml engine.http_port).
    const port = /FRAUD_HEALTHCHECK_PORT=(\d+)/.exec(runtime)?.[1];
    expect(Number(port)).toBe(loadConfig(resolve(root, 'config/default.yaml'), {}).engine.http_port);
  });

  it('copies the model, the config, rules and schemas and the migrations, never training/', () => {
    const copies = instructions(runtime, 'COPY').join('\n');
    for (const needed of ['models', 'config', 'dist', 'node_modules', 'bin', 'src/storage/migrations'])
      expect(copies).toContain(needed);
    expect(copies).not.toMatch(/training|\bCOPY\s+(--\S+\s+)*\.\s/);
    expect(read('.dockerignore')).toMatch(/^training\/$/m);
    expect(instructions(runtime, 'ENTRYPOINT').join('')).toContain('"node", "bin/fraud-engine.js"');
  });
});

describe('alerts', () => {
  it("the chart's PrometheusRule carries exactly the alerts of docs/operations.md", () => {
    const section = read('docs/operations.md').split(/^## 6\. Alerts$/m)[1] ?? '';
    const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const documented = parse(block!) as unknown;
    expect(parse(read(`${CHART}/files/alerts.yaml`))).toEqual(documented);
    expect(read(`${CHART}/templates/prometheusrule.yaml`)).toMatch(/\.Files\.Get "files\/alerts\.yaml"/);
  });
});
