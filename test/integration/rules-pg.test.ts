/**
 * Rulesets in PostgreSQL for real: migrations, publish / approve / rollback (four eyes), the running
 * engine (Kafka, Redis, the model) taking up a new version and list changes (liveness bounds
 * of 10 s, the delays printed), a bad ruleset refused while the active one stays, and the last
 * good ruleset kept while the database is unreachable. Each test file works in its own PostgreSQL schema (search_path in
 * the connection URL), dropped at the end, so it never touches another test's rulesets.
 */
import { inTransaction } from '../../src/storage/pool.js';
import pg from 'pg';
import pino from 'pino';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, type EngineHandle } from '../../src/app/engine.js';
import type { EngineConfig } from '../../src/config/config.js';
import type { AvroCodecs } from '../../src/events/codec.js';
import type { AuthorizationEvent, Decision } from '../../src/events/types.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { DEFAULT_RULE_LIMITS } from '../../src/rules/cost.js';
import { loadRulesetFiles } from '../../src/rules/load.js';
import { PgRulesetSource } from '../../src/rules/pg-source.js';
import { RuleApprovals } from '../../src/rules/pg-approvals.js';
import { PgRulesetStore, PublishError, RulesetStoreError } from '../../src/rules/pg-store.js';
import type { RulesetDef } from '../../src/rules/types.js';
import { migrate, migrationFiles } from '../../src/storage/migrate.js';
import { codecsFor, createTopics, deleteTopics, kafkaFor, testConfig, TopicReader } from '../helpers/engine.js';
import { fourEyes, type FourEyes } from '../helpers/four-eyes.js';
import { schemaUrl, stack, uniqueName } from '../helpers/stack.js';

const schemaName = (p: string) => uniqueName(p).replace(/[^a-z0-9]/g, '_');

const urlFor = (schema: string): string => schemaUrl(schema);

const admin = new pg.Pool({ connectionString: stack.postgresUrl, max: 2 });
const schemas: string[] = [];
async function freshSchema(prefix: string): Promise<string> {
  const s = schemaName(prefix);
  await admin.query(`CREATE SCHEMA ${s}`);
  schemas.push(s);
  return s;
}

const silent = pino({ level: 'silent' });
/** The `postgres` section without TLS (the shared stack's server is plaintext on loopback). */
const PLAIN = { ssl: false, ssl_ca_file: '', ssl_cert_file: '', ssl_key_file: '' };
const defaults = loadRulesetFiles('config/rules');
/** The defaults plus a marker rule: an amount of 4242.42 is declined by `it_marker`. */
function withMarker(version: string): RulesetDef {
  return {
    ...defaults,
    version,
    rules: [
      ...defaults.rules,
      {
        id: 'it_marker',
        description: 'test marker',
        expression: 'tx.amount_minor == 424242',
        action: 'DECLINE',
        priority: 10,
        mode: 'active',
        owner: 'it',
      },
    ],
  };
}

async function waitFor<T>(
  what: string,
  probe: () => T | null | undefined | Promise<T | null | undefined>,
  timeoutMs = 10_000,
  everyMs = 5,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

afterAll(async () => {
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
  await admin.end();
});

describe('schema migrations', () => {
  it('apply every file once, in order, and are idempotent', async () => {
    const schema = await freshSchema('it_mig');
    const pool = new pg.Pool({ connectionString: urlFor(schema), max: 2 });
    try {
      const files = migrationFiles().map((f) => f.replace(/\.sql$/, ''));
      expect(files[0]).toBe('001_rules');
      const first = await migrate(pool);
      expect(first.applied).toEqual(files);
      const second = await migrate(pool);
      expect(second).toEqual({ applied: [], skipped: files });
      const recorded = await pool.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(recorded.rows.map((r) => r.version)).toEqual(files);
      const tables = await pool.query<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
        [schema],
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining(['rulesets', 'rules', 'lists', 'ruleset_activations', 'list_changes']),
      );
    } finally {
      await pool.end();
    }
  });

  it('are safe to run from several processes at once', async () => {
    const schema = await freshSchema('it_migc');
    const pools = [0, 1, 2].map(() => new pg.Pool({ connectionString: urlFor(schema), max: 1 }));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p)));
      const applied = results.flatMap((r) => r.applied).sort();
      expect(applied).toEqual(migrationFiles().map((f) => f.replace(/\.sql$/, '')));
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('say which schema is missing instead of failing obscurely', async () => {
    const pool = new pg.Pool({ connectionString: urlFor('it_no_such_schema'), max: 1 });
    await expect(migrate(pool)).rejects.toThrow(/no schema to create tables in: search_path is 'it_no_such_schema'/);
    await pool.end();
  });
});

describe('rulesets in PostgreSQL, hot-reloaded by a running engine', () => {
  let cfg: EngineConfig;
  let pool: pg.Pool;
  let store: PgRulesetStore;
  let eyes: FourEyes;
  let engine: EngineHandle | null = null;
  let codecs: AvroCodecs;
  let producer: Producer;
  let decisions: TopicReader<Decision>;
  const v2 = uniqueName('it-v2').slice(0, 60);
  let seq = 0;

  const event = (over: Partial<AuthorizationEvent> = {}): AuthorizationEvent => ({
    auth_id: `rpg-${++seq}`,
    event_time: Date.now(),
    card_token: `tok_rpg_${seq}`,
    customer_id: `c_rpg_${seq}`,
    terminal_id: 'T-rpg',
    merchant_id: 'M1',
    mcc: '5411',
    amount_minor: 1234,
    currency: 'EUR',
    channel: 'POS',
    device_id: null,
    ip: null,
    email_hash: null,
    country: 'FR',
    description: null,
    ...over,
  });
  /** Sends one event and returns its decision. */
  const decide = async (e: AuthorizationEvent): Promise<Decision> => {
    await producer.send({
      topic: cfg.kafka.topic_authorizations,
      acks: -1,
      messages: [{ key: e.card_token, value: await codecs.encodeAuthorization(e) }],
    });
    await decisions.waitFor((items) => items.some((d) => d.value.auth_id === e.auth_id), 30_000);
    return decisions.items.find((d) => d.value.auth_id === e.auth_id)!.value;
  };
  const activeVersionMetric = async (): Promise<string | undefined> =>
    (await engine!.metrics.rulesetInfo.get()).values.find((v) => v.value === 1)?.labels.version as string | undefined;

  beforeAll(async () => {
    const schema = await freshSchema('it_rules');
    cfg = testConfig({ FRAUD_POSTGRES_URL: urlFor(schema), FRAUD_RULES_POLL_INTERVAL_MS: '1000' });
    pool = new pg.Pool({ connectionString: cfg.postgres.url, max: 2 });
    store = new PgRulesetStore(pool);
    await createTopics(cfg, 1);
    codecs = await codecsFor(cfg);
    producer = kafkaFor(cfg).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // A fresh database, migrated as `fraud-engine migrate` does (the engine never changes the
    // schema): no version active, so the engine decides with config/rules.
    await migrate(pool);
    engine = await startEngine(cfg);
    eyes = await fourEyes(pool, store);
    decisions = await new TopicReader<Decision>(kafkaFor(cfg), cfg.kafka.topic_decisions, (b) =>
      codecs.decodeDecision(b),
    ).start();
  });

  afterAll(async () => {
    await engine?.stop();
    await decisions?.stop();
    await producer?.disconnect();
    await pool?.end();
    if (cfg) await deleteTopics(cfg);
  });

  it('decides with config/rules while no version is active', async () => {
    expect(await store.activeVersion()).toBeNull();
    const d = await decide(event());
    expect(d.ruleset_version).toBe(defaults.version);
  });

  it('takes up a published and approved version while running, and a rollback likewise', async () => {
    const base = await store.publish(defaults, { comment: 'it: defaults', author: eyes.author, version: `${v2}-base` });
    expect(base.status).toBe('pending');
    await eyes.approvals.approve(`${v2}-base`, { by: eyes.approver });
    await waitFor('base version', async () => (await activeVersionMetric()) === `${v2}-base`, 5_000);

    await store.publish(withMarker(v2), { comment: 'it: marker rule', author: eyes.author });
    const t0 = performance.now();
    const a = await eyes.approvals.approve(v2, { by: eyes.approver, comment: 'go' });
    expect({ version: a.version, previous: a.previous }).toEqual({ version: v2, previous: `${v2}-base` });
    // A liveness bound (NOTIFY arrives in ~10-50 ms here, the poll every 1 s): the speed itself is printed, not asserted.
    await waitFor('hot reload', async () => (await activeVersionMetric()) === v2, 10_000, 2);
    const delayMs = performance.now() - t0;
    console.log(`hot reload: version ${v2} in force ${delayMs.toFixed(1)} ms after approve() returned`);

    const d = await decide(event({ amount_minor: 424242 }));
    expect(d.ruleset_version).toBe(v2);
    expect(d.outcome).toBe('DECLINE');
    expect(d.reasons).toContain('rule:it_marker');

    // Rollback: the older version requested again, and approved.
    await eyes.approvals.requestActivation(`${v2}-base`, { by: eyes.author, comment: 'rollback' });
    const t1 = performance.now();
    await eyes.approvals.approve(`${v2}-base`, { by: eyes.approver });
    await waitFor('rollback', async () => (await activeVersionMetric()) === `${v2}-base`, 10_000, 2);
    console.log(`hot reload (rollback): ${(performance.now() - t1).toFixed(1)} ms`);
    const after = await decide(event({ amount_minor: 424242 }));
    expect(after.ruleset_version).toBe(`${v2}-base`);
    expect(after.reasons).not.toContain('rule:it_marker');
    const statuses = Object.fromEntries((await store.list()).map((m) => [m.version, m.status]));
    expect(statuses).toEqual({ [`${v2}-base`]: 'active', [v2]: 'retired' });
  });

  it('refuses a ruleset that does not compile, with precise messages, and keeps the active one', async () => {
    const active = await store.activeVersion();
    const bad: RulesetDef = {
      ...defaults,
      version: `${v2}-bad`,
      rules: [
        ...defaults.rules,
        {
          id: 'typo_rule',
          description: '',
          expression: 'tx.amout > 100.0',
          action: 'REVIEW',
          priority: 1,
          mode: 'active',
          owner: 'it',
          source: { file: 'rules/extra.yaml', line: 12, column: 17 },
        },
        {
          id: 'syntax_rule',
          description: '',
          expression: 'tx.amount >',
          action: 'REVIEW',
          priority: 1,
          mode: 'active',
          owner: 'it',
          source: { file: 'rules/extra.yaml', line: 17, column: 17 },
        },
      ],
    };
    const err = await store.publish(bad, { comment: 'it: bad', author: eyes.author }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishError);
    const messages = (err as PublishError).errors.map((e) => e.message);
    expect(messages).toEqual([
      "rules/extra.yaml:line 12:column 20 rule 'typo_rule': CEL: No such key: amout (did you mean tx.amount?)",
      expect.stringMatching(/^rules\/extra\.yaml:line 17:column 28 rule 'syntax_rule': CEL: Unexpected token: EOF/),
    ]);
    expect((err as PublishError).message).toMatch(/refused: 2 rule error\(s\); the active ruleset is unchanged/);
    expect(await store.meta(`${v2}-bad`)).toBeNull();
    expect(await store.activeVersion()).toBe(active);
    expect(await activeVersionMetric()).toBe(active);
    // A version id is never reused.
    await expect(store.publish(defaults, { comment: 'again', author: eyes.author, version: v2 })).rejects.toThrow(
      RulesetStoreError,
    );
    await expect(store.publish(defaults, { comment: 'again', author: eyes.author, version: v2 })).rejects.toThrow(
      /already exists \(retired, published .* by it-author\)/,
    );
    await expect(
      eyes.approvals.requestActivation('no-such-version', { by: eyes.author, comment: 'x' }),
    ).rejects.toThrow(/no ruleset version 'no-such-version'/);
  });

  it('refuses a version over the configured cost bound at publish and at activation, naming each rule', async () => {
    const active = await store.activeVersion();
    // The shipped rules under a bound of 60 (config rules.max_rule_cost): the dearest ones are over.
    const strict = new PgRulesetStore(pool, { limits: { ...DEFAULT_RULE_LIMITS, maxRuleCost: 60 } });
    const err = await strict
      .publish(defaults, { comment: 'it: strict', author: eyes.author, version: `${v2}-st` })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishError);
    const errors = (err as PublishError).errors;
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors)
      expect(e.message).toMatch(/rule '\w+': cost: estimated \d+ per evaluation, over rules\.max_rule_cost \(60\)/);
    expect(errors.map((e) => e.ruleId)).toContain('risky_terminal');
    expect(await strict.meta(`${v2}-st`)).toBeNull();
    // A version published under the default bound is refused at approval under the strict one.
    await store.publish(defaults, { comment: 'it: defaults again', author: eyes.author, version: `${v2}-lo` });
    await expect(new RuleApprovals(strict).approve(`${v2}-lo`, { by: eyes.approver })).rejects.toBeInstanceOf(
      PublishError,
    );
    expect(await store.activeVersion()).toBe(active);
  });

  it('applies approved list changes to the running engine', async () => {
    const card = uniqueName('tok_blocked');
    expect((await decide(event({ card_token: card }))).reasons).not.toContain('rule:blocked_card');
    const t0 = performance.now();
    expect(await eyes.listChange('block_card', card, 'add')).toBe(true);
    // The engine takes it up from the notification; decisions show it. A liveness bound of 10 s
    // (measured: ~220 ms including a Kafka round trip per probe); the delay itself is printed.
    let d: Decision;
    do {
      d = await decide(event({ card_token: card }));
    } while (d.outcome !== 'DECLINE' && performance.now() - t0 < 10_000);
    console.log(
      `list change in force within ${(performance.now() - t0).toFixed(0)} ms (including a Kafka round trip per probe)`,
    );
    expect(d.outcome).toBe('DECLINE');
    expect(d.reasons).toContain('rule:blocked_card');
    expect((await store.listEntries('block_card')).map((e) => e.value)).toContain(card);

    expect(await eyes.listChange('block_card', card, 'remove')).toBe(true);
    const t1 = performance.now();
    do {
      d = await decide(event({ card_token: card }));
    } while (d.reasons.includes('rule:blocked_card') && performance.now() - t1 < 10_000);
    expect(d.reasons).not.toContain('rule:blocked_card');
    await expect(eyes.approvals.requestListChange('blok_card', 'x', 'add', { by: eyes.author })).rejects.toThrow(
      /unknown list 'blok_card'/,
    );
  });
});

describe('PgRulesetSource without a database', () => {
  it('keeps the last good ruleset while PostgreSQL is unreachable, counts the failures, and recovers', async () => {
    const schema = await freshSchema('it_down');
    const url = urlFor(schema);
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const store = new PgRulesetStore(pool);
    await migrate(pool);
    const version = uniqueName('it-down').slice(0, 60);
    await (await fourEyes(pool, store)).publishActive(withMarker(version));
    const metrics = createMetrics({ defaultMetrics: false });
    const src = await PgRulesetSource.start({
      postgres: { url, ...PLAIN },
      pollIntervalMs: 100,
      fallbackDir: 'config/rules',
      log: silent,
      metrics,
    });
    try {
      expect(src.current().version).toBe(version);
      expect(src.source).toBe('postgres');
      // The database "goes away" for this schema: every query fails.
      const moved = `${schema}_away`;
      await admin.query(`ALTER SCHEMA ${schema} RENAME TO ${moved}`);
      schemas.push(moved);
      try {
        await waitFor('a failed reload', () => src.databaseDown, 5_000);
        await src.refresh();
        expect(src.current().version).toBe(version);
        expect(src.current().active.some((r) => r.def.id === 'it_marker')).toBe(true);
        const errors = (await metrics.rulesetReloads.get()).values.find((v) => v.labels.result === 'error')?.value ?? 0;
        expect(errors).toBeGreaterThan(0);
      } finally {
        await admin.query(`ALTER SCHEMA ${moved} RENAME TO ${schema}`);
      }
      await waitFor('recovery', () => !src.databaseDown, 5_000);
      expect(src.current().version).toBe(version);
    } finally {
      await src.stop();
      await pool.end();
    }
  });

  it("refuses an active version that no longer compiles (written behind the store's back) and keeps the running one", async () => {
    const schema = await freshSchema('it_refuse');
    const url = urlFor(schema);
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const store = new PgRulesetStore(pool);
    await migrate(pool);
    const eyes = await fourEyes(pool, store);
    const good = uniqueName('it-good').slice(0, 60);
    await eyes.publishActive(withMarker(good));
    const metrics = createMetrics({ defaultMetrics: false });
    const src = await PgRulesetSource.start({
      postgres: { url, ...PLAIN },
      pollIntervalMs: 100,
      fallbackDir: 'config/rules',
      log: silent,
      metrics,
    });
    try {
      expect(src.current().version).toBe(good);
      // (Pending by default; the database insists on an approver other than the author to activate.)
      await pool.query(
        `INSERT INTO rulesets (version, author, comment, thresholds) VALUES ('broken', 'it', 'x', '{"review": 0.5, "decline": 0.9}')`,
      );
      await pool.query(
        `INSERT INTO rules (ruleset_version, id, expression, action, position) VALUES ('broken', 'bad', 'f.no_such_feature > 1.0', 'REVIEW', 0)`,
      );
      // One transaction: a poll between the two updates would see no active version at all.
      await inTransaction(pool, async (db) => {
        await db.query(`UPDATE rulesets SET status = 'retired' WHERE status = 'active'`);
        await db.query(`UPDATE rulesets SET status = 'active', approved_by = 'someone-else' WHERE version = 'broken'`);
      });
      await waitFor(
        'compile_error',
        async () => (await metrics.rulesetReloads.get()).values.some((v) => v.labels.result === 'compile_error'),
        3_000,
      );
      expect(src.current().version).toBe(good);
      // And the store refuses to activate it again too.
      await expect(eyes.approvals.requestActivation('broken', { by: eyes.author, comment: 'x' })).rejects.toThrow(
        /refused: 1 rule error\(s\)/,
      );
    } finally {
      await src.stop();
      await pool.end();
    }
  });

  // One source on a fresh schema, told of changes one way only: a version activated and a list
  // entry added through the store must each come into force that way.
  it.each([
    ['polling alone (no LISTEN)', { pollIntervalMs: 200, listen: false }],
    ['LISTEN/NOTIFY alone (polling disabled)', { pollIntervalMs: 0, listen: true }],
  ] as const)('takes up an activation and a list change by %s', async (how, way) => {
    const name = way.listen ? 'listen' : 'poll';
    const schema = await freshSchema(`it_${name}`);
    const url = urlFor(schema);
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const store = new PgRulesetStore(pool);
    await migrate(pool);
    const src = await PgRulesetSource.start({
      postgres: { url, ...PLAIN },
      ...way,
      fallbackDir: 'config/rules',
      log: silent,
    });
    try {
      expect(src.source).toBe('files');
      const version = uniqueName(`it-${name}`).slice(0, 60);
      const eyes = await fourEyes(pool, store);
      await store.publish(withMarker(version), { comment: 'it', author: eyes.author });
      const t0 = performance.now();
      await eyes.approvals.approve(version, { by: eyes.approver });
      await waitFor(how, () => src.current().version === version, 5_000);
      console.log(`hot reload by ${how}: ${(performance.now() - t0).toFixed(0)} ms`);
      expect(src.source).toBe('postgres');
      // Lists too, without a new version.
      await eyes.listChange('block_terminal', `T-${name}`, 'add');
      await waitFor(`lists by ${how}`, () => src.current().lists.block_terminal.has(`T-${name}`), 5_000);
      expect(src.current().version).toBe(version);
    } finally {
      await src.stop();
      await pool.end();
    }
  });

  it('starts on config/rules when PostgreSQL cannot be reached at all', async () => {
    const src = await PgRulesetSource.start({
      postgres: { url: 'postgres://nobody:nothing@127.0.0.1:1/none', ...PLAIN },
      pollIntervalMs: 60_000,
      fallbackDir: 'config/rules',
      log: silent,
    });
    try {
      expect(src.current().version).toBe(defaults.version);
      expect(src.source).toBe('files');
      expect(src.databaseDown).toBe(true);
    } finally {
      await src.stop();
    }
  });
});
