/**
 * The audit trail for real: decisions Avro-encoded on a unique topic → `sink audit` in-process
 * → PostgreSQL (partitioned by day, idempotent on auth id) → `decisions show/search`, and the
 * analyst assistant explaining a stored decision through the real openai client against a local
 * OpenAI-compatible server.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import pg from 'pg';
import { openAIChat } from '../../src/assistant/client.js';
import { assistantSettings } from '../../src/assistant/settings.js';
import { decisionsTable } from '../../src/sinks/audit/queries.js';
import { explainAuthorization } from '../../src/assistant/explain.js';
import { startAuditSink, type AuditSinkHandle } from '../../src/app/audit-sink.js';
import type { EngineConfig } from '../../src/config/config.js';
import type { AvroCodecs } from '../../src/events/codec.js';
import type { Decision } from '../../src/events/types.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import { createLogger } from '../../src/observability/logger.js';
import { getDecision, listPartitions } from '../../src/sinks/audit/queries.js';
import { searchDecisions } from '../../src/cases/search.js';
import { AuditWriter, utcDay } from '../../src/sinks/audit/writer.js';
import { codecsFor, createTopics, deleteTopics, kafkaFor, testConfig } from '../helpers/engine.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { checkMetrics } from '../helpers/promtool.js';
import { stack, uniqueName } from '../helpers/stack.js';
import { DAY_MS as DAY, HOUR_MS as HOUR, MINUTE_MS as MINUTE } from '../../src/events/time.js';
const PAN_IN_TOKEN = '4000056655665556'; // Luhn-valid test PAN where the token belongs
const PAN_IN_REASON = '4111111111111111';
const PAN_GLUED = '5555555555554444';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function waitFor(pred: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function features(over: Partial<Record<string, number | null>> = {}): Record<string, number | null> {
  const f: Record<string, number | null> = Object.fromEntries(FEATURE_NAMES.map((n) => [n, 0]));
  Object.assign(
    f,
    {
      tx_amount: 42.5,
      customer_nb_tx_1d: 2,
      customer_avg_amount_1d: 40,
      customer_nb_tx_7d: 9,
      customer_avg_amount_7d: 38,
      customer_nb_tx_30d: 40,
      customer_avg_amount_30d: 41.2,
      terminal_nb_tx_30d: 300,
      customer_amount_over_avg_30d: 1.03,
      customer_secs_since_prev_tx: 36_000,
      customer_nb_terminals_1d: 1,
      customer_nb_merchants_1d: 1,
      customer_terminal_seen_before: 1,
      customer_device_seen_before: null,
      terminal_nb_tx_1h: 3,
      card_nb_tx_1d: 2,
      card_nb_tx_7d: 9,
    },
    over,
  );
  return f;
}

describe('audit trail (Kafka, registry, PostgreSQL) and explain', () => {
  const run = uniqueName('audit');
  const cards = [`tok_${run}_a`, `tok_${run}_b`, PAN_IN_TOKEN];
  const today = Math.floor(Date.now() / DAY) * DAY;
  let cfg: EngineConfig;
  let codecs: AvroCodecs;
  let producer: Producer;
  let pool: pg.Pool;
  let sink: AuditSinkHandle | null = null;
  let metricsPort: number;
  let fake: FakeOpenAI;
  const decisions: Decision[] = [];

  const send = async (ds: Decision[]) => {
    await producer.send({
      topic: cfg.kafka.topic_decisions,
      acks: -1,
      messages: await Promise.all(ds.map(async (d) => ({ key: d.card_token, value: await codecs.encodeDecision(d) }))),
    });
  };
  const ids = () => decisions.map((d) => d.auth_id);
  /** Decisions the sink writes: all but the suspicious one. */
  const written = () => decisions.length - 1;
  const stored = async () =>
    Number((await pool.query('SELECT count(*) FROM decision_audit WHERE auth_id = ANY($1)', [ids()])).rows[0].count);

  beforeAll(async () => {
    cfg = testConfig();
    await createTopics(cfg);
    codecs = await codecsFor(cfg);
    producer = kafkaFor(cfg).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    pool = new pg.Pool({ connectionString: stack.postgresUrl, max: 2 });
    fake = await startFakeOpenAI();
    // 30 decisions over three UTC days, three cards; the last one is suspicious and carries
    // PAN-shaped strings where no PAN belongs (the token, a reason, a tag): the sink refuses it
    // (dead-lettered, withheld), so 30 rows are written of the 31 decisions sent.
    for (let i = 0; i < 30; i++) {
      const t = today - (i % 3) * DAY + HOUR + i * MINUTE;
      decisions.push({
        auth_id: `${run}-${i}`,
        card_token: cards[i % 2]!,
        outcome: i % 10 === 0 ? 'REVIEW' : 'APPROVE',
        score: i % 10 === 0 ? 0.41 : 0.02,
        reasons: i % 10 === 0 ? ['score>=0.35'] : [],
        rule_hits: [],
        tags: [],
        model_version: 'lgbm-test',
        ruleset_version: 'default-1',
        degraded: [],
        features: features(),
        event_time: t,
        decided_time: t + 12,
        engine_latency_ms: 3.5,
        // Half the decisions carry the authorization's context (the field is optional: older decisions lack it).
        context:
          i % 2 === 0
            ? {
                customer_id: `cust_${i}`,
                terminal_id: `term_${i % 5}`,
                merchant_id: i % 4 === 0 ? null : `m_${i}`,
                mcc: '5411',
                amount_minor: 4250 + i,
                currency: 'EUR',
                channel: 'ECOM',
                country: 'FR',
                device_id: null,
              }
            : null,
        // The REVIEW decisions carry the model's top factors (optional too), a missing value as null.
        factors:
          i % 10 === 0
            ? [
                { feature: 'terminal_risk_30d', value: 0.5, contribution: 1.234567 },
                { feature: 'customer_device_seen_before', value: null, contribution: -0.25 },
              ]
            : null,
        // A third carry a challenger's score (optional, migration 015); the others none.
        ...(i % 3 === 0 && { challenger_score: 0.123456, challenger_version: 'lgbm-challenger' }),
      });
    }
    const t = today + 7_200_000;
    decisions.push({
      auth_id: `${run}-suspicious`,
      card_token: PAN_IN_TOKEN,
      outcome: 'DECLINE',
      score: 0.93,
      reasons: ['score>=0.8', 'rule:amount_spike_vs_customer', `manual:${PAN_IN_REASON}`],
      rule_hits: [
        { rule_id: 'amount_spike_vs_customer', action: 'REVIEW', mode: 'ACTIVE' },
        { rule_id: 'night_high_amount_shadow', action: 'REVIEW', mode: 'SHADOW' },
      ],
      tags: [`ref_${PAN_GLUED}`],
      model_version: 'lgbm-test',
      ruleset_version: 'default-1',
      degraded: [],
      features: features({
        tx_amount: 912.4,
        customer_amount_over_avg_30d: 22.1,
        customer_device_seen_before: 0,
        customer_terminal_seen_before: 0,
        terminal_risk_7d: 0.5,
        terminal_nb_tx_7d: 14,
        card_nb_tx_1d: 7,
        tx_during_night: 1,
        tx_is_ecom: 1,
        customer_secs_since_prev_tx: 45,
      }),
      event_time: t,
      decided_time: t + 9,
      engine_latency_ms: 4.1,
      factors: [
        { feature: 'customer_amount_over_avg_30d', value: 22.1, contribution: 3.2109 },
        { feature: 'terminal_risk_7d', value: 0.5, contribution: 1.5 },
      ],
    });
    metricsPort = await freePort();
    sink = await startAuditSink(cfg, {
      httpPort: metricsPort,
      httpHost: '127.0.0.1',
      maxRows: 8,
      log: createLogger('warn'),
    });
  });

  afterAll(async () => {
    await sink?.stop();
    await pool?.query('DELETE FROM decision_audit WHERE auth_id = ANY($1)', [ids()]).catch(() => undefined);
    await pool?.end();
    await producer?.disconnect();
    await fake?.close();
    await deleteTopics(cfg);
  });

  it('writes every decision once, into the partition of its day, and commits offsets after the rows', async () => {
    await send(decisions);
    await waitFor(async () => (await stored()) === written(), 'the rows in PostgreSQL');

    // Redelivery of the same decisions (new offsets): no new row.
    await send(decisions);
    await waitFor(() => sink!.runner.consumed >= 2 * decisions.length, 'the redelivered decisions');
    expect(await stored()).toBe(written());
    expect(sink!.runner.written).toBe(written());
    expect(sink!.runner.duplicates).toBe(written());
    // The suspicious decision: dead-lettered twice (sent twice), never written, its bytes withheld.
    expect(sink!.runner.skipped).toBe(2);
    expect(await getDecision(pool, `${run}-suspicious`)).toBeNull();
    // The authorization's context round-trips through Kafka into its columns, and is null where absent.
    for (const d of decisions.slice(0, 4))
      expect((await getDecision(pool, d.auth_id))!.context ?? null).toEqual(d.context);
    // The factors round-trip into their jsonb column, in order, and are null where absent.
    for (const d of decisions.slice(0, 12))
      expect((await getDecision(pool, d.auth_id))!.factors ?? null).toEqual(d.factors);
    // The challenger's score and version into their two columns (read back by `decisions show`), null where absent.
    for (const d of decisions.slice(0, 6)) {
      const rec = (await getDecision(pool, d.auth_id))!;
      expect([rec.challenger_score, rec.challenger_version]).toEqual([
        d.challenger_score ?? null,
        d.challenger_version ?? null,
      ]);
    }
    expect(decisions.slice(0, 6).filter((d) => d.challenger_score !== undefined)).toHaveLength(2);

    const parts = (await listPartitions(pool)).map((p) => p.name);
    expect(parts).toContain('decision_audit_default');
    const days = [...new Set(decisions.slice(0, written()).map((d) => utcDay(d.event_time)))];
    expect(days).toHaveLength(3);
    for (const day of days) expect(parts).toContain(`decision_audit_p${day.replaceAll('-', '')}`);
    const placed = await pool.query<{ part: string; n: string }>(
      'SELECT tableoid::regclass::text AS part, count(*) AS n FROM decision_audit WHERE auth_id = ANY($1) GROUP BY 1 ORDER BY 1',
      [ids()],
    );
    expect(placed.rows.map((r) => r.part).sort()).toEqual(
      days.map((d) => `decision_audit_p${d.replaceAll('-', '')}`).sort(),
    );

    // Metrics, on the sink's own /metrics.
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(new RegExp(`^fraud_audit_rows_total ${written()}$`, 'm'));
    expect(text).toMatch(new RegExp(`^fraud_audit_duplicates_total ${written()}$`, 'm'));
    expect(text).toMatch(/^fraud_audit_skipped_total\{reason="pan_in_decision:card_token"\} 2$/m);
    expect(text).toMatch(/^fraud_audit_batch_latency_seconds_count \d+$/m);
    expect(text).toMatch(/^fraud_audit_consumer_lag\{topic="[^"]+",partition="\d"\} 0$/m);
    // Named by Prometheus's conventions (durations in seconds, counters _total): promtool says nothing.
    expect(checkMetrics(text)).toEqual({ code: 0, output: '' });

    // Offsets were committed: the same group restarted reads nothing again; a new group re-reads
    // everything and still adds no row.
    await sink!.stop();
    // The group's committed offsets are the end of every partition...
    const admin = kafkaFor(cfg).admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(cfg.kafka.topic_decisions);
    const committed = await admin.fetchOffsets({
      groupId: `${cfg.kafka.group_id}-audit`,
      topics: [cfg.kafka.topic_decisions],
    });
    await admin.disconnect();
    // (a partition that never held a message has nothing committed: -1)
    const byPartition = (xs: { partition: number; offset: string }[]) =>
      Object.fromEntries(xs.map((x) => [x.partition, x.offset === '0' ? '-1' : x.offset]));
    expect(ends.some((e) => e.offset !== '0')).toBe(true);
    expect(byPartition(committed[0]!.partitions)).toEqual(byPartition(ends));
    // ...so the restarted sink's first message is a new one.
    sink = await startAuditSink(cfg, { httpPort: 0, log: createLogger('warn') });
    const fresh: Decision = { ...decisions[0]!, auth_id: `${run}-after-restart` };
    decisions.push(fresh);
    await send([fresh]);
    await waitFor(() => sink!.runner.consumed >= 1, 'the new decision after the restart');
    expect(sink.runner.consumed).toBe(1);
    expect(sink.runner.written).toBe(1);
    await sink.stop();
    sink = await startAuditSink(cfg, {
      httpPort: 0,
      log: createLogger('warn'),
      groupId: `${cfg.kafka.group_id}-audit-replay`,
    });
    await waitFor(() => sink!.runner.consumed >= 2 * decisions.length - 1, 'the re-read in a new group');
    expect(sink.runner.written).toBe(0);
    expect(await stored()).toBe(written());
  });

  it('keeps a day in the default partition when rows of that day are already there', async () => {
    const day = Date.UTC(2090, 0, 1) + Math.floor(Math.random() * 3000) * DAY;
    const mk = (i: number): Decision => ({
      ...decisions[1]!,
      auth_id: `${run}-late-${i}`,
      event_time: day + i * 1000,
      decided_time: day + i * 1000 + 5,
    });
    await pool.query(
      `INSERT INTO decision_audit (auth_id, event_time, card_token, outcome, model_version, ruleset_version, decided_time)
      VALUES ($1, $2, 'tok', 'APPROVE', 'm', 'r', $2)`,
      [`${run}-late-0`, new Date(day).toISOString()],
    );
    try {
      // The writer's clock on that day: partitions are made only for days around now.
      const writer = new AuditWriter(pool, () => day);
      expect(await writer.write([{ decision: mk(0) }, { decision: mk(1) }])).toEqual({ inserted: 1, duplicates: 1 });
      expect(writer.knownDays.get(utcDay(day))).toBe(false);
      const parts = await pool.query<{ part: string }>(
        'SELECT DISTINCT tableoid::regclass::text AS part FROM decision_audit WHERE auth_id LIKE $1',
        [`${run}-late-%`],
      );
      expect(parts.rows.map((r) => r.part)).toEqual(['decision_audit_default']);
    } finally {
      await pool.query('DELETE FROM decision_audit WHERE auth_id LIKE $1', [`${run}-late-%`]);
    }
  });

  it('shows one decision and searches a card over a time range', async () => {
    const d = decisions.find((x) => x.auth_id === `${run}-0`)!;
    const rec = (await getDecision(pool, d.auth_id))!;
    expect(rec).not.toBeNull();
    expect(rec).toMatchObject({
      auth_id: d.auth_id,
      card_token: d.card_token,
      outcome: 'REVIEW',
      score: 0.41,
      reasons: ['score>=0.35'],
      rule_hits: [],
      tags: d.tags,
      degraded: [],
      model_version: 'lgbm-test',
      ruleset_version: 'default-1',
      event_time: new Date(d.event_time).toISOString(),
      decided_time: new Date(d.decided_time).toISOString(),
      explanation: null,
    });
    expect(rec.features).toEqual(d.features);
    expect(await getDecision(pool, `${run}-nope`)).toBeNull();

    const card = cards[0]!;
    const all = decisions.filter((x) => x.card_token === card);
    const from = today - DAY;
    const to = today + DAY;
    const found = await searchDecisions(pool, { card, from, to });
    const want = all
      .filter((x) => x.event_time >= from && x.event_time < to)
      .sort((a, b) => b.event_time - a.event_time);
    expect(found.map((r) => r.auth_id)).toEqual(want.map((x) => x.auth_id));
    expect((await searchDecisions(pool, { card, outcome: 'REVIEW' })).every((r) => r.outcome === 'REVIEW')).toBe(true);
    const table = decisionsTable(found.slice(0, 3));
    expect(table.split('\n')[0]).toMatch(/^event_time\s+auth_id\s+outcome\s+score/);
    console.log(
      `decisions search --card ${card} --from ${new Date(from).toISOString()} --to ${new Date(to).toISOString()} (first 3):\n${table}`,
    );
  });

  it('explains a stored decision without sending any card number, and stores the explanation', async () => {
    // A row with PAN-shaped strings, as one written before the sink refused them (or by another
    // writer): the assistant must still send no card number.
    const suspicious = decisions.find((x) => x.auth_id === `${run}-suspicious`)!;
    await new AuditWriter(pool).write([{ decision: suspicious }]);
    const settings = assistantSettings({
      FRAUD_ASSISTANT_BASE_URL: fake.baseURL,
      FRAUD_ASSISTANT_MODEL: 'fake-analyst',
    });
    if (!settings.ok) throw new Error(settings.message);
    const authId = `${run}-suspicious`;
    const r = await explainAuthorization({ pool, chat: openAIChat(settings.settings), authId });
    expect(r.stored).toBe(true);
    expect(r.explanation).toMatch(
      /^DECLINE \(score 0.93\): rules amount_spike_vs_customer, night_high_amount_shadow hit; most unusual: /,
    );
    const rec = (await getDecision(pool, authId))!;
    expect(rec.explanation).toBe(r.explanation);
    expect(rec.explanation_model).toBe('fake-analyst');
    expect(rec.explained_at).not.toBeNull();

    expect(fake.requests).toHaveLength(1);
    const req = fake.requests[0]!;
    expect(req.body.model).toBe('fake-analyst');
    for (const pan of [PAN_IN_TOKEN, PAN_IN_REASON, PAN_GLUED]) expect(req.raw).not.toContain(pan);
    expect(req.raw).toContain('[PAN]');
    expect(req.raw).not.toMatch(/card_token|customer_id/);
    // The stand-outs the context picked from the snapshot.
    const user = req.body.messages!.find((m) => m.role === 'user')!.content;
    expect(user).toMatch(/22.1x the customer's average/);
    expect(user).toMatch(/confirmed fraud/);
    expect(user).toMatch(/device not seen/);
    // The model's own top factors, from the audit row's factors column.
    expect(user).toMatch(/"model_factors"/);
    expect(user).toMatch(
      /"feature": "customer_amount_over_avg_30d",\s*"value": 22.1,\s*"contribution": 3.211,\s*"effect": "raises risk"/,
    );
    console.log(`explain ${authId}:\n${r.explanation}\ncontext sent:\n${user}`);
  });
});
