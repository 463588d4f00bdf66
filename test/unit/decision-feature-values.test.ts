/**
 * The decision's feature snapshot as the `feature_values` record (one field per feature) instead
 * of the `features` map: the engine's snapshot object, the codec's wire form, and BACKWARD
 * evolution both ways (decisions written with the map still read; readers of the schema before
 * the record still read new decisions).
 */
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { decisionFromWire, decisionOnWire, readSchema } from '../../src/events/codec.js';
import type { Decision } from '../../src/events/types.js';
import { vectorToRecord } from '../../src/features/definitions.js';
import { FEATURE_NAMES } from '../../src/features/names.js';

const decisionSchema = JSON.parse(readSchema('decision')) as { fields: { name: string; type: unknown }[] };
const decisionType = avro.Type.forSchema(decisionSchema as avro.Schema);
/** The schema before `feature_values`. */
const before = JSON.parse(readSchema('decision')) as { fields: { name: string }[] };
before.fields.splice(
  before.fields.findIndex((f) => f.name === 'feature_values'),
  1,
);
const beforeType = avro.Type.forSchema(before as avro.Schema);

const vector = FEATURE_NAMES.map((_, i) => (i % 4 === 3 ? null : i * 1.5));

function decision(features: Record<string, number | null>): Decision {
  return {
    auth_id: 'a-fv',
    card_token: 'tok_fv',
    outcome: 'REVIEW',
    score: 0.25,
    reasons: ['score>=0.05'],
    rule_hits: [{ rule_id: 'r1', action: 'REVIEW', mode: 'SHADOW' }],
    tags: ['t'],
    model_version: 'm',
    ruleset_version: 'r',
    degraded: [],
    features,
    event_time: Date.UTC(2026, 11, 1),
    decided_time: Date.UTC(2026, 11, 1, 0, 0, 1),
    engine_latency_ms: 3.25,
    context: {
      customer_id: 'c',
      terminal_id: 't',
      merchant_id: null,
      mcc: '5411',
      amount_minor: 1234,
      currency: 'EUR',
      channel: 'ECOM',
      country: 'FR',
      device_id: 'd',
    },
    factors: [{ feature: 'tx_amount', value: 12, contribution: 0.5 }],
    challenger_score: 0.5,
    challenger_version: 'm2',
  };
}

const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x));

describe('the feature snapshot', () => {
  it('names every feature in FEATURE_NAMES order, each with its value of the vector', () => {
    const rec = vectorToRecord(vector);
    expect(Object.keys(rec)).toEqual([...FEATURE_NAMES]);
    expect(Object.values(rec)).toEqual(vector);
  });

  it('the schema record has one nullable field per feature, in FEATURE_NAMES order', () => {
    const field = decisionSchema.fields.find((f) => f.name === 'feature_values')!;
    const record = (field.type as [string, { fields: { name: string; type: unknown }[] }])[1];
    expect(record.fields.map((f) => f.name)).toEqual([...FEATURE_NAMES]);
    for (const f of record.fields) expect(f.type).toEqual(['null', 'double']);
  });
});

describe('decisions on the wire', () => {
  it('a decision goes out with its snapshot in feature_values and an empty map, and reads back equal', () => {
    const d = decision(vectorToRecord(vector));
    const buf = decisionType.toBuffer(decisionOnWire(d));
    const raw = decisionType.fromBuffer(buf) as { features: object; feature_values: object };
    expect(raw.features).toEqual({});
    expect(plain(raw.feature_values)).toEqual(plain(d.features));
    const back = decisionFromWire(raw as unknown as Decision);
    expect('feature_values' in back).toBe(false);
    expect(plain(back)).toEqual(plain(d));
  });

  it('a decision whose snapshot is a plain map (the memo restores one) encodes to the same bytes', () => {
    const asMap = Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, vector[i] ?? null]));
    expect(decisionType.toBuffer(decisionOnWire(decision(asMap)))).toEqual(
      decisionType.toBuffer(decisionOnWire(decision(vectorToRecord(vector)))),
    );
  });

  it('takes a third of the bytes of the map', () => {
    const d = decision(vectorToRecord(vector));
    const asRecord = decisionType.toBuffer(decisionOnWire(d)).length;
    const asMap = beforeType.toBuffer(d).length;
    expect(asRecord * 2).toBeLessThan(asMap);
  });

  it('an older decision (the map) read with the new schema keeps its snapshot in features (BACKWARD)', () => {
    const d = decision(Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, vector[i] ?? null])));
    const old = beforeType.toBuffer(d);
    const read = decisionType.fromBuffer(old, decisionType.createResolver(beforeType)) as Decision & {
      feature_values: Record<string, number | null> | null;
    };
    expect(read.feature_values).toBeNull();
    expect(plain(decisionFromWire(read))).toEqual(plain(d));
  });

  it('a reader of the schema before the record still reads a new decision, its map empty', () => {
    const d = decision(vectorToRecord(vector));
    const read = beforeType.fromBuffer(
      decisionType.toBuffer(decisionOnWire(d)),
      beforeType.createResolver(decisionType),
    ) as Decision;
    expect(read.auth_id).toBe('a-fv');
    expect(read.features).toEqual({});
    expect('feature_values' in read).toBe(false);
  });
});
