/**
 * Decoding only what a topic may carry: the bounds walk before any allocation, and the subject
 * decoder's allow-list of schema ids (with an in-memory registry standing in for the HTTP one).
 */
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { AvroLimitError, checkAvroBody, type AvroTypeLike } from '../../src/events/avro-limits.js';
import { readSchema } from '../../src/events/codec.js';
import { DecodeError, SubjectDecoder, type SubjectRegistry } from '../../src/events/subject-decoder.js';
import type { AuthorizationEvent } from '../../src/events/types.js';
import { authorization, bareAuthorization } from '../helpers/events.js';

const authSchema = readSchema('authorization');
const decisionSchema = readSchema('decision');
const authType = avro.Type.forSchema(JSON.parse(authSchema) as avro.Schema);
const decisionType = avro.Type.forSchema(JSON.parse(decisionSchema) as avro.Schema);

const ev = authorization({ auth_id: 'a-1', event_time: Date.UTC(2026, 11, 1), customer_id: 'c-1' });

/** Confluent wire format: magic byte 0, the schema id (4 bytes, big-endian), the Avro body. */
function wire(id: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeInt32BE(id, 1);
  return Buffer.concat([header, body]);
}

/** The 13-byte message of the issue: the decision schema's id, and an array that claims 2^30 items. */
function arrayBomb(id: number): Buffer {
  // auth_id "", card_token "", outcome 0, score branch 0 (null), reasons: block count 2^30 (zig-zag varint).
  const count = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08]);
  return wire(id, Buffer.concat([Buffer.from([0, 0, 0, 0]), count]));
}

function registryOf(subjects: Record<string, { id: number; schema: string }[]>): SubjectRegistry & { calls: number } {
  const r = {
    calls: 0,
    async versions(subject: string) {
      r.calls++;
      return (subjects[subject] ?? []).map((_, i) => i + 1);
    },
    async version(subject: string, v: number) {
      r.calls++;
      return subjects[subject]![v - 1]!;
    },
  };
  return r;
}

describe('Avro bounds walk', () => {
  it('accepts a well-formed body and refuses trailing bytes and truncation', () => {
    const body = authType.toBuffer(ev);
    expect(() => checkAvroBody(authType as unknown as AvroTypeLike, body, 0)).not.toThrow();
    expect(() =>
      checkAvroBody(authType as unknown as AvroTypeLike, Buffer.concat([body, Buffer.from([1])]), 0),
    ).toThrow('avro_limit:trailing_bytes');
    expect(() => checkAvroBody(authType as unknown as AvroTypeLike, body.subarray(0, body.length - 3), 0)).toThrow(
      'avro_limit:truncated',
    );
  });

  it('refuses a collection count over the limit before reading any item (the 2^30-item array)', () => {
    const bomb = arrayBomb(7);
    expect(bomb.length).toBe(14);
    let err: unknown;
    try {
      checkAvroBody(decisionType as unknown as AvroTypeLike, bomb, 5);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AvroLimitError);
    expect((err as Error).message).toBe('avro_limit:too_many_items');
  });

  it('refuses huge maps, long strings, bad enum and union indexes, and endless varints', () => {
    const t = decisionType as unknown as AvroTypeLike;
    const d = {
      auth_id: 'a',
      card_token: 't',
      outcome: 'APPROVE',
      score: null,
      reasons: [],
      rule_hits: [],
      tags: [],
      model_version: 'm',
      ruleset_version: 'r',
      degraded: [],
      features: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`f${i}`, i])),
      event_time: 1,
      decided_time: 1,
      engine_latency_ms: 1,
    };
    expect(() => checkAvroBody(t, decisionType.toBuffer(d), 0)).toThrow('avro_limit:too_many_items');
    const long = authType.toBuffer({ ...ev, description: 'x'.repeat(2 << 20) });
    expect(() => checkAvroBody(authType as unknown as AvroTypeLike, long, 0)).toThrow('avro_limit:string_too_long');
    // auth_id claims 1 GiB: refused on the length, not after allocating it.
    expect(() =>
      checkAvroBody(authType as unknown as AvroTypeLike, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08]), 0),
    ).toThrow('avro_limit:string_too_long');
    const bare = bareAuthorization();
    const body = Buffer.from(authType.toBuffer(bare));
    const enumAt = body.length - 6; // channel, then 5 null unions
    body[enumAt] = 0x40; // symbol 32 of 5
    expect(() => checkAvroBody(authType as unknown as AvroTypeLike, body, 0)).toThrow('avro_limit:enum_index');
    const body2 = Buffer.from(authType.toBuffer(bare));
    body2[body2.length - 1] = 0x08; // union branch 4 of 2
    expect(() => checkAvroBody(authType as unknown as AvroTypeLike, body2, 0)).toThrow('avro_limit:union_index');
    expect(() => checkAvroBody({ typeName: 'long' }, Buffer.alloc(12, 0xff), 0)).toThrow('avro_limit:varint_too_long');
  });

  it('bounds nesting depth', () => {
    let nested: AvroTypeLike = { typeName: 'null' };
    for (let i = 0; i < 40; i++) nested = { typeName: 'array', itemsType: nested };
    // One item per level, then an empty block at the bottom: 40 levels deep.
    const bytes = Buffer.from([...Array.from({ length: 40 }, () => 2), ...Array.from({ length: 40 }, () => 0)]);
    expect(() => checkAvroBody(nested, bytes, 0)).toThrow('avro_limit:too_deep');
  });
});

describe('subject decoder', () => {
  const subjects = {
    'auth-value': [{ id: 11, schema: authSchema }],
    'dec-value': [{ id: 12, schema: decisionSchema }],
  };

  it('decodes its subject and refuses every other schema id with schema_not_allowed, without allocating the bomb', async () => {
    const reg = registryOf(subjects);
    const dec = await new SubjectDecoder<AuthorizationEvent>({
      registry: reg,
      subject: 'auth-value',
      readerSchema: authSchema,
    }).start();
    expect(dec.allowedIds).toEqual([11]);
    expect(await dec.decode(wire(11, authType.toBuffer(ev)))).toEqual(ev);
    await expect(dec.decode(arrayBomb(12))).rejects.toMatchObject({ reason: 'schema_not_allowed' });
    await expect(
      dec.decode(
        wire(
          12,
          decisionType.toBuffer({
            auth_id: 'a',
            card_token: 't',
            outcome: 'APPROVE',
            score: null,
            reasons: [],
            rule_hits: [],
            tags: [],
            model_version: 'm',
            ruleset_version: 'r',
            degraded: [],
            features: {},
            event_time: 1,
            decided_time: 1,
            engine_latency_ms: 1,
          }),
        ),
      ),
    ).rejects.toBeInstanceOf(DecodeError);
    await expect(dec.decode(Buffer.from([1, 0, 0, 0, 11, 0]))).rejects.toMatchObject({ reason: 'bad_magic_byte' });
    await expect(dec.decode(Buffer.from([0, 0, 0]))).rejects.toMatchObject({ reason: 'truncated' });
    await expect(dec.decode(null)).rejects.toMatchObject({ reason: 'empty_payload' });
  });

  it('caches foreign ids as misses: a flood of them costs no registry round trip', async () => {
    const reg = registryOf(subjects);
    const dec = await new SubjectDecoder<AuthorizationEvent>({
      registry: reg,
      subject: 'auth-value',
      readerSchema: authSchema,
    }).start();
    const before = reg.calls;
    await expect(dec.decode(arrayBomb(12))).rejects.toMatchObject({ reason: 'schema_not_allowed' });
    const afterFirst = reg.calls;
    expect(afterFirst - before).toBe(1); // one refresh of the subject's versions
    for (let i = 0; i < 10_000; i++)
      await expect(dec.decode(arrayBomb(12))).rejects.toMatchObject({ reason: 'schema_not_allowed' });
    expect(reg.calls).toBe(afterFirst);
    expect(dec.missCount).toBe(1);
    // Random ids: at most `refreshPerSecond` refreshes a second, whatever arrives.
    for (let i = 0; i < 1000; i++)
      await expect(dec.decode(arrayBomb(1_000_000 + i))).rejects.toMatchObject({ reason: 'schema_not_allowed' });
    expect(reg.calls - afterFirst).toBeLessThanOrEqual(2);
  });

  it('picks up a new version of its subject, read into the expected schema', async () => {
    const v2 = JSON.parse(authSchema) as { fields: unknown[] };
    v2.fields.push({ name: 'risk_hint', type: ['null', 'string'], default: null });
    const v2Schema = JSON.stringify(v2);
    const subjectsNow: Record<string, { id: number; schema: string }[]> = {
      'auth-value': [{ id: 11, schema: authSchema }],
    };
    const reg = registryOf(subjectsNow);
    const dec = await new SubjectDecoder<AuthorizationEvent>({
      registry: reg,
      subject: 'auth-value',
      readerSchema: authSchema,
      refreshPerSecond: 100,
    }).start();
    subjectsNow['auth-value']!.push({ id: 21, schema: v2Schema });
    const v2Type = avro.Type.forSchema(v2 as avro.Schema);
    const got = await dec.decode(wire(21, v2Type.toBuffer({ ...ev, risk_hint: 'x' })));
    expect(got).toEqual(ev); // the field this code does not know is dropped by resolution
    expect(dec.allowedIds.sort()).toEqual([11, 21]);
  });

  it('decisions with factors and readers without them understand each other (BACKWARD, both ways)', async () => {
    // The decision schema before `factors`: the current one without it and the fields after it.
    const before = JSON.parse(decisionSchema) as { fields: { name: string }[] };
    before.fields.splice(before.fields.findIndex((f) => f.name === 'factors'));
    expect(before.fields.at(-1)!.name).toBe('context');
    const beforeSchema = JSON.stringify(before);
    const decision = {
      auth_id: 'a-9',
      card_token: 'tok_9',
      outcome: 'DECLINE',
      score: 0.93,
      reasons: ['score>=0.2'],
      rule_hits: [],
      tags: [],
      model_version: 'm',
      ruleset_version: 'r',
      degraded: [],
      features: { tx_amount: 120 },
      event_time: Date.UTC(2026, 11, 1),
      decided_time: Date.UTC(2026, 11, 1),
      engine_latency_ms: 2,
      context: null,
    };
    const factors = [
      { feature: 'terminal_risk_30d', value: 0.4, contribution: 2.5 },
      { feature: 'customer_device_seen_before', value: null, contribution: -0.25 },
    ];
    const reg = registryOf({
      'dec-value': [
        { id: 31, schema: beforeSchema },
        { id: 32, schema: decisionSchema },
      ],
    });
    // A new decision read by an old reader: the field it does not know is dropped.
    const oldReader = await new SubjectDecoder<Record<string, unknown>>({
      registry: reg,
      subject: 'dec-value',
      readerSchema: beforeSchema,
    }).start();
    const readOld = await oldReader.decode(wire(32, decisionType.toBuffer({ ...decision, factors })));
    expect(readOld.auth_id).toBe('a-9');
    expect('factors' in readOld).toBe(false);
    // An old decision read by the new reader: factors take their default, null.
    const newReader = await new SubjectDecoder<Record<string, unknown>>({
      registry: reg,
      subject: 'dec-value',
      readerSchema: decisionSchema,
    }).start();
    const beforeType = avro.Type.forSchema(before as avro.Schema);
    expect((await newReader.decode(wire(31, beforeType.toBuffer(decision)))).factors).toBeNull();
    // And a new decision keeps its factors, a missing value as null.
    expect((await newReader.decode(wire(32, decisionType.toBuffer({ ...decision, factors })))).factors).toEqual(
      factors,
    );
  });

  it('decisions with a challenger score and readers without it understand each other (BACKWARD, both ways)', async () => {
    // The decision schema before the challenger: the current one up to `factors`.
    const before = JSON.parse(decisionSchema) as { fields: { name: string }[] };
    before.fields.splice(before.fields.findIndex((f) => f.name === 'factors') + 1);
    expect(before.fields.length).toBe((JSON.parse(decisionSchema) as { fields: unknown[] }).fields.length - 2);
    const beforeSchema = JSON.stringify(before);
    const decision = {
      auth_id: 'a-10',
      card_token: 'tok_10',
      outcome: 'REVIEW',
      score: 0.1,
      reasons: ['score>=0.05'],
      rule_hits: [],
      tags: [],
      model_version: 'm',
      ruleset_version: 'r',
      degraded: [],
      features: { tx_amount: 120 },
      event_time: Date.UTC(2026, 11, 1),
      decided_time: Date.UTC(2026, 11, 1),
      engine_latency_ms: 2,
      context: null,
      factors: null,
    };
    const challenger = { challenger_score: 0.25, challenger_version: 'm2' };
    const reg = registryOf({
      'dec-value': [
        { id: 41, schema: beforeSchema },
        { id: 42, schema: decisionSchema },
      ],
    });
    const oldReader = await new SubjectDecoder<Record<string, unknown>>({
      registry: reg,
      subject: 'dec-value',
      readerSchema: beforeSchema,
    }).start();
    const readOld = await oldReader.decode(wire(42, decisionType.toBuffer({ ...decision, ...challenger })));
    expect(readOld.outcome).toBe('REVIEW');
    expect('challenger_score' in readOld || 'challenger_version' in readOld).toBe(false);
    const newReader = await new SubjectDecoder<Record<string, unknown>>({
      registry: reg,
      subject: 'dec-value',
      readerSchema: decisionSchema,
    }).start();
    const beforeType = avro.Type.forSchema(before as avro.Schema);
    const readOlder = await newReader.decode(wire(41, beforeType.toBuffer(decision)));
    expect([readOlder.challenger_score, readOlder.challenger_version]).toEqual([null, null]);
    const readNew = await newReader.decode(wire(42, decisionType.toBuffer({ ...decision, ...challenger })));
    expect([readNew.challenger_score, readNew.challenger_version]).toEqual([0.25, 'm2']);
  });
});
