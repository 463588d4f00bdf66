/**
 * Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro body) through a
 * Confluent-compatible schema registry. Schemas are registered once at start-up. Each topic is
 * decoded by a SubjectDecoder of its own (./subject-decoder.ts): only its subject's schema ids,
 * bounded before anything is allocated, read into the schema this code expects.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { AuthorizationEvent, Decision, LabelEvent } from './types.js';
import { httpSubjectRegistry, SubjectDecoder, type RegistryAuth } from './subject-decoder.js';

export { DecodeError } from './subject-decoder.js';
export const SCHEMA_DIR = resolve(import.meta.dirname, '../../config/schemas');

export function readSchema(name: 'authorization' | 'decision' | 'label'): string {
  return readFileSync(resolve(SCHEMA_DIR, `${name}.avsc`), 'utf8');
}

export interface TopicNames {
  authorizations: string;
  decisions: string;
  labels: string;
}

/** What the registry client hands back for an Avro schema id: an avsc type. */
interface AvroType {
  /** Writes at `pos`; the position after, or a negative number when `buf` is too small. */
  encode(value: unknown, buf: Buffer, pos: number): number;
}

/**
 * Encodes synchronously in the Confluent wire format with a type resolved once: header and body
 * written into one scratch buffer, then copied once into a buffer of the exact size (avsc's
 * toBuffer plus a concat allocated and copied twice, the first one zero-filled).
 */
class WireEncoder<T> {
  private scratch = Buffer.alloc(16 * 1024);
  constructor(
    id: number,
    private readonly type: AvroType,
  ) {
    this.scratch.writeInt32BE(id, 1); // byte 0 is the magic byte 0
  }
  encode(value: T): Buffer {
    let end = this.type.encode(value, this.scratch, 5);
    while (end < 0) {
      const bigger = Buffer.alloc(this.scratch.length * 2);
      this.scratch.copy(bigger, 0, 0, 5);
      this.scratch = bigger;
      end = this.type.encode(value, this.scratch, 5);
    }
    const out = Buffer.allocUnsafe(end);
    this.scratch.copy(out, 0, 0, end);
    return out;
  }
}

/** The map of decisions written before `feature_values` (./decision.avsc): empty in new ones. */
const NO_FEATURE_MAP: Record<string, number | null> = Object.freeze({});

/**
 * A decision as the schema writes it: the feature snapshot in `feature_values` (a record, one
 * field per feature) and the map left empty. Every field of the schema is named here; the
 * codec's round-trip test fails when one is missing.
 */
export function decisionOnWire(d: Decision) {
  return {
    auth_id: d.auth_id,
    card_token: d.card_token,
    outcome: d.outcome,
    score: d.score,
    reasons: d.reasons,
    rule_hits: d.rule_hits,
    tags: d.tags,
    model_version: d.model_version,
    ruleset_version: d.ruleset_version,
    degraded: d.degraded,
    features: NO_FEATURE_MAP,
    feature_values: d.features,
    event_time: d.event_time,
    decided_time: d.decided_time,
    engine_latency_ms: d.engine_latency_ms,
    context: d.context,
    factors: d.factors,
    challenger_score: d.challenger_score,
    challenger_version: d.challenger_version,
  };
}

/** A decision as read: the snapshot back in `features`, from the record or (older decisions) the map. */
export function decisionFromWire(read: Decision & { feature_values?: Record<string, number | null> | null }): Decision {
  const { feature_values: values, ...d } = read;
  if (values) d.features = values;
  return d;
}

export class AvroCodecs {
  private readonly decisionEncoder: WireEncoder<ReturnType<typeof decisionOnWire>>;
  private readonly authorizationEncoder: WireEncoder<AuthorizationEvent>;
  private readonly labelEncoder: WireEncoder<LabelEvent>;

  private constructor(
    readonly registry: SchemaRegistry,
    readonly ids: { authorization: number; decision: number; label: number },
    types: { authorization: AvroType; decision: AvroType; label: AvroType },
    /** One decoder per topic: only that topic's subject. */
    readonly decoders: {
      authorization: SubjectDecoder<AuthorizationEvent>;
      decision: SubjectDecoder<Decision>;
      label: SubjectDecoder<LabelEvent>;
    },
  ) {
    // Producing is on the hot path: no per-message schema lookup, no promise.
    this.decisionEncoder = new WireEncoder(ids.decision, types.decision);
    this.authorizationEncoder = new WireEncoder(ids.authorization, types.authorization);
    this.labelEncoder = new WireEncoder(ids.label, types.label);
  }

  /** Registers (idempotently) the three schemas under `<topic>-value` subjects. */
  static async create(registryUrl: string, topics: TopicNames, auth?: RegistryAuth): Promise<AvroCodecs> {
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
    const subjects = httpSubjectRegistry(registryUrl, auth);
    const decoder = <T>(name: 'authorization' | 'decision' | 'label', topic: string) =>
      new SubjectDecoder<T>({ registry: subjects, subject: `${topic}-value`, readerSchema: readSchema(name) }).start();
    return new AvroCodecs(
      registry,
      { authorization, decision, label },
      {
        authorization: await type(authorization),
        decision: await type(decision),
        label: await type(label),
      },
      {
        authorization: await decoder<AuthorizationEvent>('authorization', topics.authorizations),
        decision: await decoder<Decision>('decision', topics.decisions),
        label: await decoder<LabelEvent>('label', topics.labels),
      },
    );
  }

  encodeAuthorization(ev: AuthorizationEvent): Buffer {
    return this.authorizationEncoder.encode(ev);
  }
  encodeDecision(d: Decision): Buffer {
    return this.decisionEncoder.encode(decisionOnWire(d));
  }
  encodeLabel(l: LabelEvent): Buffer {
    return this.labelEncoder.encode(l);
  }

  /** Decode one message of each topic, or throw DecodeError with the DLQ reason. */
  decodeAuthorization(buf: Buffer | null): Promise<AuthorizationEvent> {
    return this.decoders.authorization.decode(buf);
  }
  async decodeDecision(buf: Buffer | null): Promise<Decision> {
    return decisionFromWire(await this.decoders.decision.decode(buf));
  }
  decodeLabel(buf: Buffer | null): Promise<LabelEvent> {
    return this.decoders.label.decode(buf);
  }
}
