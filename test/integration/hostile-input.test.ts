/**
 * Hostile input (issue 13): an attacker who can write to `authorizations`, `fraud-labels` or
 * `decisions` sends one message of each class below, among valid events, to a running engine
 * (decision and label runners) and a running audit sink. For every class: the instances stay
 * up, the hostile message is dead-lettered with its reason (or handled harmlessly, as stated),
 * every valid event around it is decided, and a scan of every log line, dead letter (payload,
 * key and headers), decision, audit row and Redis key of the run finds no card number.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import avro from 'avsc';
import { Redis } from 'ioredis';
import type { IHeaders, Message } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, type EngineHandle } from '../../src/app/engine.js';
import { startAuditSink, type AuditSinkHandle } from '../../src/app/audit-sink.js';
import { readSchema } from '../../src/events/codec.js';
import type { AuthorizationEvent, Decision, LabelEvent } from '../../src/events/types.js';
import { createLogger } from '../../src/observability/logger.js';
import { panRuns, TEST_PANS } from '../helpers/child-engine.js';
import {
  pipelineIO,
  rulesFromFiles,
  TopicReader,
  kafkaFor,
  type Collected,
  type PipelineIO,
} from '../helpers/engine.js';
import { stack } from '../helpers/stack.js';
import { authorization, bareAuthorization } from '../helpers/events.js';
import { DAY_MS as DAY } from '../../src/events/time.js';

/** Every log line of the engine and the sink, as written. */
class Lines extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
}

function wire(id: number, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.writeInt32BE(id, 1);
  return Buffer.concat([h, body]);
}

/** A zig-zag varint of a non-negative count or length. */
function varint(n: number): Buffer {
  const out: number[] = [];
  let z = n * 2;
  while (z >= 0x80) {
    out.push((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  out.push(z);
  return Buffer.from(out);
}

interface Case {
  topic: 'auth' | 'labels' | 'decisions';
  value: Buffer | null;
  key?: Buffer | string | null;
  headers?: IHeaders;
  /** The DLQ reason expected, or null when the message is handled (decided, applied, written). */
  reason: RegExp | null;
  withheld?: boolean;
}

describe('hostile input: no message stops the engine, the label runner or the audit sink; no card number leaves them', () => {
  let io: PipelineIO;
  let engine: EngineHandle | null = null;
  let sink: AuditSinkHandle | null = null;
  let engineFatal: Error | null = null;
  /** The decisions topic, read leniently: it also carries the hostile decisions sent to the audit sink. */
  let decisions: TopicReader<Decision | null>;
  let labelsDlq: TopicReader<null>;
  let auditDlq: TopicReader<null>;
  let redis: Redis;
  let pool: pg.Pool;
  const logs = new Lines();

  beforeAll(async () => {
    // The default age limit on (testConfig turns it off for the 2018 replays of other tests).
    io = await pipelineIO({ FRAUD_ENGINE_MAX_EVENT_AGE_MS: String(37 * DAY), FRAUD_ENGINE_LOG_LEVEL: 'info' });
    const kafka = kafkaFor(io.cfg);
    decisions = await new TopicReader<Decision | null>(kafka, io.cfg.kafka.topic_decisions, (b) =>
      io.codecs.decodeDecision(b).catch(() => null),
    ).start();
    labelsDlq = await new TopicReader<null>(kafka, io.cfg.kafka.topic_labels_dlq, async () => null).start();
    auditDlq = await new TopicReader<null>(kafka, io.cfg.kafka.topic_audit_dlq, async () => null).start();
    // The default ruleset plus a rule with a catastrophic-backtracking pattern (on RE2: linear).
    const rulesDir = mkdtempSync(join(tmpdir(), 'fe-hostile-rules-'));
    cpSync('config/rules', rulesDir, { recursive: true });
    const ruleset = readFileSync(join(rulesDir, 'default.yaml'), 'utf8').replace(
      /^version: .*$/m,
      'version: hostile-1',
    );
    writeFileSync(
      join(rulesDir, 'default.yaml'),
      `${ruleset.trimEnd()}
  - id: redos_probe
    description: A backtracking pattern over a 128-character identifier.
    expression: tx.customer_id.matches('^(a+)+$')
    action: TAG:redos
    priority: 1
    mode: shadow
    owner: hostile-test
`,
    );
    engine = await startEngine(rulesFromFiles(io.cfg), { log: createLogger('info', 'fraud-engine', logs), rulesDir });
    void engine.fatal.then((e) => {
      engineFatal = e;
    });
    sink = await startAuditSink(io.cfg, {
      httpPort: 0,
      log: createLogger('info', 'fraud-engine-audit', logs),
      groupId: `${io.cfg.kafka.group_id}-audit`,
    });
    redis = new Redis(stack.redisUrl, { lazyConnect: true });
    await redis.connect();
    pool = new pg.Pool({ connectionString: stack.postgresUrl, max: 2 });
  });

  afterAll(async () => {
    await engine?.stop();
    await sink?.stop();
    await decisions?.stop();
    await labelsDlq?.stop();
    await auditDlq?.stop();
    if (redis) {
      const keys = await redis.keys(`${io.cfg.redis.key_prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
    await pool
      ?.query('DELETE FROM decision_audit WHERE auth_id LIKE $1', [`${io.cfg.kafka.group_id}%`])
      .catch(() => undefined);
    await pool?.end();
    await io?.close();
  });

  it('dead-letters each hostile class with its reason, decides every valid event, keeps every instance up and leaks no card number', async () => {
    const { cfg, codecs } = io;
    const run = cfg.kafka.group_id; // unique to this run: auth ids start with it
    const now = Date.now();
    const ids = codecs.ids;
    const authType = avro.Type.forSchema(JSON.parse(readSchema('authorization')) as avro.Schema);
    const decisionType = avro.Type.forSchema(JSON.parse(readSchema('decision')) as avro.Schema);
    let seq = 0;
    const event = (over: Partial<AuthorizationEvent> = {}): AuthorizationEvent =>
      authorization({
        auth_id: `${run}-${seq++}`,
        event_time: now - 1000,
        card_token: `tok_h_${seq % 7}`,
        customer_id: `c-h-${seq % 7}`,
        terminal_id: `t-h-${seq % 3}`,
        merchant_id: 'm-1',
        amount_minor: 1000 + seq,
        ...over,
      });
    const auth = (over: Partial<AuthorizationEvent> = {}) => codecs.encodeAuthorization(event(over));
    const label = (over: Partial<LabelEvent> = {}): Buffer =>
      codecs.encodeLabel({
        auth_id: `${run}-l-${seq++}`,
        card_token: 'tok_h_1',
        customer_id: 'c-h-1',
        terminal_id: 't-h-1',
        tx_time: now - 5000,
        label_time: now,
        fraud: true,
        source: 'chargeback',
        ...over,
      });
    const decision = (over: Partial<Decision> = {}): Decision => ({
      auth_id: `${run}-d-${seq++}`,
      card_token: 'tok_h_2',
      outcome: 'REVIEW',
      score: 0.5,
      reasons: ['score>=0.35'],
      rule_hits: [],
      tags: [],
      model_version: 'm',
      ruleset_version: 'r',
      degraded: [],
      features: { tx_amount: 1 },
      event_time: now,
      decided_time: now,
      engine_latency_ms: 1,
      ...over,
    });
    const pan = (i: number) => TEST_PANS[i % TEST_PANS.length]!;
    // An authorization body whose channel enum or a union branch index is out of range.
    const bare = authType.toBuffer(bareAuthorization()) as Buffer;
    const badEnum = Buffer.from(bare);
    badEnum[badEnum.length - 6] = 0x40;
    const badUnion = Buffer.from(bare);
    badUnion[badUnion.length - 1] = 0x08;
    const reused = event({ auth_id: `${run}-reused` });
    const redelivered = event({ auth_id: `${run}-again` });

    const cases: Record<string, Case> = {
      // Decoding: only the topic's own schema ids, bounded before anything is allocated.
      array_bomb_other_schema: {
        topic: 'auth',
        value: wire(
          ids.decision,
          Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08])]),
        ),
        reason: /^schema_not_allowed$/,
      },
      string_length_bomb: {
        topic: 'auth',
        value: wire(ids.authorization, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08])),
        reason: /^avro_limit:string_too_long$/,
      },
      label_schema_on_authorizations: { topic: 'auth', value: label(), reason: /^schema_not_allowed$/ },
      unknown_schema_id: {
        topic: 'auth',
        value: wire(2_000_000_011, authType.toBuffer(event()) as Buffer),
        reason: /^schema_not_allowed$/,
      },
      truncated_payload: {
        topic: 'auth',
        value: auth().subarray(0, 20),
        reason: /^avro_limit:(truncated|string_too_long)$/,
      },
      trailing_bytes: {
        topic: 'auth',
        value: Buffer.concat([auth(), Buffer.from([1, 2, 3])]),
        reason: /^avro_limit:trailing_bytes$/,
      },
      shorter_than_header: { topic: 'auth', value: Buffer.from([0, 0, 1]), reason: /^truncated$/ },
      empty_payload: { topic: 'auth', value: null, reason: /^empty_payload$/ },
      bad_magic_byte: {
        topic: 'auth',
        value: Buffer.concat([Buffer.from([9]), auth().subarray(1)]),
        reason: /^bad_magic_byte$/,
      },
      unknown_enum_symbol: {
        topic: 'auth',
        value: wire(ids.authorization, badEnum),
        reason: /^avro_limit:enum_index$/,
      },
      bad_union_branch: { topic: 'auth', value: wire(ids.authorization, badUnion), reason: /^avro_limit:union_index$/ },
      endless_varint: {
        topic: 'auth',
        value: wire(ids.authorization, Buffer.concat([varint(2), Buffer.from('ab'), Buffer.alloc(12, 0xff)])),
        reason: /^avro_limit:varint_too_long$/,
      },
      oversized_payload: {
        topic: 'auth',
        value: auth({ description: 'y'.repeat(70_000) }),
        reason: /^oversized_payload$/,
      },
      one_megabyte_description: {
        topic: 'auth',
        value: auth({ description: 'z'.repeat(1_000_000) }),
        reason: /^oversized_payload$/,
      },
      // Validation.
      negative_amount: {
        topic: 'auth',
        value: auth({ amount_minor: -5 }),
        reason: /^invalid_field:amount_minor:out_of_range$/,
      },
      event_time_a_day_ahead: {
        topic: 'auth',
        value: auth({ event_time: now + DAY }),
        reason: /^event_time_in_future$/,
      },
      event_time_1999: {
        topic: 'auth',
        value: auth({ event_time: Date.UTC(1999, 0, 1) }),
        reason: /^invalid_field:event_time:out_of_range$/,
      },
      empty_auth_id: { topic: 'auth', value: auth({ auth_id: '' }), reason: /^invalid_field:auth_id:empty$/ },
      empty_kafka_key: { topic: 'auth', value: auth(), key: Buffer.alloc(0), reason: null },
      nul_and_emoji_in_ids: {
        topic: 'auth',
        value: auth({ customer_id: 'c-\u0000-\u{1F4B3}', terminal_id: 't-\u202e-x' }),
        reason: null,
      },
      // Rules: a backtracking pattern over a 128-character id is decided at once (RE2).
      redos_identifier: {
        topic: 'auth',
        value: auth({ auth_id: `${run}-redos`, customer_id: `${'a'.repeat(127)}b` }),
        reason: null,
      },
      redos_identifier_matching: {
        topic: 'auth',
        value: auth({ auth_id: `${run}-redos-hit`, customer_id: 'a'.repeat(128) }),
        reason: null,
      },
      // Card numbers where none belongs: refused, and never copied into the DLQ.
      pan_as_customer_id: {
        topic: 'auth',
        value: auth({ customer_id: pan(0) }),
        reason: /^pan_in_identifier:customer_id$/,
        withheld: true,
      },
      pan_with_dots_in_terminal_id: {
        topic: 'auth',
        value: auth({ terminal_id: pan(1).replace(/(\d{4})(?=\d)/g, '$1.') }),
        reason: /^pan_in_identifier:terminal_id$/,
        withheld: true,
      },
      pan_glued_in_device_id: {
        topic: 'auth',
        value: auth({ device_id: `dev${pan(2)}x` }),
        reason: /^pan_in_identifier:device_id$/,
        withheld: true,
      },
      pan_in_text_of_invalid_event: {
        topic: 'auth',
        value: auth({ currency: 'eu', description: `qty 12 ${pan(3)}` }),
        reason: /^invalid_field:currency:not_iso4217$/,
        withheld: true,
      },
      pan_in_key_and_header: {
        topic: 'auth',
        value: auth({ amount_minor: -1 }),
        key: pan(4),
        headers: { 'x-ref': `card ${pan(5).replace(/(\d{4})(?=\d)/g, '$1 ')}` },
        reason: /^invalid_field:amount_minor:out_of_range$/,
        withheld: true,
      },
      // State: a reused auth id (another card and amount) is refused, a redelivery is answered again.
      auth_id_reused: {
        topic: 'auth',
        value: codecs.encodeAuthorization({ ...reused, card_token: 'tok_h_other', amount_minor: 999_999 }),
        reason: /^auth_id_reused$/,
      },
      redelivered_same_payload: { topic: 'auth', value: codecs.encodeAuthorization(redelivered), reason: null },
      event_60_days_old: {
        topic: 'auth',
        value: auth({ event_time: now - 60 * DAY, customer_id: `c-old-${run}` }),
        reason: null,
      },
      // Labels.
      label_array_bomb: {
        topic: 'labels',
        value: wire(
          ids.decision,
          Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08])]),
        ),
        reason: /^schema_not_allowed$/,
      },
      label_truncated: {
        topic: 'labels',
        value: label().subarray(0, 9),
        reason: /^avro_limit:(truncated|string_too_long)$/,
      },
      label_pan_in_card_token: {
        topic: 'labels',
        value: label({ card_token: pan(0) }),
        reason: /^pan_in_card_token$/,
        withheld: true,
      },
      label_in_future: {
        topic: 'labels',
        value: label({ tx_time: now + DAY, label_time: now + DAY }),
        reason: /^tx_time_in_future$/,
      },
      label_for_unknown_auth_id: { topic: 'labels', value: label({ auth_id: `${run}-never-seen` }), reason: null },
      // Decisions, read by the audit sink.
      decision_array_bomb_own_schema: {
        topic: 'decisions',
        value: wire(
          ids.decision,
          Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08])]),
        ),
        reason: /^avro_limit:too_many_items$/,
      },
      decision_huge_map: {
        topic: 'decisions',
        value: wire(
          ids.decision,
          decisionType.toBuffer(
            decision({ features: Object.fromEntries(Array.from({ length: 12_000 }, (_, i) => [`f${i}`, i])) }),
          ) as Buffer,
        ),
        reason: /^avro_limit:too_many_items$/,
      },
      decision_other_schema: { topic: 'decisions', value: auth(), reason: /^schema_not_allowed$/ },
      decision_pan_in_card_token: {
        topic: 'decisions',
        value: codecs.encodeDecision(decision({ card_token: pan(1) })),
        reason: /^pan_in_decision:card_token$/,
        withheld: true,
      },
      decision_nan_and_infinity: {
        topic: 'decisions',
        value: codecs.encodeDecision(
          decision({ auth_id: `${run}-d-nan`, score: Number.NaN, engine_latency_ms: Number.POSITIVE_INFINITY }),
        ),
        reason: null,
      },
      decision_year_2090: {
        topic: 'decisions',
        value: codecs.encodeDecision(
          decision({ auth_id: `${run}-d-2090`, event_time: Date.UTC(2090, 5, 1), decided_time: Date.UTC(2090, 5, 1) }),
        ),
        reason: null,
      },
      decision_postgres_refuses: {
        topic: 'decisions',
        value: codecs.encodeDecision(decision({ auth_id: `${run}-d-bc`, event_time: -(2 ** 52) })),
        reason: /^audit_write_failed:22008$/,
      },
    };

    // Valid events around every hostile one; the reused and redelivered ids decided once first.
    const valid: AuthorizationEvent[] = [reused, redelivered];
    await io.producer.send({
      topic: cfg.kafka.topic_authorizations,
      acks: -1,
      messages: valid.map((e) => ({ key: e.card_token, value: codecs.encodeAuthorization(e) })),
    });
    await decisions.waitFor((items) => items.length >= 2);
    const byTopic: Record<Case['topic'], Message[]> = { auth: [], labels: [], decisions: [] };
    for (const [name, c] of Object.entries(cases)) {
      const before = event();
      const after = event();
      valid.push(before, after);
      byTopic.auth.push({ key: before.card_token, value: codecs.encodeAuthorization(before) });
      byTopic[c.topic].push({
        key: c.key === undefined ? `case-${name}` : c.key,
        value: c.value,
        headers: { 'x-case': name, ...(c.headers ?? {}) },
      });
      byTopic.auth.push({ key: after.card_token, value: codecs.encodeAuthorization(after) });
    }
    const topicOf = {
      auth: cfg.kafka.topic_authorizations,
      labels: cfg.kafka.topic_labels,
      decisions: cfg.kafka.topic_decisions,
    } as const;
    for (const t of ['auth', 'labels', 'decisions'] as const) {
      for (const m of byTopic[t]) await io.producer.send({ topic: topicOf[t], acks: -1, messages: [m] });
    }

    const expected = (t: Case['topic']) => Object.values(cases).filter((c) => c.topic === t && c.reason).length;
    const validIds = new Set(valid.map((e) => e.auth_id));
    const handledAuth = Object.entries(cases).filter(([, c]) => c.topic === 'auth' && !c.reason).length;
    // Waited for, then compared below (a miss is named there).
    await io.dlq.waitFor((items) => items.length >= expected('auth'), 60_000).catch(() => undefined);
    await labelsDlq.waitFor((items) => items.length >= expected('labels'), 20_000).catch(() => undefined);
    // The audit sink reads the labels too (label_audit): it dead-letters the hostile ones as well.
    await auditDlq
      .waitFor((items) => items.length >= expected('decisions') + expected('labels'), 20_000)
      .catch(() => undefined);
    // Each valid event once, plus the handled cases (the redelivery among them answered again).
    const engineDecisions = () =>
      decisions.items.filter((d) => d.value && !d.value.auth_id.startsWith(`${run}-d-`)) as Collected<Decision>[];
    await decisions
      .waitFor(() => engineDecisions().length >= validIds.size + handledAuth, 60_000)
      .catch(() => undefined);
    const decidedIds = new Set(engineDecisions().map((d) => d.value.auth_id));
    expect(
      [...validIds].filter((id) => !decidedIds.has(id)),
      'valid events not decided',
    ).toEqual([]);
    expect(engineDecisions()).toHaveLength(validIds.size + handledAuth);

    // Dead letters: one per hostile class, with its reason; withheld when it held a card number.
    const results: Record<string, string> = {};
    // The audit sink's dead letters name their source topic: its decisions and its labels apart.
    const fromTopic = (items: typeof auditDlq.items, topic: string) =>
      items.filter((i) => i.headers['dlq.source']?.toString().startsWith(`${topic}/`));
    const dlqs: [Case['topic'], typeof auditDlq.items][] = [
      ['auth', io.dlq.items],
      ['labels', labelsDlq.items],
      ['labels', fromTopic(auditDlq.items, topicOf.labels)],
      ['decisions', fromTopic(auditDlq.items, topicOf.decisions)],
    ];
    expect(auditDlq.items).toHaveLength(expected('decisions') + expected('labels'));
    for (const [t, items] of dlqs) {
      const named = new Set(items.map((i) => i.headers['x-case']?.toString()));
      const missing = Object.entries(cases)
        .filter(([n, c]) => c.topic === t && c.reason && !c.withheld && !named.has(n))
        .map(([n]) => n);
      expect(missing, `${t}: not dead-lettered`).toEqual([]);
      expect(items).toHaveLength(expected(t));
      const withheldNames = Object.entries(cases)
        .filter(([, c]) => c.topic === t && c.withheld)
        .map(([n]) => n);
      let withheld = 0;
      for (const item of items) {
        const reason = item.headers['dlq.reason']!.toString();
        const name = item.headers['x-case']?.toString();
        if (item.headers['dlq.payload']?.toString() === 'withheld:pan_like_content') {
          withheld++;
          expect(item.raw).toBeNull();
          expect(name).toBeUndefined();
          expect(
            withheldNames.some((n) => cases[n]!.reason!.test(reason)),
            reason,
          ).toBe(true);
          continue;
        }
        expect(name, `a dead letter without its case: ${reason}`).toBeDefined();
        expect(reason, name).toMatch(cases[name!]!.reason!);
        results[name!] = `dlq ${reason}`;
      }
      expect(withheld).toBe(withheldNames.length);
      for (const n of withheldNames) results[n] = `dlq ${cases[n]!.reason!.source.replace(/[\^$]/g, '')} (withheld)`;
    }

    // Valid events: each decided; the redelivered one answered twice, byte for byte.
    const decided = engineDecisions();
    for (const id of validIds)
      expect(decided.filter((d) => d.value.auth_id === id).length, id).toBeGreaterThanOrEqual(1);
    const again = decided.filter((d) => d.value.auth_id === redelivered.auth_id);
    expect(again).toHaveLength(2);
    expect(again[0]!.raw!.equals(again[1]!.raw!)).toBe(true);
    expect(decided.filter((d) => d.value.auth_id === reused.auth_id)).toHaveLength(1);
    const old = decided.find((d) => d.value.event_time === now - 60 * DAY)!;
    expect(old.value.degraded).toContain('event_too_old');
    expect(await redis.keys(`${cfg.redis.key_prefix}*c-old-${run}*`)).toEqual([]);
    expect(decided.some((d) => d.value.auth_id.startsWith(run) && d.value.degraded.includes('event_too_old'))).toBe(
      true,
    );
    results.redelivered_same_payload = 'decided twice, byte-identical';
    results.event_60_days_old = 'decided without features (event_too_old), no feature keys';
    results.empty_kafka_key = 'decided';
    results.nul_and_emoji_in_ids = 'decided';
    const redos = decided.find((d) => d.value.auth_id === `${run}-redos`)!;
    expect(redos.value.ruleset_version).toBe('hostile-1');
    expect(redos.value.degraded).not.toContain('rules_timeout');
    expect(redos.value.rule_hits.map((h) => h.rule_id)).not.toContain('redos_probe');
    // The rule is evaluated: it hits (in shadow) where the pattern matches.
    const hit = decided.find((d) => d.value.auth_id === `${run}-redos-hit`)!;
    expect(hit.value.rule_hits).toContainEqual({ rule_id: 'redos_probe', action: 'TAG:redos', mode: 'SHADOW' });
    expect(
      decided.filter((d) => d.value.rule_hits.some((h) => h.rule_id === 'redos_probe')).map((d) => d.value.auth_id),
    ).toEqual([`${run}-redos-hit`]);
    results.redos_identifier = 'decided, not degraded (matches() on RE2)';
    results.redos_identifier_matching = 'decided, the rule hits';

    // Labels: the unknown auth id is applied like any label (a set member, harmless).
    await waitUntil(() => engine!.labels.applied >= 1);
    results.label_for_unknown_auth_id = 'applied';
    // Audit: the NaN row is stored with a null score; the 2090 one in the default partition.
    await waitUntil(
      async () =>
        (await pool.query('SELECT 1 FROM decision_audit WHERE auth_id = ANY($1)', [[`${run}-d-nan`, `${run}-d-2090`]]))
          .rowCount === 2,
    );
    const rows = await pool.query<{ auth_id: string; score: number | null; part: string }>(
      'SELECT auth_id, score, tableoid::regclass::text AS part FROM decision_audit WHERE auth_id = ANY($1) ORDER BY auth_id',
      [[`${run}-d-nan`, `${run}-d-2090`]],
    );
    expect(rows.rows).toEqual([
      { auth_id: `${run}-d-2090`, score: 0.5, part: 'decision_audit_default' },
      {
        auth_id: `${run}-d-nan`,
        score: null,
        part: expect.stringMatching(/^decision_audit_p\d{8}$/) as unknown as string,
      },
    ]);
    results.decision_nan_and_infinity = 'written, score null';
    results.decision_year_2090 = 'written to the default partition';

    // Every instance is up and consuming.
    expect(engineFatal).toBeNull();
    expect(engine!.runner.isRunning).toBe(true);
    expect(engine!.labels.isRunning).toBe(true);
    expect(sink!.runner.isRunning).toBe(true);

    // No card number anywhere: logs, dead letters, decisions, audit rows, Redis.
    const leaks: string[] = [];
    const where: Record<string, number> = {};
    const scan = (what: string, text: string) => {
      const f = panRuns(text);
      if (f.length) where[what] = (where[what] ?? 0) + f.length;
      leaks.push(...f);
    };
    for (const l of logs.lines) scan('log', l);
    for (const r of [io.dlq, labelsDlq, auditDlq]) {
      for (const item of r.items) {
        scan('dlq payload', item.raw?.toString('latin1') ?? '');
        for (const [k, v] of Object.entries(item.headers)) scan('dlq header', `${k} ${String(v)}`);
      }
    }
    for (const d of decided) scan('decision', d.raw!.toString('latin1'));
    await waitUntil(
      async () =>
        Number(
          (await pool.query('SELECT count(*) AS n FROM decision_audit WHERE auth_id LIKE $1', [`${run}%`])).rows[0].n,
        ) >=
        validIds.size + 4,
    );
    const audit = await pool.query<{ j: string }>(
      'SELECT row_to_json(a)::text AS j FROM decision_audit a WHERE auth_id LIKE $1',
      [`${run}%`],
    );
    expect(audit.rowCount).toBeGreaterThan(validIds.size);
    // Fractions are left out: the 14 digits after `0.` of a feature value are no card number.
    const integersOnly = (j: string) =>
      JSON.stringify(JSON.parse(j), (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? null : v));
    for (const r of audit.rows) scan('audit row', integersOnly(r.j));
    const keys = await redis.keys(`${cfg.redis.key_prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      scan('redis key', k);
      const type = await redis.type(k);
      const content =
        type === 'zset'
          ? await redis.zrange(k, 0, -1)
          : type === 'hash'
            ? Object.entries(await redis.hgetall(k)).flat()
            : type === 'string'
              ? [(await redis.getBuffer(k))?.toString('latin1') ?? '']
              : [];
      for (const c of content) scan(`redis ${type}`, c);
    }
    expect(where).toEqual({});
    expect(leaks).toEqual([]);

    const classes = Object.keys(cases).length;
    expect(classes).toBeGreaterThanOrEqual(25);
    console.log(
      JSON.stringify(
        {
          suite: 'hostile_input',
          classes,
          valid_events: validIds.size,
          decided: new Set(decided.map((d) => d.value.auth_id)).size,
          dlq: { authorizations: io.dlq.items.length, labels: labelsDlq.items.length, audit: auditDlq.items.length },
          instances_up: true,
          leaks: leaks.length,
          registry_lookups: codecs.decoders.authorization.lookups,
          results,
        },
        null,
        1,
      ),
    );
  }, 180_000);
});

async function waitUntil(pred: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
