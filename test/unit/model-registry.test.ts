/**
 * The pure parts of model promotion: which model each role runs given the registry's state
 * (approved versions win; the configuration decides only while the registry never had one for the
 * role), the file checks an approved version must pass (sha256, version, features, a trial run),
 * and the decision engine reading its models once per batch, so a swap falls between batches.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizationEvent } from '../../src/events/types.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import { loadVerifiedModel, ModelFileError, sha256Of } from '../../src/models/registry/model-file.js';
import { wantedModels } from '../../src/models/registry/model-source.js';
import type { RegistryState } from '../../src/models/registry/pg-model-registry.js';
import type { Scorer } from '../../src/models/scorer.js';
import { DecisionEngine, type ModelSet } from '../../src/pipelines/decision/engine.js';
import { StaticRulesetSource } from '../../src/rules/file-source.js';

const CONFIG = { champion: 'models/model.onnx', challenger: '' };
const row = (id: number, version: string) => ({ id, version, onnx_path: `/m/${version}.onnx`, sha256: 'a'.repeat(64) });
const state = (champion: RegistryState['active'], challenger: RegistryState['active'], governed = [false, false]) => [
  { role: 'champion' as const, active: champion, governed: governed[0]! || champion !== null },
  { role: 'challenger' as const, active: challenger, governed: governed[1]! || challenger !== null },
];

describe('which model each role runs', () => {
  it('the configuration while the registry is unreadable or has never had a version', () => {
    expect(wantedModels(null, CONFIG)).toEqual({
      champion: { key: 'config:models/model.onnx', origin: 'config', path: 'models/model.onnx' },
      challenger: { key: 'none', origin: 'none' },
    });
    expect(wantedModels(state(null, null), { ...CONFIG, challenger: 'models/c.onnx' }).challenger).toEqual({
      key: 'config:models/c.onnx',
      origin: 'config',
      path: 'models/c.onnx',
    });
  });

  it("an approved version wins over the configuration's file, with the hash and version to verify", () => {
    const w = wantedModels(state(row(3, 'm3'), row(4, 'm4')), { ...CONFIG, challenger: 'models/c.onnx' });
    expect(w.champion).toEqual({
      key: 'registry:3',
      origin: 'registry',
      id: 3,
      path: '/m/m3.onnx',
      sha256: 'a'.repeat(64),
      version: 'm3',
    });
    expect(w.challenger).toMatchObject({ key: 'registry:4', version: 'm4' });
  });

  it('a retired challenger means none, even with model.challenger_path set; a champion always runs', () => {
    const w = wantedModels(state(null, null, [true, true]), { ...CONFIG, challenger: 'models/c.onnx' });
    expect(w.challenger).toEqual({ key: 'none', origin: 'none' });
    expect(w.champion).toMatchObject({ origin: 'config', path: 'models/model.onnx' });
  });
});

describe('an approved file is loaded only as approved', () => {
  let dir: string;
  let good: string;
  let sha: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'model-file-'));
    good = join(dir, 'good.onnx');
    await copyFile('models/model.onnx', good);
    await copyFile('models/model.json', join(dir, 'good.json'));
    sha = createHash('sha256')
      .update(await readFile(good))
      .digest('hex');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const version = async () =>
    (JSON.parse(await readFile('models/model.json', 'utf8')) as { model_version: string }).model_version;

  it('loads it when hash and version are the approved ones, and reports the hash of the bytes it loaded', async () => {
    const { scorer, sha256 } = await loadVerifiedModel(good, { sha256: sha, version: await version() });
    expect(sha256).toBe(sha);
    expect(sha256Of(await readFile(good))).toBe(sha);
    expect(scorer.version).toBe(await version());
    await scorer.close();
  });

  it.each([
    ['other bytes', { sha256: 'b'.repeat(64) }, 'sha256', /has sha256 [0-9a-f]{64}, not the approved b{64}/],
    [
      'another version',
      { version: 'not-this-one' },
      'version',
      /its metadata says version .*, the approved version is not-this-one/,
    ],
    ['other features', { features: ['tx_amount'] }, 'load', /does not match the engine's features/],
  ] as const)('refuses %s', async (_what, expected, reason, message) => {
    const err = await loadVerifiedModel(good, expected).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as ModelFileError).reason).toBe(reason);
    expect((err as Error).message).toMatch(message);
  });

  it('refuses a file that is not a model, or is missing', async () => {
    const bad = join(dir, 'bad.onnx');
    await writeFile(bad, 'not onnx');
    await copyFile('models/model.json', join(dir, 'bad.json'));
    await expect(loadVerifiedModel(bad)).rejects.toMatchObject({ reason: 'load', message: /cannot load ONNX model/ });
    await expect(loadVerifiedModel(join(dir, 'none.onnx'))).rejects.toMatchObject({
      reason: 'load',
      message: /cannot read model file/,
    });
  });
});

describe('the decision engine reads its models once per batch', () => {
  const ev = (i: number): AuthorizationEvent => ({
    auth_id: `mr-${i}`,
    event_time: Date.UTC(2026, 11, 1, 12) + i,
    card_token: `tok_mr${i}`,
    customer_id: `c-mr${i}`,
    terminal_id: 't-mr',
    merchant_id: null,
    mcc: null,
    amount_minor: 1000,
    currency: 'EUR',
    channel: 'POS',
    device_id: null,
    ip: null,
    email_hash: null,
    country: null,
    description: null,
  });
  const constant = (version: string, score: number, onScore?: () => void): Scorer => ({
    version,
    async score(_rows, n) {
      onScore?.();
      return new Float32Array(n).fill(score);
    },
  });

  it('a swap while a batch runs takes effect from the next batch, whole', async () => {
    let set: ModelSet = { scorer: null };
    const b: ModelSet = { scorer: constant('m-b', 0.2), challenger: { scorer: constant('c-b', 0.3) } };
    // The swap happens while the champion of the first batch is scoring.
    const a: ModelSet = { scorer: constant('m-a', 0.1, () => (set = b)) };
    set = a;
    const engine = new DecisionEngine({
      store: new MemoryFeatureStore(),
      scorer: constant('static', 0.9),
      models: { current: () => set },
      rules: StaticRulesetSource.fromFiles('config/rules'),
    });
    const first = (await engine.decideBatch([ev(1), ev(2)])).decisions;
    expect(first.map((d) => [d.model_version, d.score, d.challenger_version, d.challenger_score])).toEqual([
      ['m-a', 0.1, null, null],
      ['m-a', 0.1, null, null],
    ]);
    const second = (await engine.decideBatch([ev(3)])).decisions;
    expect(second.map((d) => [d.model_version, d.score, d.challenger_version, d.challenger_score])).toEqual([
      ['m-b', 0.2, 'c-b', 0.3],
    ]);
    expect(engine.modelVersion).toBe('m-b');
  });
});
