/**
 * Labels stored beside the audit trail, for real: fraud labels Avro-encoded on a unique topic →
 * `sink audit` in-process (its second consumer group) → label_audit in PostgreSQL, one row per
 * auth id and source, idempotent; bad labels → the sink's dead-letter topic with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import pg from 'pg';
import { startAuditSink, type AuditSinkHandle } from '../../src/app/audit-sink.js';
import type { EngineConfig } from '../../src/config/config.js';
import type { AvroCodecs } from '../../src/events/codec.js';
import type { LabelEvent } from '../../src/events/types.js';
import { DAY_MS as DAY, HOUR_MS as HOUR } from '../../src/events/time.js';
import { createLogger } from '../../src/observability/logger.js';
import { codecsFor, createTopics, deleteTopics, kafkaFor, testConfig, TopicReader } from '../helpers/engine.js';
import { stack, uniqueName } from '../helpers/stack.js';

const PAN = '4000056655665556'; // Luhn-valid test PAN where a customer id belongs

async function waitFor(pred: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Row {
  auth_id: string;
  source: string;
  card_token: string;
  customer_id: string;
  terminal_id: string;
  tx_time: Date;
  label_time: Date;
  fraud: boolean;
}

describe('labels stored beside the audit trail (Kafka, registry, PostgreSQL)', () => {
  const run = uniqueName('lbl');
  const t0 = Math.floor(Date.now() / DAY) * DAY - 20 * DAY;
  let cfg: EngineConfig;
  let codecs: AvroCodecs;
  let producer: Producer;
  let pool: pg.Pool;
  let sink: AuditSinkHandle | null = null;
  let dlq: TopicReader<null>;

  const label = (i: number, over: Partial<LabelEvent> = {}): LabelEvent => ({
    auth_id: `${run}-${i}`,
    card_token: `tok_${run}_${i % 3}`,
    customer_id: `cust_${i}`,
    terminal_id: `term_${i % 4}`,
    tx_time: t0 + i * HOUR,
    label_time: t0 + i * HOUR + 5 * DAY,
    fraud: i % 2 === 0,
    source: 'chargeback',
    ...over,
  });
  const send = async (values: (LabelEvent | Buffer)[]) => {
    await producer.send({
      topic: cfg.kafka.topic_labels,
      acks: -1,
      messages: values.map((v) =>
        Buffer.isBuffer(v) ? { key: 'garbage', value: v } : { key: v.card_token, value: codecs.encodeLabel(v) },
      ),
    });
  };
  const rows = async (): Promise<Row[]> =>
    (
      await pool.query<Row>(
        `SELECT auth_id, source, card_token, customer_id, terminal_id, tx_time, label_time, fraud
         FROM label_audit WHERE auth_id LIKE $1 ORDER BY auth_id, source`,
        [`${run}-%`],
      )
    ).rows;

  beforeAll(async () => {
    cfg = testConfig();
    await createTopics(cfg);
    codecs = await codecsFor(cfg);
    producer = kafkaFor(cfg).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    pool = new pg.Pool({ connectionString: stack.postgresUrl, max: 2 });
    dlq = await new TopicReader<null>(kafkaFor(cfg), cfg.kafka.topic_audit_dlq, async () => null).start();
    sink = await startAuditSink(cfg, { httpPort: 0, log: createLogger('warn') });
  });

  afterAll(async () => {
    await sink?.stop();
    await dlq?.stop();
    await pool?.query('DELETE FROM label_audit WHERE auth_id LIKE $1', [`${run}-%`]).catch(() => undefined);
    await pool?.end();
    await producer?.disconnect();
    await deleteTopics(cfg);
  });

  it('stores each label once per source, keeps disagreeing sources, takes a later correction, dead-letters bad ones', async () => {
    const chargebacks = Array.from({ length: 10 }, (_, i) => label(i));
    // An analyst says legitimate where the chargeback says fraud (auth 0): both rows are kept.
    const verdict = label(0, { source: 'analyst', fraud: false, label_time: t0 + 2 * DAY });
    // A bad label: a card number in the customer id (refused, withheld); undecodable bytes.
    const panned = label(99, { customer_id: `c${PAN}` });
    const garbage = Buffer.from('not avro at all');
    await send([...chargebacks, verdict, panned, garbage]);
    await waitFor(() => sink!.labels.consumed >= 13, 'the labels consumed');

    const first = await rows();
    expect(first).toHaveLength(11);
    const a0 = first.filter((r) => r.auth_id === `${run}-0`);
    expect(a0.map((r) => [r.source, r.fraud])).toEqual([
      ['analyst', false],
      ['chargeback', true],
    ]);
    const r3 = first.find((r) => r.auth_id === `${run}-3`)!;
    expect(r3).toEqual({
      auth_id: `${run}-3`,
      source: 'chargeback',
      card_token: `tok_${run}_0`,
      customer_id: 'cust_3',
      terminal_id: 'term_3',
      tx_time: new Date(t0 + 3 * HOUR),
      label_time: new Date(t0 + 3 * HOUR + 5 * DAY),
      fraud: false,
    });
    expect(sink!.labels.stored).toBe(11);
    expect(sink!.labels.skipped).toBe(2);
    await dlq.waitFor((items) => items.length >= 2);
    const reasons = dlq.items.map((m) => String(m.headers['dlq.reason'])).sort();
    expect(reasons).toEqual(['bad_magic_byte', 'pan_in_identifier:customer_id']);
    for (const m of dlq.items)
      expect(String(m.headers['dlq.source'])).toMatch(new RegExp(`^${cfg.kafka.topic_labels}/`));
    // No card number reached the dead-letter topic: the PAN label's bytes are withheld.
    const panDead = dlq.items.find((m) => String(m.headers['dlq.reason']).startsWith('pan_'))!;
    expect(panDead.raw).toBeNull();
    expect(String(panDead.headers['dlq.payload'])).toBe('withheld:pan_like_content');

    // Redelivery of everything: nothing changes. A corrected analyst verdict (later label_time)
    // replaces the earlier one; an older one of the same source does not.
    const corrected = { ...verdict, fraud: true, label_time: verdict.label_time + DAY };
    const stale = label(5, { fraud: true, label_time: t0 + 5 * HOUR + DAY });
    await send([...chargebacks, verdict, corrected, stale]);
    await waitFor(() => sink!.labels.consumed >= 13 + 13, 'the redelivered labels');
    const second = await rows();
    expect(second).toHaveLength(11);
    expect(second.find((r) => r.auth_id === `${run}-0` && r.source === 'analyst')).toMatchObject({
      fraud: true,
      label_time: new Date(corrected.label_time),
    });
    expect(second.find((r) => r.auth_id === `${run}-5`)).toMatchObject({
      fraud: false,
      label_time: new Date(t0 + 5 * HOUR + 5 * DAY),
    });
    expect(sink!.labels.stored).toBe(12);
    expect(sink!.labels.unchanged).toBe(12);

    const text = await sink!.metrics.registry.metrics();
    expect(text).toMatch(/^fraud_audit_labels_total\{fraud="true"\} 6$/m);
    expect(text).toMatch(/^fraud_audit_labels_total\{fraud="false"\} 6$/m);
    expect(text).toMatch(/^fraud_audit_label_duplicates_total 12$/m);
    expect(text).toMatch(/^fraud_audit_skipped_total\{reason="label:pan_in_identifier:customer_id"\} 1$/m);
  });
});
