import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../src/features/names.js';
import {
  FeatureMismatchError,
  ModelMetadataError,
  checkFeatures,
  diffFeatures,
  loadModelMetadata,
  metadataPathFor,
  parseModelMetadata,
} from '../../src/models/metadata.js';
import { toFloat32Rows } from '../../src/models/scorer.js';

function validMeta(): Record<string, unknown> {
  return {
    model_version: 'm-1',
    created_at: '2026-01-01T00:00:00Z',
    framework: 'lightgbm 4.7.0 -> onnxmltools',
    features: [...FEATURE_NAMES],
    input_name: 'features',
    output_name: 'probabilities',
    output_column: 1,
    train_window: { from: '2018-04-01T00:00:00Z', to: '2018-05-01T00:00:00Z' },
    delay_days: 7,
    hyperparameters: { num_leaves: 15 },
    validation: { auc_roc: 0.9, average_precision: 0.6, n: 1000, frauds: 10 },
    thresholds: { review: 0.2, decline: 0.8 },
    threshold_rule: 'extra keys are kept',
  };
}

const meta = (features: readonly string[]) => ({ model_version: 'm-1', features: [...features] });
const message = (fn: () => void): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error');
};

describe('checkFeatures', () => {
  it('accepts the same names in the same order', () => {
    expect(() => checkFeatures(meta(FEATURE_NAMES), FEATURE_NAMES)).not.toThrow();
  });

  it('names features missing from the model', () => {
    const model = FEATURE_NAMES.filter((n) => n !== 'tx_is_ecom' && n !== 'card_nb_tx_7d');
    const msg = message(() => checkFeatures(meta(model), FEATURE_NAMES));
    expect(msg).toContain('model m-1 does not match');
    expect(msg).toContain(`(model ${FEATURE_NAMES.length - 2}, engine ${FEATURE_NAMES.length})`);
    expect(msg).toContain('missing from the model: card_nb_tx_7d, tx_is_ecom');
    expect(msg).toContain('first difference at position 23: engine "card_nb_tx_7d", model "terminal_last_known_fraud"');
    expect(msg).not.toContain('unknown to the engine');
  });

  it('names features the engine does not know', () => {
    const msg = message(() => checkFeatures(meta([...FEATURE_NAMES, 'merchant_risk_7d']), FEATURE_NAMES));
    expect(msg).toContain('unknown to the engine: merchant_risk_7d');
    expect(msg).toContain(
      `first difference at position ${FEATURE_NAMES.length}: engine (end of list), model "merchant_risk_7d"`,
    );
    expect(msg).not.toContain('missing from the model');
  });

  it('names the first position where the order differs', () => {
    const model = [...FEATURE_NAMES];
    [model[5], model[6]] = [model[6]!, model[5]!];
    const msg = message(() => checkFeatures(meta(model), FEATURE_NAMES));
    expect(msg).toContain('same names in a different order');
    expect(msg).toContain('first difference at position 5: engine "customer_nb_tx_7d", model "customer_avg_amount_7d"');
  });

  it('reports a renamed feature as both missing and extra, with a FeatureDiff', () => {
    const model = FEATURE_NAMES.map((n) => (n === 'tx_amount' ? 'amount' : n));
    let err: unknown;
    try {
      checkFeatures(meta(model), FEATURE_NAMES);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FeatureMismatchError);
    expect((err as FeatureMismatchError).diff).toEqual({
      missing: ['tx_amount'],
      extra: ['amount'],
      firstDifference: { index: 0, engine: 'tx_amount', model: 'amount' },
    });
  });

  it('diffFeatures is null-difference for equal lists', () => {
    expect(diffFeatures(['a', 'b'], ['a', 'b'])).toEqual({ missing: [], extra: [], firstDifference: null });
  });
});

describe('parseModelMetadata', () => {
  it('accepts a valid file and keeps extra keys', () => {
    const m = parseModelMetadata(validMeta());
    expect(m.features).toEqual([...FEATURE_NAMES]);
    expect(m.thresholds).toEqual({ review: 0.2, decline: 0.8 });
    expect(m.threshold_rule).toBe('extra keys are kept');
  });

  const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    ['missing version', (m) => delete m.model_version, /"model_version" must be a non-empty string, got nothing/],
    ['bad features', (m) => (m.features = 'tx_amount'), /"features" must be a non-empty array of names/],
    ['empty feature name', (m) => ((m.features as string[])[2] = ''), /"features\[2\]" must be a non-empty string/],
    ['duplicate feature', (m) => (m.features as string[]).push('tx_amount'), /"features" lists "tx_amount" twice/],
    ['column not an int', (m) => (m.output_column = 1.5), /"output_column" must be a non-negative integer, got 1.5/],
    [
      'bad window date',
      (m) => ((m.train_window as Record<string, unknown>).to = 'soon'),
      /"train_window.to" must be an ISO 8601 date-time/,
    ],
    [
      'window backwards',
      (m) => ((m.train_window as Record<string, unknown>).to = '2018-01-01T00:00:00Z'),
      /"train_window.to" must be later than/,
    ],
    [
      'threshold out of range',
      (m) => ((m.thresholds as Record<string, unknown>).decline = 1.5),
      /"thresholds.decline" must be a number in \[0, 1\], got 1.5/,
    ],
    [
      'threshold missing',
      (m) => delete (m.thresholds as Record<string, unknown>).review,
      /"thresholds.review" must be a number/,
    ],
    [
      'review above decline',
      (m) => ((m.thresholds as Record<string, unknown>).review = 0.9),
      /"thresholds.review" must be at most thresholds.decline \(0.8\), got 0.9/,
    ],
    ['validation not an object', (m) => (m.validation = [1]), /"validation" must be an object/],
    [
      'auc as string',
      (m) => ((m.validation as Record<string, unknown>).auc_roc = '0.9'),
      /"validation.auc_roc" must be a number in \[0, 1\], got "0.9"/,
    ],
    ['negative delay', (m) => (m.delay_days = -1), /"delay_days" must be a number in \[0, ∞\]/],
  ];
  for (const [name, mutate, re] of cases) {
    it(`rejects: ${name}`, () => {
      const m = validMeta();
      mutate(m);
      expect(() => parseModelMetadata(m, 'x/model.json')).toThrow(ModelMetadataError);
      expect(() => parseModelMetadata(m, 'x/model.json')).toThrow(re);
      expect(message(() => parseModelMetadata(m, 'x/model.json'))).toMatch(/^x\/model\.json: /);
    });
  }

  it('rejects a non-object', () => {
    expect(() => parseModelMetadata([], 'f.json')).toThrow(/f.json: "\(root\)" must be an object/);
  });
});

describe('loadModelMetadata / metadataPathFor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fraud-meta-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('puts MODEL.json beside MODEL.onnx', () => {
    expect(metadataPathFor('/m/model-3.onnx')).toBe('/m/model-3.json');
    expect(metadataPathFor('/m/model')).toBe('/m/model.json');
  });

  it('loads a file, and says which file is unreadable or not JSON', async () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(validMeta()));
    expect((await loadModelMetadata(good)).model_version).toBe('m-1');
    await expect(loadModelMetadata(join(dir, 'none.json'))).rejects.toThrow(/cannot read model metadata .*none\.json/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"model_version":');
    await expect(loadModelMetadata(bad)).rejects.toThrow(/bad\.json is not valid JSON/);
  });
});

describe('toFloat32Rows', () => {
  it('packs rows row-major with NaN for null', () => {
    const out = toFloat32Rows(
      [
        [1, null, 3],
        [4, 5, undefined],
      ],
      3,
    );
    expect(out).toBeInstanceOf(Float32Array);
    expect(Array.from(out)).toEqual([1, NaN, 3, 4, 5, NaN]);
  });

  it('refuses rows of the wrong width and handles no rows', () => {
    expect(() => toFloat32Rows([[1, 2], [3]], 2)).toThrow(/row 1 has 1 values, expected 2/);
    expect(toFloat32Rows([]).length).toBe(0);
  });
});
