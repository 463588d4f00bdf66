/**
 * The overview's figures: audit rows mapped to counts, the per-minute series, the score histogram
 * and the queue (src/sinks/audit/overview-stats.ts); the engine's /metrics text read into its
 * state (src/observability/engine-info.ts); the page's age format.
 */
import { describe, expect, it } from 'vitest';
import { sharedFor } from '../../src/console/routes/overview.js';
import { formatAge } from '../../src/console/routes/overview-view.js';
import { engineInfoOf, fetchEngineInfo, parseMetrics } from '../../src/observability/engine-info.js';
import { minuteSeriesOf, scoreBucketsOf, seriesStart, windowCountsOf } from '../../src/sinks/audit/overview-stats.js';

describe('overview stats: rows to figures', () => {
  it('adds up the hour and the day per outcome, with the degraded ones, and ignores unknown outcomes', () => {
    const { lastHour, lastDay } = windowCountsOf([
      { outcome: 'APPROVE', hour: '5', day: '40', hour_degraded: '1', day_degraded: '2' },
      { outcome: 'REVIEW', hour: '2', day: '3', hour_degraded: '0', day_degraded: '1' },
      { outcome: 'DECLINE', hour: 0, day: 7, hour_degraded: 0, day_degraded: 0 },
      { outcome: 'BOGUS', hour: '100', day: '100', hour_degraded: '100', day_degraded: '100' },
    ]);
    expect(lastHour).toEqual({ APPROVE: 5, REVIEW: 2, DECLINE: 0, total: 7, degraded: 1 });
    expect(lastDay).toEqual({ APPROVE: 40, REVIEW: 3, DECLINE: 7, total: 50, degraded: 3 });
  });

  it('gives zeros when there are no rows', () => {
    expect(windowCountsOf([]).lastDay).toEqual({ APPROVE: 0, REVIEW: 0, DECLINE: 0, total: 0, degraded: 0 });
  });

  it('lays the per-minute rows on sixty minutes ending with the current one, zero-filled', () => {
    const now = new Date('2026-12-01T10:30:42Z');
    const start = seriesStart(now);
    expect(start.toISOString()).toBe('2026-12-01T09:31:00.000Z');
    const series = minuteSeriesOf(
      [
        { minute_ms: String(Date.parse('2026-12-01T10:30:00Z')), outcome: 'APPROVE', n: '4' },
        { minute_ms: Date.parse('2026-12-01T10:30:00Z'), outcome: 'DECLINE', n: 1 },
        { minute_ms: Date.parse('2026-12-01T09:31:00Z'), outcome: 'REVIEW', n: '2' },
        // Outside the window (a clock skew): dropped, not wrapped round.
        { minute_ms: Date.parse('2026-12-01T09:30:00Z'), outcome: 'APPROVE', n: '9' },
      ],
      now,
    );
    expect(series).toHaveLength(60);
    expect(series[0]).toEqual({ minute: start, APPROVE: 0, REVIEW: 2, DECLINE: 0 });
    expect(series[59]).toEqual({ minute: new Date('2026-12-01T10:30:00Z'), APPROVE: 4, REVIEW: 0, DECLINE: 1 });
    expect(series.reduce((a, m) => a + m.APPROVE + m.REVIEW + m.DECLINE, 0)).toBe(7);
  });

  it('makes ten score buckets of 0.1 and fills the given ones', () => {
    const b = scoreBucketsOf([
      { bucket: 1, n: '10' },
      { bucket: '10', n: '3' },
      { bucket: 11, n: '99' },
    ]);
    expect(b).toHaveLength(10);
    expect(b[0]).toEqual({ lo: 0, hi: 0.1, count: 10 });
    expect(b[9]).toEqual({ lo: 0.9, hi: 1, count: 3 });
    expect(b.slice(1, 9).every((x) => x.count === 0)).toBe(true);
  });

  it('formats ages for people', () => {
    expect(formatAge(42_000)).toBe('42 s');
    expect(formatAge(7 * 60_000 + 5_000)).toBe('7 min');
    expect(formatAge(3 * 3_600_000 + 5 * 60_000)).toBe('3 h 05 min');
    expect(formatAge(50 * 3_600_000)).toBe('2 d 2 h');
  });
});

describe("engine info from the engine's /metrics", () => {
  const TEXT = `# HELP fraud_decisions_total Decisions produced, by outcome
# TYPE fraud_decisions_total counter
fraud_decisions_total{outcome="APPROVE"} 120
fraud_decisions_total{outcome="REVIEW"} 7
fraud_decisions_total{outcome="DECLINE"} 3
fraud_dlq_total{reason="decode"} 2
fraud_dlq_total{reason="validate"} 1
fraud_degraded_total{reason="redis_timeout"} 4
fraud_consumer_lag{topic="authorizations",partition="0"} 5
fraud_consumer_lag{topic="authorizations",partition="1"} 6
fraud_ruleset_info{version="pg:12"} 1
fraud_ruleset_info{version="pg:11"} 0
fraud_model_info{version="lgbm-2026-11-30"} 1
fraud_model_score_bucket{le="+Inf"} 130
weird line without value
`;

  it('parses samples with their labels, skipping comments and malformed lines', () => {
    const s = parseMetrics(TEXT);
    expect(s.find((x) => x.name === 'fraud_consumer_lag' && x.labels.partition === '1')?.value).toBe(6);
    expect(s.find((x) => x.name === 'fraud_model_score_bucket')?.labels).toEqual({ le: '+Inf' });
    expect(s.some((x) => x.name === 'weird')).toBe(false);
    expect(parseMetrics('m{a="x\\"y"} 1')[0]?.labels.a).toBe('x"y');
  });

  it('reads the versions in force (value 1), the outcomes, dead letters, degraded and lag', () => {
    expect(engineInfoOf(parseMetrics(TEXT), true)).toEqual({
      reachable: true,
      ready: true,
      rulesetVersion: 'pg:12',
      modelVersion: 'lgbm-2026-11-30',
      decisionsByOutcome: { APPROVE: 120, REVIEW: 7, DECLINE: 3 },
      dlqTotal: 3,
      degradedTotal: 4,
      degradedByReason: { redis_timeout: 4 },
      consumerLag: 11,
    });
  });

  it('says why when there is no URL or nothing answers', async () => {
    expect(await fetchEngineInfo('')).toMatchObject({ reachable: false, reason: expect.stringContaining('no engine') });
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    const r = await fetchEngineInfo('http://127.0.0.1:9/metrics');
    expect(r.reachable).toBe(false);
    expect(r.reachable ? '' : r.reason).toMatch(/ECONNREFUSED|fetch failed/);
  });
});

describe('the overview computed once for everyone watching', () => {
  it('shares one computation between concurrent callers and reuses it for a while, then computes again', async () => {
    let t = 1000;
    let calls = 0;
    let release: () => void = () => undefined;
    const get = sharedFor(
      5000,
      () =>
        new Promise<number>((r) => {
          calls++;
          release = () => r(calls);
        }),
      () => t,
    );
    const a = get();
    const b = get();
    expect(calls).toBe(1);
    release();
    expect(await a).toBe(1);
    expect(await b).toBe(1);
    t += 4999;
    expect(await get()).toBe(1);
    t += 1;
    const c = get();
    expect(calls).toBe(2);
    release();
    expect(await c).toBe(2);
  });

  it('does not keep a failure', async () => {
    let fail = true;
    const get = sharedFor(60_000, () => (fail ? Promise.reject(new Error('db down')) : Promise.resolve('ok')));
    await expect(get()).rejects.toThrow('db down');
    fail = false;
    expect(await get()).toBe('ok');
  });
});
