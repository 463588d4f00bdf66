/**
 * Review cases against the local stack: the queue from REVIEW decisions of the audit trail,
 * atomic claims (two analysts at once: one wins), a verdict whose label goes through the
 * outbox to Kafka (held while "Kafka" fails, published after), refusals that change nothing,
 * bulk verdicts, and the one decision search.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { bulkVerdict } from '../../src/cases/bulk.js';
import { claimCase, liveClaim } from '../../src/cases/claims.js';
import { caseDetail } from '../../src/cases/detail.js';
import { CaseError } from '../../src/cases/errors.js';
import { kafkaLabelPublisher } from '../../src/cases/publisher.js';
import { listQueue } from '../../src/cases/queue.js';
import { LabelRelay, type LabelPublisher } from '../../src/cases/relay.js';
import { searchDecisions } from '../../src/cases/search.js';
import { giveVerdict, verdictsOf } from '../../src/cases/verdicts.js';
import type { EngineConfig } from '../../src/config/config.js';
import type { AvroCodecs } from '../../src/events/codec.js';
import type { LabelEvent } from '../../src/events/types.js';
import { validateLabel } from '../../src/pipelines/labels/validate.js';
import { listActions } from '../../src/identity/action-log.js';
import { migrate } from '../../src/storage/migrate.js';
import { inTransaction, pgPool } from '../../src/storage/pool.js';
import { HOUR_MS, MINUTE_MS } from '../../src/events/time.js';
import { caseFeatures, decisionOf, seedDecisions } from '../helpers/cases.js';
import { codecsFor, createTopics, deleteTopics, kafkaFor, testConfig, TopicReader } from '../helpers/engine.js';
import { freshSchema } from '../helpers/stack.js';
import { ensureBuilt } from '../helpers/child-engine.js';
import { uniqueName } from '../helpers/stack.js';

const TTL = 30 * MINUTE_MS;

describe('review cases: queue, claims, verdicts through the outbox, bulk, search', () => {
  const run = uniqueName('cases');
  const card = `tok_${run}_a`;
  const card2 = `tok_${run}_b`;
  let cfg: EngineConfig;
  let pool: pg.Pool;
  let codecs: AvroCodecs;
  let labels: TopicReader<LabelEvent>;
  let topic: string;

  let schema: Awaited<ReturnType<typeof freshSchema>>;

  beforeAll(async () => {
    // Its own schema: the queue's page is the oldest open cases, and REVIEW decisions left in the
    // shared database (a demo run's hundreds) pushed this file's cases off it.
    schema = await freshSchema('it_cases');
    cfg = testConfig({ FRAUD_POSTGRES_URL: schema.url });
    topic = cfg.kafka.topic_labels;
    pool = pgPool(cfg.postgres, { applicationName: 'cases-test', max: 6, connectionTimeoutMillis: 5000 });
    await migrate(pool);
    await createTopics(cfg, 1);
    codecs = await codecsFor(cfg);
    labels = await new TopicReader<LabelEvent>(kafkaFor(cfg), topic, (b) => codecs.decodeLabel(b)).start();
    await seedDecisions(pool, [
      // Card a: three review cases (oldest 3 h ago, past a 1 h SLA) and an approval.
      decisionOf(run, 1, { card, agoMs: 3 * HOUR_MS, features: caseFeatures({ tx_amount: 10 }) }),
      decisionOf(run, 2, {
        card,
        agoMs: 2 * HOUR_MS,
        rule: 'velocity_card',
        features: caseFeatures({ tx_amount: 20 }),
      }),
      decisionOf(run, 3, { card, agoMs: 20 * MINUTE_MS, features: caseFeatures({ tx_amount: 500 }) }),
      decisionOf(run, 4, { card, agoMs: 10 * MINUTE_MS, outcome: 'APPROVE' }),
      // Card b: the bulk verdict's cases.
      decisionOf(run, 5, { card: card2, agoMs: 50 * MINUTE_MS, features: caseFeatures({ tx_amount: 30 }) }),
      decisionOf(run, 6, { card: card2, agoMs: 40 * MINUTE_MS, features: caseFeatures({ tx_amount: 50 }) }),
      decisionOf(run, 7, { card: card2, agoMs: 30 * MINUTE_MS, features: caseFeatures({ tx_amount: 60 }) }),
    ]);
  });
  afterAll(async () => {
    // Leave no open case behind for other tests' queues (run-3 was never decided, run-7 is frank's).
    for (const authId of [`${run}-3`, `${run}-7`]) {
      await inTransaction(pool, (db) => claimCase(db, { authId, to: 'cleanup', ttlMs: TTL, force: true })).catch(
        () => undefined,
      );
      await giveVerdict(pool, { authId, by: 'cleanup', verdict: 'legitimate', note: '', topic, claimTtlMs: TTL }).catch(
        () => undefined,
      );
    }
    await labels?.stop();
    await deleteTopics(cfg);
    await pool?.end();
    await schema?.drop().catch(() => undefined);
  });

  it('the queue lists the REVIEW decisions oldest first, with their age against the SLA', async () => {
    const q = await listQueue(pool, { state: 'open', slaMs: HOUR_MS, limit: 500 });
    const ours = q.cases.filter((c) => c.authId.startsWith(`${run}-`)).map((c) => c.authId);
    expect(ours).toEqual([1, 2, 5, 6, 7, 3].map((i) => `${run}-${i}`));
    const first = q.cases.find((c) => c.authId === `${run}-1`)!;
    expect(first.overdue).toBe(true);
    expect(first.ageMs).toBeGreaterThan(3 * HOUR_MS - MINUTE_MS);
    expect(q.cases.find((c) => c.authId === `${run}-3`)!.overdue).toBe(false);
    expect(q.counts.open).toBeGreaterThanOrEqual(6);
    expect(q.counts.overdue).toBeGreaterThanOrEqual(2);
  });

  it('two analysts claiming one case at once: exactly one gets it', async () => {
    const authId = `${run}-1`;
    const attempt = (to: string) => inTransaction(pool, (db) => claimCase(db, { authId, to, ttlMs: TTL }));
    const results = await Promise.allSettled([attempt('alice'), attempt('bob')]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(CaseError);
    const winner = (won[0] as PromiseFulfilledResult<{ claimedBy: string }>).value.claimedBy;
    expect(String(lost[0]!.reason.message)).toContain(`claimed by ${winner}`);
    expect((await liveClaim(pool, authId))!.claimedBy).toBe(winner);
    // The loser cannot give a verdict either; the winner renews their own claim.
    const loser = winner === 'alice' ? 'bob' : 'alice';
    await expect(
      giveVerdict(pool, { authId, by: loser, verdict: 'fraud', note: '', topic, claimTtlMs: TTL }),
    ).rejects.toThrow(/claimed by/);
    expect(await verdictsOf(pool, authId)).toEqual([]);
    await inTransaction(pool, (db) => claimCase(db, { authId, to: winner, ttlMs: TTL }));
    const claimed = await listQueue(pool, { state: 'claimed', slaMs: HOUR_MS, limit: 500 });
    expect(claimed.cases.find((c) => c.authId === authId)?.claimedBy).toBe(winner);
    expect((await listActions(pool, { actor: winner, subject: authId })).map((a) => a.action)).toEqual([
      'case.claim',
      'case.claim',
    ]);
  });

  it('a verdict queues its label in the outbox; a Kafka outage keeps it; the relay publishes it after', async () => {
    const authId = `${run}-1`;
    const holder = (await liveClaim(pool, authId))!.claimedBy;
    const res = await giveVerdict(pool, {
      authId,
      by: holder,
      verdict: 'fraud',
      note: 'cardholder confirmed: not them',
      topic,
      claimTtlMs: TTL,
    });
    expect(res.label).toMatchObject({ auth_id: authId, card_token: card, fraud: true, source: 'analyst' });
    expect(await liveClaim(pool, authId)).toBeNull();
    // Kafka down: the pass fails, the row stays pending with the error.
    const down: LabelPublisher = {
      send: () => Promise.reject(new Error('broker unreachable')),
      close: () => Promise.resolve(),
    };
    const broken = new LabelRelay(pool, down, { topic });
    expect(await broken.pending()).toBe(1);
    await expect(broken.drain()).rejects.toThrow('broker unreachable');
    expect(await broken.pending()).toBe(1);
    const row = (
      await pool.query<{ attempts: number; last_error: string }>(
        `SELECT attempts, last_error FROM label_outbox WHERE topic = $1`,
        [topic],
      )
    ).rows[0]!;
    expect(row).toEqual({ attempts: 1, last_error: 'broker unreachable' });
    // Kafka back: the real publisher sends it and it is marked sent.
    const relay = new LabelRelay(
      pool,
      kafkaLabelPublisher(cfg, () => codecsFor(cfg)),
      { topic },
    );
    try {
      expect(await relay.drain()).toBe(1);
      expect(await relay.pending()).toBe(0);
      expect(await relay.drain()).toBe(0);
    } finally {
      await relay.stop();
    }
    await labels.waitFor((items) => items.some((m) => m.value.auth_id === authId));
    const label = labels.items.find((m) => m.value.auth_id === authId)!.value;
    expect(label).toMatchObject({
      auth_id: authId,
      card_token: card,
      customer_id: `${run}-cust`,
      terminal_id: `${run}-term`,
      fraud: true,
      source: 'analyst',
    });
    expect(Number(label.tx_time)).toBe(Date.parse((await caseDetail(pool, authId))!.record.event_time));
    // What the label pipeline checks before applying a label to the feature store: nothing to refuse.
    expect(
      validateLabel({ ...label, tx_time: Number(label.tx_time), label_time: Number(label.label_time) }),
    ).toBeNull();
    // Stored: who, when, what; the case left the open queue for the decided one.
    const [v] = await verdictsOf(pool, authId);
    expect(v).toMatchObject({ verdict: 'fraud', decidedBy: holder, note: 'cardholder confirmed: not them' });
    const open = await listQueue(pool, { state: 'open', slaMs: HOUR_MS, limit: 500 });
    expect(open.cases.map((c) => c.authId)).not.toContain(authId);
    const decided = await listQueue(pool, { state: 'decided', slaMs: HOUR_MS, limit: 500 });
    expect(decided.cases.find((c) => c.authId === authId)).toMatchObject({ verdict: 'fraud', decidedBy: holder });
  });

  it('a verdict on a case already decided by someone else is refused and changes nothing', async () => {
    const authId = `${run}-1`;
    await expect(
      giveVerdict(pool, { authId, by: 'carol', verdict: 'legitimate', note: '', topic, claimTtlMs: TTL }),
    ).rejects.toThrow(/already decided \(fraud\)/);
    expect(await verdictsOf(pool, authId)).toHaveLength(1);
    expect(
      Number((await pool.query(`SELECT count(*) AS n FROM label_outbox WHERE topic = $1`, [topic])).rows[0].n),
    ).toBe(1);
    expect(await liveClaim(pool, authId)).toBeNull();
  });

  it('escalate publishes nothing and keeps the case open; a note with a card number is refused', async () => {
    const authId = `${run}-2`;
    const res = await giveVerdict(pool, {
      authId,
      by: 'dave',
      verdict: 'escalate',
      note: 'ask',
      topic,
      claimTtlMs: TTL,
    });
    expect(res.label).toBeNull();
    const open = await listQueue(pool, { state: 'open', slaMs: HOUR_MS, limit: 500 });
    expect(open.cases.find((c) => c.authId === authId)?.verdict).toBe('escalate');
    await expect(
      giveVerdict(pool, {
        authId,
        by: 'erin',
        verdict: 'legitimate',
        note: 'card 4111 1111 1111 1111',
        topic,
        claimTtlMs: TTL,
      }),
    ).rejects.toThrow(/card number/);
    const closing = await giveVerdict(pool, {
      authId,
      by: 'erin',
      verdict: 'legitimate',
      note: 'known customer',
      topic,
      claimTtlMs: TTL,
    });
    expect(closing.label).toMatchObject({ fraud: false, source: 'analyst' });
    expect((await verdictsOf(pool, authId)).map((v) => v.verdict)).toEqual(['escalate', 'legitimate']);
  });

  it("a bulk verdict decides the card's open cases, skipping one held by another analyst", async () => {
    await inTransaction(pool, (db) => claimCase(db, { authId: `${run}-7`, to: 'frank', ttlMs: TTL }));
    const detail = (await caseDetail(pool, `${run}-5`))!;
    expect(detail.related.map((r) => r.authId)).toEqual([`${run}-6`, `${run}-7`]);
    const res = await bulkVerdict(pool, {
      cardToken: card2,
      authIds: [`${run}-5`, `${run}-6`, `${run}-7`, `${run}-3`],
      by: 'gina',
      verdict: 'fraud',
      note: 'account takeover',
      topic,
      claimTtlMs: TTL,
      bulkOf: `${run}-5`,
    });
    expect(res.decided.map((d) => d.verdict.authId)).toEqual([`${run}-5`, `${run}-6`]);
    expect(res.decided[1]!.verdict.bulkOf).toBe(`${run}-5`);
    expect(res.skipped).toEqual([
      { authId: `${run}-7`, reason: expect.stringContaining('claimed by frank') },
      { authId: `${run}-3`, reason: 'not an open case of this card' },
    ]);
    const relay = new LabelRelay(
      pool,
      kafkaLabelPublisher(cfg, () => codecsFor(cfg)),
      { topic },
    );
    try {
      expect(await relay.drain()).toBe(3); // run-2's legitimate label and the two bulk ones
    } finally {
      await relay.stop();
    }
    await labels.waitFor((items) => items.filter((m) => m.value.card_token === card2).length === 2);
  });

  it('the case detail: features beside the customer median, timelines of card, customer and terminal', async () => {
    const d = (await caseDetail(pool, `${run}-3`))!;
    expect(d.isCase).toBe(true);
    expect(d.baselineOf).toBe('customer');
    const amount = d.baseline.find((b) => b.feature === 'tx_amount')!;
    // The customer's five earlier decisions (10, 20, 30, 50, 60): median 30, against 500 now.
    expect(amount).toEqual({ feature: 'tx_amount', value: 500, median: 30, n: 5 });
    expect(d.timelines.map((t) => t.entity)).toEqual(['card', 'customer', 'terminal']);
    const cardLine = d.timelines[0]!.entries;
    expect(cardLine.map((e) => e.authId)).toEqual([4, 3, 2, 1].map((i) => `${run}-${i}`));
    expect(cardLine.find((e) => e.authId === `${run}-1`)!.verdict).toBe('fraud');
  });

  it('one search: by card, auth id, time range, outcome and rule', async () => {
    expect((await searchDecisions(pool, { card })).map((r) => r.auth_id)).toEqual(
      [4, 3, 2, 1].map((i) => `${run}-${i}`),
    );
    expect((await searchDecisions(pool, { authId: `${run}-6` })).map((r) => r.card_token)).toEqual([card2]);
    expect((await searchDecisions(pool, { card, outcome: 'APPROVE' })).map((r) => r.auth_id)).toEqual([`${run}-4`]);
    expect((await searchDecisions(pool, { card, rule: 'velocity_card' })).map((r) => r.auth_id)).toEqual([`${run}-2`]);
    expect((await searchDecisions(pool, { card, rule: 'night_burst' })).length).toBe(3); // shadow hits count
    const from = Date.now() - 2.5 * HOUR_MS;
    const to = Date.now() - 15 * MINUTE_MS;
    expect((await searchDecisions(pool, { card, from, to })).map((r) => r.auth_id)).toEqual([`${run}-3`, `${run}-2`]);
  });

  it('the CLI `decisions search` is the same search (by rule and card)', async () => {
    ensureBuilt();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['bin/fraud-engine.js', 'decisions', 'search', '--card', card, '--rule', 'velocity_card', '--format', 'jsonl'],
      { env: { ...process.env, FRAUD_POSTGRES_URL: cfg.postgres.url } },
    );
    const rows = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { auth_id: string });
    expect(rows.map((r) => r.auth_id)).toEqual([`${run}-2`]);
  });
});
