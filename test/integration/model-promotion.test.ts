/**
 * Model promotion for real (PostgreSQL in a schema of this file, Kafka, Redis, the shipped model
 * copied under other versions): a running engine takes up an approved challenger, then its
 * promotion to champion, between batches and without a restart (the delays printed, bounded for
 * liveness only); four eyes in the library and in the database; a corrupt file or one with other
 * features refused at publish; a file changed after approval refused at approval, and refused by a
 * model source at load (the running model stays, the failure counted), also at start.
 */
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, type EngineHandle } from '../../src/app/engine.js';
import type { EngineConfig } from '../../src/config/config.js';
import type { AvroCodecs } from '../../src/events/codec.js';
import type { AuthorizationEvent, Decision } from '../../src/events/types.js';
import { listActions } from '../../src/identity/action-log.js';
import { UserStore } from '../../src/identity/users.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { publishModelFile } from '../../src/models/registry/admin.js';
import { ModelFileError } from '../../src/models/registry/model-file.js';
import { ModelSource } from '../../src/models/registry/model-source.js';
import { ModelFourEyesError, ModelRegistry, ModelRegistryError } from '../../src/models/registry/pg-model-registry.js';
import { migrate } from '../../src/storage/migrate.js';
import { codecsFor, createTopics, deleteTopics, kafkaFor, testConfig, TopicReader } from '../helpers/engine.js';
import { freshSchema, uniqueName } from '../helpers/stack.js';

const SHIPPED = 'models/model.onnx';
const PLAIN = { ssl: false, ssl_ca_file: '', ssl_cert_file: '', ssl_key_file: '' };
const silent = pino({ level: 'silent' });

/** The shipped model copied into `dir` as NAME.onnx + NAME.json, its metadata naming `version` (and `edit`ed). */
async function modelCopy(
  dir: string,
  name: string,
  version: string,
  edit: (meta: Record<string, unknown>) => void = () => undefined,
): Promise<string> {
  const path = join(dir, `${name}.onnx`);
  await copyFile(SHIPPED, path);
  const meta = JSON.parse(await readFile('models/model.json', 'utf8')) as Record<string, unknown>;
  meta.model_version = version;
  edit(meta);
  await writeFile(join(dir, `${name}.json`), JSON.stringify(meta));
  return path;
}

async function waitFor(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('model promotion, hot-swapped by a running engine', () => {
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let dir: string;
  let cfg: EngineConfig;
  let pool: pg.Pool;
  let registry: ModelRegistry;
  let engine: EngineHandle | null = null;
  let codecs: AvroCodecs;
  let producer: Producer;
  let decisions: TopicReader<Decision>;
  const run = uniqueName('m')
    .replace(/[^a-z0-9]/g, '')
    .slice(-10);
  const vA = `it-a-${run}`;
  const vB = `it-b-${run}`;
  const shipped = JSON.parse(readFileSync('models/model.json', 'utf8')) as { model_version: string };
  let seq = 0;

  const event = (): AuthorizationEvent => ({
    auth_id: `mp-${run}-${++seq}`,
    event_time: Date.now(),
    card_token: `tok_mp_${seq}`,
    customer_id: `c_mp_${seq}`,
    terminal_id: 'T-mp',
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
  });
  const decide = async (): Promise<Decision> => {
    const e = event();
    await producer.send({
      topic: cfg.kafka.topic_authorizations,
      acks: -1,
      messages: [{ key: e.card_token, value: await codecs.encodeAuthorization(e) }],
    });
    await decisions.waitFor((items) => items.some((d) => d.value.auth_id === e.auth_id), 30_000);
    return decisions.items.find((d) => d.value.auth_id === e.auth_id)!.value;
  };
  const metric = async (name: string): Promise<string> =>
    (await engine!.metrics.registry.metrics())
      .split('\n')
      .filter((l) => l.startsWith(name))
      .join('\n');

  beforeAll(async () => {
    schema = await freshSchema('it_models');
    dir = await mkdtemp(join(tmpdir(), 'it-models-'));
    cfg = testConfig({
      FRAUD_POSTGRES_URL: schema.url,
      FRAUD_RULES_POLL_INTERVAL_MS: '1000',
      FRAUD_MODEL_PATH: SHIPPED,
    });
    pool = new pg.Pool({ connectionString: schema.url, max: 3 });
    await migrate(pool);
    const users = new UserStore(pool);
    await users.add({ username: 'mp-author', roles: ['analyst'] }, 'test');
    await users.add({ username: 'mp-approver', roles: ['analyst', 'approver'] }, 'test');
    await users.add({ username: 'mp-approver2', roles: ['approver'] }, 'test');
    registry = new ModelRegistry(pool);
    await createTopics(cfg, 1);
    codecs = await codecsFor(cfg);
    producer = kafkaFor(cfg).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    engine = await startEngine(cfg);
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
    await schema?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('decides with model.path while the registry has no version', async () => {
    const d = await decide();
    expect([d.model_version, d.challenger_version]).toEqual([shipped.model_version, null]);
  });

  it('takes up an approved challenger, then its promotion to champion, without a restart', async () => {
    const a = await modelCopy(dir, 'a', vA);
    const { row } = await publishModelFile(registry, a, { role: 'challenger', by: 'mp-author', comment: 'try A' });
    expect([row.version, row.role, row.state, row.onnx_path]).toEqual([vA, 'challenger', 'pending', a]);
    expect(row.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Pending: nothing changes for the engine.
    expect((await decide()).challenger_version).toBeNull();

    const t0 = performance.now();
    await registry.approve(vA, { by: 'mp-approver', comment: 'watch it' });
    await waitFor('challenger swap', () => engine!.models.loaded.challenger?.scorer.version === vA);
    console.log(`challenger ${vA} in force ${(performance.now() - t0).toFixed(1)} ms after approve() returned`);
    const withChallenger = await decide();
    expect([withChallenger.model_version, withChallenger.challenger_version]).toEqual([shipped.model_version, vA]);
    expect(withChallenger.challenger_score).toBe(withChallenger.score); // the same bytes under another version
    expect(await metric('fraud_challenger_info')).toContain(`fraud_challenger_info{version="${vA}"} 1`);

    // A as champion: a new request for the same file.
    await publishModelFile(registry, a, { role: 'champion', by: 'mp-author', comment: 'promote A' });
    const t1 = performance.now();
    const { previous } = await registry.approve(vA, { by: 'mp-approver2' });
    expect(previous).toBeNull(); // the registry had no champion: model.path ran
    await waitFor('champion swap', () => engine!.models.loaded.champion.scorer.version === vA);
    console.log(`champion ${vA} in force ${(performance.now() - t1).toFixed(1)} ms after approve() returned`);
    const promoted = await decide();
    // The challenger promoted no longer challenges itself.
    expect([promoted.model_version, promoted.challenger_version]).toEqual([vA, null]);
    expect(await metric('fraud_model_info')).toContain(`fraud_model_info{version="${vA}"} 1`);
    expect(await metric('fraud_challenger_info')).not.toContain('version=');
    expect(await metric('fraud_model_reloads_total')).toMatch(/role="champion"\} 1/);
    expect(await metric('fraud_model_reloads_total')).toMatch(/role="challenger"\} 2/);

    const states = (await registry.versions()).map((r) => `${r.version}/${r.role}/${r.state}`);
    expect(states).toEqual([`${vA}/champion/active`, `${vA}/challenger/retired`]);
    const actions = (await listActions(pool, { action: 'model.' })).map((x) => `${x.actor} ${x.action}`);
    expect(actions).toEqual([
      'mp-approver2 model.approve',
      'mp-author model.submit',
      'mp-approver model.approve',
      'mp-author model.submit',
    ]);
  });

  it('retires the challenger on an approved request; a champion is never retired', async () => {
    const b = await modelCopy(dir, 'b', vB);
    await publishModelFile(registry, b, { role: 'challenger', by: 'mp-author', comment: 'try B' });
    await registry.approve(vB, { by: 'mp-approver' });
    await waitFor('challenger B', () => engine!.models.loaded.challenger?.scorer.version === vB);
    await expect(registry.requestRetire('champion', { by: 'mp-author', comment: 'x' })).rejects.toThrow(
      /a champion is not retired/,
    );
    await registry.requestRetire('challenger', { by: 'mp-author', comment: 'enough' });
    expect((await decide()).challenger_version).toBe(vB); // requested, not approved
    await registry.approve(vB, { by: 'mp-approver' });
    await waitFor('challenger retired', () => engine!.models.loaded.challenger === null);
    const d = await decide();
    expect([d.model_version, d.challenger_version, d.challenger_score]).toEqual([vA, null, null]);
  });

  it('refuses anyone deciding their own request, in the library and in the database', async () => {
    const c = await modelCopy(dir, 'c', `it-c-${run}`);
    await publishModelFile(registry, c, { role: 'challenger', by: 'mp-approver', comment: 'mine' });
    await expect(registry.approve(`it-c-${run}`, { by: 'mp-approver' })).rejects.toThrow(ModelFourEyesError);
    await expect(registry.approve(`it-c-${run}`, { by: 'mp-approver' })).rejects.toThrow(
      /mp-approver requested model it-c-\S+ as challenger: another approver must decide it \(four eyes\)/,
    );
    // An analyst without the approver role decides nothing.
    await expect(registry.approve(`it-c-${run}`, { by: 'mp-author' })).rejects.toThrow(
      /does not have the approver role/,
    );
    await expect(registry.reject(`it-c-${run}`, { by: 'mp-approver', comment: 'no' })).rejects.toThrow(
      ModelFourEyesError,
    );
    // The database itself: no self-approval, no activation without an approver, published rows immutable.
    await expect(
      pool.query(
        "UPDATE model_versions SET state = 'active', approved_by = author, approved_at = now() WHERE version = $1",
        [`it-c-${run}`],
      ),
    ).rejects.toThrow(/model_versions_four_eyes/);
    await expect(
      pool.query("UPDATE model_versions SET state = 'active' WHERE version = $1", [`it-c-${run}`]),
    ).rejects.toThrow(/cannot become active without an approver/);
    await expect(
      pool.query("UPDATE model_versions SET sha256 = repeat('0', 64) WHERE version = $1 AND role = 'champion'", [vA]),
    ).rejects.toThrow(/immutable/);
    await expect(pool.query('DELETE FROM model_versions WHERE version = $1', [vA])).rejects.toThrow(/immutable/);
    await expect(
      pool.query("UPDATE model_versions SET state = 'active' WHERE version = $1 AND role = 'challenger'", [vA]),
    ).rejects.toThrow(/state retired -> active refused/);
    await expect(
      pool.query("UPDATE model_requests SET comment = 'rewritten' WHERE status = 'approved'"),
    ).rejects.toThrow(/decided requests are final/);
    // Rejected by someone else: closed, the engine unchanged.
    await registry.reject(`it-c-${run}`, { by: 'mp-approver2', comment: 'not now' });
    expect((await registry.versions()).find((r) => r.version === `it-c-${run}`)!.state).toBe('rejected');
    expect(engine!.models.loaded.challenger).toBeNull();
  });

  it('refuses a corrupt file or another feature list at publish, with the reason, writing nothing', async () => {
    const bad = await modelCopy(dir, 'corrupt', `it-bad-${run}`);
    await writeFile(bad, Buffer.from('this is not an ONNX model'));
    const err = await publishModelFile(registry, bad, { role: 'challenger', by: 'mp-author', comment: 'x' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as ModelFileError).reason).toBe('load');
    expect((err as Error).message).toMatch(/cannot load ONNX model .*corrupt\.onnx/);

    const swapped = await modelCopy(dir, 'swapped', `it-sw-${run}`, (m) => {
      const f = m.features as string[];
      [f[0], f[1]] = [f[1]!, f[0]!];
    });
    await expect(
      publishModelFile(registry, swapped, { role: 'challenger', by: 'mp-author', comment: 'x' }),
    ).rejects.toThrow(/does not match the engine's features .*same names in a different order/);
    const versions = (await registry.versions()).map((r) => r.version);
    expect(versions).not.toContain(`it-bad-${run}`);
    expect(versions).not.toContain(`it-sw-${run}`);
    // A version names one file: the same version with other bytes is refused.
    await expect(
      registry.publish(
        { version: vA, path: join(dir, 'other.onnx'), sha256: 'f'.repeat(64), features: 27 },
        {
          role: 'challenger',
          by: 'mp-author',
          comment: 'x',
        },
      ),
    ).rejects.toThrow(/was published with another file/);
    await expect(registry.approve('it-no-such-version', { by: 'mp-approver' })).rejects.toThrow(ModelRegistryError);
  });

  it('refuses a file changed after publication: at approval, and at load (the running model stays, counted)', async () => {
    const d = await modelCopy(dir, 'd', `it-d-${run}`);
    await publishModelFile(registry, d, { role: 'champion', by: 'mp-author', comment: 'D' });
    // Changed before approval: refused by the approval itself.
    const original = await readFile(d);
    await writeFile(d, Buffer.concat([original, Buffer.from([0])]));
    await expect(registry.approve(`it-d-${run}`, { by: 'mp-approver' })).rejects.toThrow(
      /changed since it-d-\S+ was published .*nothing approved/,
    );
    expect(engine!.models.loaded.champion.scorer.version).toBe(vA);

    // A model source that does not listen (refreshed by hand, so the file changes after the
    // approval and before the load, deterministically; the running engine, which listens, may
    // take the file up before it changes, and is left out of this one).
    await writeFile(d, original);
    const metrics = createMetrics({ defaultMetrics: false });
    const src = await ModelSource.start({
      postgres: { url: schema.url, ...PLAIN },
      config: { champion: SHIPPED, challenger: '' },
      pollIntervalMs: 0,
      listen: false,
      log: silent,
      metrics,
      build: async (m) => m.champion.scorer.version,
    });
    try {
      expect(src.current()).toBe(vA);
      await registry.approve(`it-d-${run}`, { by: 'mp-approver' });
      await writeFile(d, Buffer.concat([original, Buffer.from([0])]));
      await src.refresh();
      expect(src.current()).toBe(vA); // the running model stays
      const failures = (await metrics.modelReloadFailures.get()).values;
      expect(failures).toEqual([expect.objectContaining({ labels: { role: 'champion', reason: 'sha256' }, value: 1 })]);
      // The file restored: the next check takes it up.
      await writeFile(d, original);
      await src.refresh();
      expect(src.current()).toBe(`it-d-${run}`);
    } finally {
      await src.stop();
    }

    // At start, an approved file that does not verify: the configuration's model decides, counted.
    await writeFile(d, Buffer.concat([original, Buffer.from([0])]));
    const m2 = createMetrics({ defaultMetrics: false });
    const cold = await ModelSource.start({
      postgres: { url: schema.url, ...PLAIN },
      config: { champion: SHIPPED, challenger: '' },
      pollIntervalMs: 0,
      listen: false,
      log: silent,
      metrics: m2,
      build: async (m) => m.champion.scorer.version,
    });
    try {
      expect([cold.current(), cold.loaded.champion.origin]).toEqual([shipped.model_version, 'config']);
      expect((await m2.modelReloadFailures.get()).values[0]).toMatchObject({
        labels: { role: 'champion', reason: 'sha256' },
        value: 1,
      });
    } finally {
      await cold.stop();
    }
  });
});
