/**
 * Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro body) through a
 * Confluent-compatible schema registry. Schemas are registered once at start-up; decoding
 * fetches a writer schema once per id and caches it (inside the registry client).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { AuthorizationEvent, Decision, LabelEvent } from './types.js';

export const SCHEMA_DIR = resolve(import.meta.dirname, '../../config/schemas');

export function readSchema(name: 'authorization' | 'decision' | 'label'): string {
  return readFileSync(resolve(SCHEMA_DIR, `${name}.avsc`), 'utf8');
}

export interface TopicNames {
  authorizations: string;
  decisions: string;
  labels: string;
}

export class DecodeError extends Error {
  constructor(readonly reason: string, detail: string) {
    super(`${reason}: ${detail}`);
  }
}

/** What the registry client hands back for an Avro schema id: an avsc type. */
interface AvroType { toBuffer(value: unknown): Buffer }

/** Encodes synchronously in the Confluent wire format with a type resolved once. */
class WireEncoder<T> {
  private readonly header: Buffer;
  constructor(id: number, private readonly type: AvroType) {
    this.header = Buffer.alloc(5);
    this.header.writeInt32BE(id, 1); // byte 0 is the magic byte 0
  }
  encode(value: T): Buffer {
    return Buffer.concat([this.header, this.type.toBuffer(value)]);
  }
}

export class AvroCodecs {
  private readonly decisionEncoder: WireEncoder<Decision>;
  private readonly authorizationEncoder: WireEncoder<AuthorizationEvent>;
  private readonly labelEncoder: WireEncoder<LabelEvent>;

  private constructor(
    readonly registry: SchemaRegistry,
    readonly ids: { authorization: number; decision: number; label: number },
    types: { authorization: AvroType; decision: AvroType; label: AvroType },
  ) {
    // Producing is on the hot path: no per-message schema lookup, no promise.
    this.decisionEncoder = new WireEncoder(ids.decision, types.decision);
    this.authorizationEncoder = new WireEncoder(ids.authorization, types.authorization);
    this.labelEncoder = new WireEncoder(ids.label, types.label);
  }

  /** Registers (idempotently) the three schemas under `<topic>-value` subjects. */
  static async create(registryUrl: string, topics: TopicNames, auth?: { username: string; password: string }): Promise<AvroCodecs> {
    const registry = new SchemaRegistry({
      host: registryUrl,
      ...(auth?.username ? { auth: { username: auth.username, password: auth.password } } : {}),
    });
    const reg = async (name: 'authorization' | 'decision' | 'label', topic: string) =>
      (await registry.register({ type: SchemaType.AVRO, schema: readSchema(name) }, { subject: `${topic}-value` })).id;
    const [authorization, decision, label] = await Promise.all([
      reg('authorization', topics.authorizations),
      reg('decision', topics.decisions),
      reg('label', topics.labels),
    ]);
    const type = async (id: number) => (await registry.getSchema(id)) as unknown as AvroType;
    return new AvroCodecs(registry, { authorization, decision, label }, {
      authorization: await type(authorization), decision: await type(decision), label: await type(label),
    });
  }

  encodeAuthorization(ev: AuthorizationEvent): Buffer { return this.authorizationEncoder.encode(ev); }
  encodeDecision(d: Decision): Buffer { return this.decisionEncoder.encode(d); }
  encodeLabel(l: LabelEvent): Buffer { return this.labelEncoder.encode(l); }

  /** Decodes any registered record, classifying failures into DLQ reasons. */
  async decode<T>(buf: Buffer | null): Promise<T> {
    if (!buf || buf.length === 0) throw new DecodeError('empty_payload', 'no value');
    if (buf.length < 6) throw new DecodeError('truncated', `${buf.length} bytes`);
    if (buf[0] !== 0) throw new DecodeError('bad_magic_byte', `magic byte ${buf[0]}`);
    try {
      return (await this.registry.decode(buf)) as T;
    } catch (err) {
      const msg = (err as Error).message ?? String(err);
      // Apicurio answers an unknown id with 404 and its own wording ("No content with ID").
      if ((err as { status?: number }).status === 404 || /not found|no content with id|404|40403/i.test(msg)) throw new DecodeError('unknown_schema_id', `schema id ${buf.readInt32BE(1)}`);
      throw new DecodeError('avro_decode_failed', msg.slice(0, 200));
    }
  }
}
