/**
 * Bad input (issue 8): thousands of malformed payloads interleaved with valid events on the
 * shared stack (unique topics, group and key prefix). The engine never stops; each bad payload
 * reaches the DLQ with its reason (and nothing of it when it holds a card number); the valid
 * events between them are decided once. Bad configuration stops `fraud-engine run` at start-up
 * with a message naming the key (and never echoing a secret). A bug in a batch (a non-retriable
 * consumer crash) is fatal, so that `run` exits and its supervisor restarts it.
 */
import type { Message, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEngine, type EngineHandle } from '../../src/app/engine.js';
import type { EngineConfig } from '../../src/config/config.js';
import type { AvroCodecs } from '../../src/events/codec.js';
import type { AuthorizationEvent, Decision } from '../../src/events/types.js';
import { panRuns, runCli, TEST_PANS } from '../helpers/child-engine.js';
import {
  codecsFor,
  createTopics,
  deleteTopics,
  kafkaFor,
  pipelineIO,
  testConfig,
  type PipelineIO,
  type TopicReader,
} from '../helpers/engine.js';
import { stack } from '../helpers/stack.js';
import { authorization, bareAuthorization } from '../helpers/events.js';
import { rng } from '../helpers/train-fixture.js';

describe('bad input: malformed payloads interleaved with valid events', () => {
  let cfg: EngineConfig;
  let codecs: AvroCodecs;
  let producer: Producer;
  let engine: EngineHandle | null = null;
  let decisions: TopicReader<Decision>;
  let dlq: TopicReader<null>;
  let fatal: Error | null = null;

  let io: PipelineIO | null = null;

  beforeAll(async () => {
    io = await pipelineIO();
    ({ cfg, codecs, producer, decisions, dlq } = io);
    engine = await startEngine(cfg);
    void engine.fatal.then((e) => {
      fatal = e;
    });
  });

  afterAll(async () => {
    await engine?.stop();
    await io?.close();
  });

  it('dead-letters every malformed payload with its reason, withholds card numbers, decides every valid event, and keeps running', async () => {
    const rand = rng(8);
    const int = (n: number) => Math.floor(rand() * n);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
    const now = Date.now();
    let seq = 0;
    const event = (over: Partial<AuthorizationEvent> = {}): AuthorizationEvent => {
      const i = seq++;
      return authorization({
        auth_id: `fz-${i}`,
        event_time: now - 60_000 + i,
        card_token: `tok_fz_${i % 97}`,
        customer_id: `c-fz-${i % 97}`,
        terminal_id: `t-fz-${i % 31}`,
        merchant_id: 'm-1',
        amount_minor: 1000 + i,
        ...over,
      });
    };
    const pan = () => TEST_PANS[int(TEST_PANS.length)]!;
    const enc = (ev: AuthorizationEvent) => codecs.encodeAuthorization(ev) as Buffer;

    // Each case: a payload maker and the reason expected in the DLQ (a pattern), `pan` when it must be withheld.
    const cases: Record<
      string,
      { make: () => { value: Buffer | null; key?: string }; reason: RegExp; withheld?: boolean }
    > = {
      wrong_magic_byte: {
        make: () => {
          const b = Buffer.from(enc(event()));
          b[0] = 1 + int(255);
          return { value: b };
        },
        reason: /^bad_magic_byte$/,
      },
      unknown_schema_id: {
        make: () => {
          const b = Buffer.from(enc(event()));
          b.writeInt32BE(2_000_000_000 + int(5), 1);
          return { value: b };
        },
        reason: /^schema_not_allowed$/,
      },
      truncated_avro: {
        make: () => {
          const b = enc(event());
          return { value: b.subarray(0, 6 + int(b.length - 6)) };
        },
        reason: /^avro_limit:(truncated|string_too_long|enum_index|union_index)$/,
      },
      shorter_than_header: { make: () => ({ value: Buffer.from([0, ...bytes(int(5))]) }), reason: /^truncated$/ },
      empty_payload: { make: () => ({ value: rand() < 0.5 ? null : Buffer.alloc(0) }), reason: /^empty_payload$/ },
      trailing_bytes: {
        make: () => ({ value: Buffer.concat([enc(event()), bytes(1 + int(20))]) }),
        reason: /^avro_limit:trailing_bytes$/,
      },
      random_body: {
        make: () => {
          const b = Buffer.concat([enc(event()).subarray(0, 5), bytes(5 + int(200))]);
          return { value: b };
        },
        reason: /^(avro_limit:.+|avro_decode_failed|invalid_field:.+|event_time_in_future)$/,
      },
      // Another topic's schema, registered in the same registry: not this topic's to carry.
      other_schema_label: {
        make: () => ({
          value: codecs.encodeLabel({
            auth_id: `l-${seq++}`,
            card_token: 'tok_l',
            customer_id: 'c-l',
            terminal_id: 't-l',
            tx_time: now,
            label_time: now,
            fraud: true,
            source: 'x',
          }) as Buffer,
        }),
        reason: /^schema_not_allowed$/,
      },
      other_schema_decision: {
        make: () => ({
          value: codecs.encodeDecision({
            auth_id: `d-${seq++}`,
            card_token: 'tok_d',
            outcome: 'APPROVE',
            score: 0.1,
            reasons: [],
            rule_hits: [],
            tags: [],
            model_version: 'm',
            ruleset_version: 'r',
            degraded: [],
            features: {},
            event_time: now,
            decided_time: now,
            engine_latency_ms: 1,
          }) as Buffer,
        }),
        reason: /^schema_not_allowed$/,
      },
      oversized_description: {
        make: () => ({ value: enc(event({ description: 'x'.repeat(1025 + int(5000)) })) }),
        reason: /^invalid_field:description:too_long$/,
      },
      oversized_id: {
        make: () => ({ value: enc(event({ auth_id: `a${'9'.repeat(200)}` })) }),
        reason: /^invalid_field:auth_id:too_long$/,
      },
      oversized_payload: {
        make: () => ({ value: enc(event({ description: 'y'.repeat(70_000) })) }),
        reason: /^oversized_payload$/,
      },
      invalid_values: {
        make: () => ({
          value: enc(
            event([{ currency: 'euro' }, { amount_minor: -5 }, { event_time: 5 }, { terminal_id: '' }][int(4)]!),
          ),
        }),
        reason: /^invalid_field:(currency|amount_minor|event_time|terminal_id):/,
      },
      pan_as_card_token: {
        make: () => {
          const p = pan();
          return { value: enc(event({ card_token: p })), key: p };
        },
        reason: /^pan_in_card_token$/,
        withheld: true,
      },
      pan_in_auth_id: {
        make: () => ({ value: enc(event({ auth_id: `auth-${pan()}` })) }),
        reason: /^pan_in_identifier:auth_id$/,
        withheld: true,
      },
      pan_in_terminal_id: {
        make: () => ({ value: enc(event({ terminal_id: `T-${pan()}` })) }),
        reason: /^pan_in_identifier:terminal_id$/,
        withheld: true,
      },
      // Glued to letters: refused too (a hex hash is held to a stricter rule, see src/security/pan.ts), never copied to the DLQ.
      pan_glued_in_invalid_event: {
        make: () => ({ value: enc(event({ terminal_id: `T${pan()}`, currency: 'e' })) }),
        reason: /^pan_in_identifier:terminal_id$/,
        withheld: true,
      },
      pan_in_text_of_invalid_event: {
        make: () => ({ value: enc(event({ currency: 'eu', description: `card no ${pan()}` })) }),
        reason: /^invalid_field:currency:not_iso4217$/,
        withheld: true,
      },
      pan_in_garbage: {
        make: () => ({ value: Buffer.concat([Buffer.from([0x7b]), Buffer.from(`{"pan":"${pan()}"}`)]) }),
        reason: /^bad_magic_byte$/,
        withheld: true,
      },
    };
    const kinds = Object.keys(cases);
    const PER_KIND = 150;
    const VALID = 1500;
    const messages: Message[] = [];
    const validIds: string[] = [];
    const plan: string[] = [];
    for (const k of kinds) for (let i = 0; i < PER_KIND; i++) plan.push(k);
    for (let i = 0; i < VALID; i++) plan.push('valid');
    for (let i = plan.length - 1; i > 0; i--) {
      const j = int(i + 1);
      [plan[i], plan[j]] = [plan[j]!, plan[i]!];
    }
    const sentBad = new Map<string, { kind: string; value: Buffer | null }>();
    for (const [n, kind] of plan.entries()) {
      if (kind === 'valid') {
        // A card number in free text is allowed (never stored, emitted or logged).
        // Hex hashes hold long digit runs that may pass Luhn: not a card number, decided.
        const hash = [...bytes(32)].map((x) => x.toString(16).padStart(2, '0')).join('');
        const ev = event(
          n % 7 === 0
            ? { description: `customer read ${pan()} on the phone`, email_hash: hash }
            : { email_hash: n % 3 === 0 ? `1234567890123${hash.slice(13)}` : hash },
        );
        validIds.push(ev.auth_id);
        messages.push({ key: ev.card_token, value: enc(ev) });
        continue;
      }
      const c = cases[kind]!;
      const { value, key } = c.make();
      const tag = `bad-${n}`;
      sentBad.set(tag, { kind, value });
      messages.push({ key: key ?? tag, value, headers: { 'x-case': tag } });
    }
    const started = Date.now();
    for (let i = 0; i < messages.length; i += 200) {
      await producer.send({ topic: cfg.kafka.topic_authorizations, acks: -1, messages: messages.slice(i, i + 200) });
    }
    const want = new Set(validIds);
    await decisions.waitFor((items) => items.filter((d) => want.has(d.value.auth_id)).length >= want.size, 90_000);
    await dlq.waitFor((items) => items.length >= sentBad.size, 90_000);
    const seconds = (Date.now() - started) / 1000;

    // Valid events: one decision each, nothing of a card number in them.
    const mine = decisions.items.filter((d) => want.has(d.value.auth_id));
    expect(new Set(mine.map((d) => d.value.auth_id)).size).toBe(validIds.length);
    expect(mine).toHaveLength(validIds.length);
    for (const d of decisions.items) expect(panRuns(d.raw!.toString('latin1'))).toEqual([]);
    expect(decisions.items.filter((d) => !want.has(d.value.auth_id))).toEqual([]);

    // Bad payloads: each in the DLQ once, with the expected reason; withheld when it held a PAN.
    expect(dlq.items).toHaveLength(sentBad.size);
    const reasons: Record<string, number> = {};
    const withheldBy: Record<string, number> = {};
    for (const item of dlq.items) {
      const h = (k: string) => item.headers[k]?.toString();
      const reason = h('dlq.reason')!;
      reasons[reason.split(':').slice(0, 2).join(':')] = (reasons[reason.split(':').slice(0, 2).join(':')] ?? 0) + 1;
      expect(h('dlq.source')).toMatch(/^.+\/\d+\/\d+$/);
      expect(
        panRuns(JSON.stringify(Object.fromEntries(Object.entries(item.headers).map(([k, v]) => [k, String(v)])))),
      ).toEqual([]);
      if (h('dlq.payload') === 'withheld:pan_like_content') {
        expect(item.raw).toBeNull();
        expect(h('x-case')).toBeUndefined();
        withheldBy[reason] = (withheldBy[reason] ?? 0) + 1;
        continue;
      }
      const sent = sentBad.get(h('x-case')!)!;
      expect(sent, `a DLQ message without its case: ${reason}`).toBeDefined();
      expect(reason, sent.kind).toMatch(cases[sent.kind]!.reason);
      expect(cases[sent.kind]!.withheld ?? false, `${sent.kind} should have been withheld`).toBe(false);
      if (sent.kind === 'oversized_payload') {
        // Not copied: the DLQ points at it in the input topic.
        expect(item.raw).toBeNull();
        expect(h('dlq.payload')).toBe('withheld:oversized');
        expect(h('dlq.size')).toBe(String(sent.value!.length));
      } else if (sent.value && sent.value.length) {
        expect(item.raw!.equals(sent.value)).toBe(true);
      }
      sentBad.delete(h('x-case')!);
    }
    // What is left are the withheld ones: they match the PAN cases, reason by reason.
    const leftByKind: Record<string, number> = {};
    for (const { kind } of sentBad.values()) leftByKind[kind] = (leftByKind[kind] ?? 0) + 1;
    expect(Object.keys(leftByKind).sort()).toEqual(kinds.filter((k) => cases[k]!.withheld).sort());
    expect(withheldBy).toEqual({
      pan_in_card_token: PER_KIND,
      'pan_in_identifier:auth_id': PER_KIND,
      'pan_in_identifier:terminal_id': 2 * PER_KIND,
      'invalid_field:currency:not_iso4217': PER_KIND,
      bad_magic_byte: PER_KIND,
    });

    // The engine is still there, consuming.
    expect(fatal).toBeNull();
    expect(engine!.runner.isRunning).toBe(true);
    console.log(
      JSON.stringify({
        fault: 'bad_input_fuzz',
        bad_payloads: kinds.length * PER_KIND,
        valid_events: VALID,
        decided: mine.length,
        dlq: dlq.items.length,
        withheld: Object.values(withheldBy).reduce((a, b) => a + b, 0),
        seconds: Math.round(seconds * 10) / 10,
        dlq_reasons: reasons,
      }),
    );
  }, 150_000);

  it('a message that makes the engine throw is dead-lettered alone (handler_error), its neighbours are decided', async () => {
    const io2 = await pipelineIO({ FRAUD_ENGINE_LOG_LEVEL: 'silent' });
    const c2 = io2.cfg;
    const e2 = await startEngine(c2);
    try {
      // A bug that only one payload triggers: the batch holding it fails, then each of its
      // messages is handled alone, and only the poison one fails again.
      const inner = e2.runner as unknown as {
        o: { engine: { decideBatch: (evs: AuthorizationEvent[], t?: number) => Promise<unknown> } };
      };
      const real = inner.o.engine.decideBatch.bind(inner.o.engine);
      inner.o.engine.decideBatch = (evs, t) => {
        if (evs.some((e) => e.auth_id === 'poison-7')) throw new TypeError('simulated bug on one payload');
        return real(evs, t);
      };
      const mk = (i: number): AuthorizationEvent =>
        bareAuthorization({
          auth_id: `poison-${i}`,
          event_time: Date.now(),
          card_token: 'tok_poison',
          customer_id: 'c',
          terminal_id: 't',
          amount_minor: 100 + i,
          channel: 'POS',
        });
      await io2.producer.send({
        topic: c2.kafka.topic_authorizations,
        acks: -1,
        messages: Array.from({ length: 20 }, (_, i) => ({
          key: 'tok_poison',
          value: io2.codecs.encodeAuthorization(mk(i)),
        })),
      });
      await io2.decisions.waitFor((items) => items.length >= 19, 60_000);
      await io2.dlq.waitFor((items) => items.length >= 1, 60_000);
      expect(io2.decisions.items.map((d) => d.value.auth_id).sort()).toEqual(
        Array.from({ length: 20 }, (_, i) => `poison-${i}`)
          .filter((id) => id !== 'poison-7')
          .sort(),
      );
      expect(io2.dlq.items).toHaveLength(1);
      expect(io2.dlq.items[0]!.headers['dlq.reason']!.toString()).toBe('handler_error:TypeError');
      expect(e2.runner.isRunning).toBe(true);
    } finally {
      await e2.stop();
      await io2.close();
    }
  }, 90_000);

  it('an engine that is itself broken (its probe fails too): nothing is dead-lettered, the consumer is run again 3 times, then it is fatal, so that `run` exits 70', async () => {
    const c2 = testConfig({ FRAUD_ENGINE_LOG_LEVEL: 'silent' });
    await createTopics(c2);
    const e2 = await startEngine(c2);
    try {
      let calls = 0;
      const runner = e2.runner as unknown as { o: { engine: { decideBatch: () => never; warmUp: () => never } } };
      runner.o.engine.decideBatch = () => {
        calls++;
        throw new TypeError('simulated bug');
      };
      runner.o.engine.warmUp = () => {
        throw new TypeError('simulated bug (probe)');
      };
      const c2codecs = await codecsFor(c2);
      const p = kafkaFor(c2).producer();
      await p.connect();
      await p.send({
        topic: c2.kafka.topic_authorizations,
        messages: [
          {
            key: 'k',
            value: c2codecs.encodeAuthorization(
              bareAuthorization({ auth_id: 'bug-1', event_time: Date.now(), card_token: 'tok_bug', channel: 'POS' }),
            ) as Buffer,
          },
        ],
      });
      await p.disconnect();
      const err = await e2.fatal;
      expect(err.message).toMatch(/simulated bug/);
      expect(calls).toBe(4); // the first run and 3 restarts (after 1, 2 and 4 s)
      expect(e2.runner.isRunning).toBe(false);
      expect(e2.runner.deadLettered).toBe(0);
    } finally {
      await e2.stop();
      await deleteTopics(c2);
    }
  }, 90_000);
});

describe('bad configuration stops `fraud-engine run` at start-up, naming the key', () => {
  const run = (env: Record<string, string>, args: string[] = []) =>
    runCli(['run', ...args], {
      FRAUD_KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      FRAUD_ENGINE_HTTP_PORT: '0',
      ...env,
    });

  it.each([
    [
      { FRAUD_ENGINE_MAX_BATCH: 'lots' },
      "FRAUD_ENGINE_MAX_BATCH (engine.max_batch): expected a non-negative integer, got 'lots'",
    ],
    [{ FRAUD_ENGINE_MAX_BATCH: '0' }, "FRAUD_ENGINE_MAX_BATCH (engine.max_batch): must be at least 1, got '0'"],
    [{ FRAUD_KAFKA_SESSION_TIMEOUT_MS: '-5' }, 'FRAUD_KAFKA_SESSION_TIMEOUT_MS (kafka.session_timeout_ms)'],
    [
      { FRAUD_KAFKA_SASL_MECHANISM: 'kerberos' },
      "FRAUD_KAFKA_SASL_MECHANISM (kafka.sasl_mechanism): 'kerberos' is not one of",
    ],
    [{ FRAUD_KAFKA_SSL: 'maybe' }, "FRAUD_KAFKA_SSL (kafka.ssl): expected true or false, got 'maybe'"],
    [{ FRAUD_ENGINE_LOG_LEVEL: 'loud' }, 'FRAUD_ENGINE_LOG_LEVEL (engine.log_level)'],
  ])('environment %o', (env, message) => {
    const r = run(env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`invalid configuration: ${message}`);
  });

  it('a URL with a password: the key is named, the secret is not echoed', () => {
    const r = run({
      FRAUD_REDIS_URL: 'http://user:s3cr3t-value@redis.internal:6379',
      FRAUD_POSTGRES_URL: 'postgres://u:pgs3cr3t@h/db',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'invalid configuration: FRAUD_REDIS_URL (redis.url): expected a URL starting with redis:// or rediss://',
    );
    expect(r.stdout + r.stderr).not.toContain('s3cr3t');
    const pg = run({ FRAUD_POSTGRES_URL: 'mysql://u:pgs3cr3t@h/db' });
    expect(pg.code).toBe(2);
    expect(pg.stderr).toContain('FRAUD_POSTGRES_URL (postgres.url)');
    expect(pg.stdout + pg.stderr).not.toContain('pgs3cr3t');
  });

  it('YAML: a syntax error names the file, an unknown or mistyped key names the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fe-badcfg-'));
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'kafka:\n  brokers: [unclosed\n');
    const r1 = run({}, ['--config', broken]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain(`invalid configuration: ${broken}:`);
    const defaults = readFileSync('config/default.yaml', 'utf8');
    const typo = join(dir, 'typo.yaml');
    writeFileSync(typo, defaults.replace(/^redis:\n/m, 'redis:\n  passwrd: x\n'));
    const r2 = run({}, ['--config', typo]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('invalid configuration: redis.passwrd: unknown key');
    const mistyped = join(dir, 'mistyped.yaml');
    writeFileSync(mistyped, defaults.replace(/^ {2}max_batch: \d+/m, '  max_batch: [1, 2]'));
    const r3 = run({}, ['--config', mistyped]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain("invalid configuration: engine.max_batch: expected a non-negative integer, got '1,2'");
  });
});
