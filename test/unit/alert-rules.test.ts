/**
 * The chart's alerts checked by Prometheus's own tool: `promtool check rules` on the
 * PrometheusRule's groups, and `promtool test rules` with files/alerts.test.yaml, which gives each
 * alert synthetic series on which it must fire and series on which it must stay silent.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERTS, ALERTS_TEST, promtool, rulesDir } from '../helpers/promtool.js';

describe('alerts (promtool)', () => {
  it('promtool check rules accepts the PrometheusRule groups', () => {
    const r = promtool(['check', 'rules', 'alerts.rules.yaml'], { cwd: rulesDir() });
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.code, r.output).toBe(0);
  });

  it('alerts.test.yaml fires and spares every alert of the chart', () => {
    const r = promtool(['test', 'rules', 'alerts.test.yaml'], { cwd: rulesDir() });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS/);
    // Each alert is tested, firing at least once and silent at least once.
    const alerts = (
      parse(readFileSync(ALERTS, 'utf8')) as { spec: { groups: { rules: { alert: string }[] }[] } }
    ).spec.groups.flatMap((g) => g.rules.map((rule) => rule.alert));
    const cases = (
      parse(readFileSync(ALERTS_TEST, 'utf8')) as {
        tests: { alert_rule_test: { alertname: string; exp_alerts?: unknown[] }[] }[];
      }
    ).tests.flatMap((t) => t.alert_rule_test);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${alert} fires`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${alert} stays silent`,
      ).toBe(true);
    }
  });

  it('a broken alert fails the unit tests (a threshold ten times too high, an alert that never waits)', () => {
    const alerts = readFileSync(ALERTS, 'utf8');
    for (const broken of [
      alerts.replace(
        'fraud_decision_latency_seconds_bucket[5m]))) > 0.1',
        'fraud_decision_latency_seconds_bucket[5m]))) > 1',
      ),
      alerts.replace(
        'fraud_process_process_resident_memory_bytes > 700e6\n          for: 10m',
        'fraud_process_process_resident_memory_bytes > 700e6\n          for: 1m',
      ),
    ]) {
      expect(broken).not.toBe(alerts);
      const r = promtool(['test', 'rules', 'alerts.test.yaml'], { cwd: rulesDir(broken) });
      expect(r.code).toBe(1);
      expect(r.output).toMatch(/FAILED/);
    }
  });
});
