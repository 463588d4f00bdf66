/**
 * The decision schema's evolution in the real schema registry, its subject set to BACKWARD: the
 * schema with `feature_values` (the feature snapshot as a record) is accepted over the one
 * before it, while a change that is not BACKWARD (the map turned into a record in place) is
 * refused; and the engine's codec reads both the older decisions (the map) and the new ones.
 */
import avro from 'avsc';
import { afterAll, describe, expect, it } from 'vitest';
import { AvroCodecs, readSchema } from '../../src/events/codec.js';
import type { Decision } from '../../src/events/types.js';
import { vectorToRecord } from '../../src/features/definitions.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import { stack, uniqueName } from '../helpers/stack.js';

const topic = uniqueName('dec-evolution');
const subject = `${topic}-value`;
const { username, password } = stack.schemaRegistryAuth;
const auth = username ? { username, password } : undefined;
const headers: Record<string, string> = {
  'Content-Type': 'application/vnd.schemaregistry.v1+json',
  ...(auth ? { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` } : {}),
};

async function registry(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${stack.schemaRegistryUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

const current = readSchema('decision');
const beforeSchema = JSON.parse(current) as { fields: { name: string; type: unknown }[] };
beforeSchema.fields.splice(
  beforeSchema.fields.findIndex((f) => f.name === 'feature_values'),
  1,
);
const before = JSON.stringify(beforeSchema);

const vector = FEATURE_NAMES.map((_, i) => (i % 5 === 0 ? null : i / 4));
const decision = (features: Record<string, number | null>): Decision => ({
  auth_id: 'a-evo',
  card_token: 'tok_evo',
  outcome: 'DECLINE',
  score: 0.9,
  reasons: ['rule:x'],
  rule_hits: [],
  tags: [],
  model_version: 'm',
  ruleset_version: 'r',
  degraded: [],
  features,
  event_time: Date.UTC(2026, 11, 1),
  decided_time: Date.UTC(2026, 11, 1),
  engine_latency_ms: 1.5,
  context: null,
  factors: null,
  challenger_score: null,
  challenger_version: null,
});
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x));

describe('the decision schema in the registry (BACKWARD)', () => {
  afterAll(async () => {
    await registry('DELETE', `/subjects/${subject}`).catch(() => undefined);
  });

  it('accepts feature_values over the schema before it, refuses the map changed in place, and reads both', async () => {
    expect((await registry('PUT', `/config/${subject}`, { compatibility: 'BACKWARD' })).status).toBe(200);
    const v1 = await registry('POST', `/subjects/${subject}/versions`, { schema: before });
    expect(v1.status).toBe(200);
    const oldId = (v1.json as { id: number }).id;

    // Not BACKWARD: the map turned into a record under the same name.
    const inPlace = JSON.parse(before) as { fields: { name: string; type: unknown }[] };
    inPlace.fields.find((f) => f.name === 'features')!.type = {
      type: 'record',
      name: 'FeatureValues',
      fields: FEATURE_NAMES.map((name) => ({ name, type: ['null', 'double'], default: null })),
    };
    const refused = await registry('POST', `/compatibility/subjects/${subject}/versions/latest`, {
      schema: JSON.stringify(inPlace),
    });
    expect(refused.json).toMatchObject({ is_compatible: false });
    const accepted = await registry('POST', `/compatibility/subjects/${subject}/versions/latest`, { schema: current });
    expect(accepted.json).toMatchObject({ is_compatible: true });

    // The engine's codecs register the current schema under the same subject (and read with it).
    const codecs = await AvroCodecs.create(
      stack.schemaRegistryUrl,
      { authorizations: `${topic}-auth`, decisions: topic, labels: `${topic}-labels` },
      auth,
    );
    expect(codecs.ids.decision).not.toBe(oldId);
    const fresh = decision(vectorToRecord(vector));
    expect(plain(await codecs.decodeDecision(codecs.encodeDecision(fresh)))).toEqual(plain(fresh));

    // A decision written before (its snapshot in the map), read by the new codecs.
    const mapped = decision(Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, vector[i] ?? null])));
    const header = Buffer.alloc(5);
    header.writeInt32BE(oldId, 1);
    const oldWire = Buffer.concat([header, avro.Type.forSchema(beforeSchema as avro.Schema).toBuffer(mapped)]);
    expect(plain(await codecs.decodeDecision(oldWire))).toEqual(plain(mapped));
    await Promise.all(
      [`${topic}-auth-value`, `${topic}-labels-value`].map((s) => registry('DELETE', `/subjects/${s}`)),
    );
  });
});
