/**
 * The metric names of both registries by Prometheus's conventions, checked by `promtool check
 * metrics` (durations in seconds, counters ending in _total, help on every family). Every
 * labelled family gets one sample first: promtool checks only families that have samples.
 * test/integration/metrics-conventions.test.ts checks a live engine's /metrics the same way.
 */
import { describe, expect, it } from 'vitest';
import {
  createChallengerMetrics,
  createDriftMetrics,
  createMetrics,
  msToSeconds,
} from '../../src/observability/metrics.js';
import { createAuditMetrics } from '../../src/sinks/audit/metrics.js';
import { checkMetrics } from '../helpers/promtool.js';

describe('metric names (promtool check metrics)', () => {
  it("the engine's registry, every family with a sample, passes with no complaint", async () => {
    const m = createMetrics();
    m.decisions.inc({ outcome: 'APPROVE' });
    m.e2eLatency.observe(msToSeconds(42));
    m.engineLatency.observe(msToSeconds(3));
    m.stageLatency.observe({ stage: 'features' }, msToSeconds(1.5));
    m.batchSize.observe(10);
    m.ruleHits.inc({ rule: 'r1', mode: 'active' });
    m.ruleErrors.inc({ rule: 'r1' });
    m.score.observe(0.3);
    m.dlq.inc({ reason: 'undecodable' });
    m.degraded.inc({ reason: 'features_timeout' });
    m.redelivered.inc();
    m.featuresShed.inc({ recorded: 'true' }, 3);
    m.featureCapacity.set(12000);
    m.featuresInFlight.set(40);
    m.labels.inc({ fraud: 'true' });
    m.consumerLag.set({ topic: 'authorizations', partition: '0' }, 5);
    m.rulesetInfo.set({ version: 'v1' }, 1);
    m.modelInfo.set({ version: 'm1' }, 1);
    m.rulesetReloads.inc({ result: 'ok' });
    const drift = createDriftMetrics(m.registry);
    drift.featurePsi.set({ feature: 'tx_amount' }, 0.02);
    drift.scorePsi.set(0.01);
    drift.driftSamples.set(500);
    const challenger = createChallengerMetrics(m.registry);
    challenger.score.observe(0.4);
    challenger.agreement.inc({ agree: 'false' });
    challenger.outcomeChanges.inc({ from: 'REVIEW', to: 'DECLINE' });
    challenger.errors.inc();
    challenger.info.set({ version: 'm2' }, 1);
    m.modelReloads.inc({ role: 'champion' });
    m.modelReloadFailures.inc({ role: 'challenger', reason: 'sha256' });
    const text = await m.registry.metrics();
    expect(text).toMatch(/^fraud_stage_latency_seconds_bucket\{le="0.002",stage="features"\} 1$/m);
    expect(checkMetrics(text)).toEqual({ code: 0, output: '' });
  });

  it("the audit sink's registry passes with no complaint", async () => {
    const m = createAuditMetrics();
    m.rows.inc();
    m.duplicates.inc();
    m.skipped.inc({ reason: 'invalid' });
    m.labels.inc({ fraud: 'true' });
    m.labelDuplicates.inc();
    m.writeErrors.inc();
    m.batchLatency.observe(msToSeconds(12));
    m.batchRows.observe(100);
    m.consumerLag.set({ topic: 'decisions', partition: '0' }, 0);
    expect(checkMetrics(await m.registry.metrics())).toEqual({ code: 0, output: '' });
  });

  it('the check refuses what the registries used to expose: a millisecond histogram, a gauge named _total', () => {
    const r = checkMetrics(
      [
        '# HELP fraud_decision_latency_ms Latency (ms)',
        '# TYPE fraud_decision_latency_ms histogram',
        'fraud_decision_latency_ms_bucket{le="+Inf"} 1',
        'fraud_decision_latency_ms_sum 3',
        'fraud_decision_latency_ms_count 1',
        '# HELP fraud_process_nodejs_active_handles_total Total number of active handles.',
        '# TYPE fraud_process_nodejs_active_handles_total gauge',
        'fraud_process_nodejs_active_handles_total 4',
        '',
      ].join('\n'),
    );
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/fraud_decision_latency_ms metric names should not contain abbreviated units/);
    expect(r.output).toMatch(/fraud_process_nodejs_active_handles_total non-counter metrics should not have "_total"/);
  });
});
