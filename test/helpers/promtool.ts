/**
 * promtool, Prometheus's own checker (Debian's `prometheus` package, installed by
 * scripts/bootstrap.sh), run for real: `check metrics` on an exposition, `check rules` and
 * `test rules` on rule groups.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');
export const ALERTS = join(ROOT, 'deploy/helm/fraud-engine/files/alerts.yaml');
export const ALERTS_TEST = join(ROOT, 'deploy/helm/fraud-engine/files/alerts.test.yaml');

export interface PromtoolResult {
  code: number | null;
  /** stdout and stderr together, trimmed. */
  output: string;
}

/** Runs `promtool args…` (in `cwd`, with `input` on stdin). */
export function promtool(args: string[], opts: { input?: string; cwd?: string } = {}): PromtoolResult {
  const r = spawnSync('promtool', args, { input: opts.input, cwd: opts.cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error)
    throw new Error(`promtool ${args[0]}: ${r.error.message} (Debian package prometheus: scripts/bootstrap.sh)`);
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** `promtool check metrics` on a /metrics body: exit 0 and no output when it follows the conventions. */
export function checkMetrics(exposition: string): PromtoolResult {
  return promtool(['check', 'metrics'], { input: exposition });
}

/**
 * The PrometheusRule's groups as a Prometheus rules file (what promtool reads), written to a new
 * directory as alerts.rules.yaml beside a copy of alerts.test.yaml, which names that file.
 * `alertsYaml` replaces the chart's alerts (a test breaks one on purpose).
 */
export function rulesDir(alertsYaml = readFileSync(ALERTS, 'utf8')): string {
  const dir = mkdtempSync(join(tmpdir(), 'fe-promtool-'));
  const doc = parse(alertsYaml) as { spec: { groups: unknown[] } };
  writeFileSync(join(dir, 'alerts.rules.yaml'), stringify({ groups: doc.spec.groups }));
  writeFileSync(join(dir, 'alerts.test.yaml'), readFileSync(ALERTS_TEST, 'utf8'));
  return dir;
}
