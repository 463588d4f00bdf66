/**
 * Decodes the messages of one topic: only the schema ids registered under the topic's subject
 * (`<topic>-value`), each read into the schema this code expects (Avro schema resolution),
 * after a bounds check of the bytes (./avro-limits.ts). Anything else is refused with a reason
 * for the dead-letter topic, without a registry round trip per message:
 *
 * - the subject's ids are resolved at start; an id not among them triggers one refresh of the
 *   subject (a new version registered by the producer is picked up), at most `refreshPerSecond`
 *   times a second, shared by concurrent callers;
 * - an id still not in the subject after a refresh is remembered as a miss (bounded, oldest
 *   forgotten first), so a flood of the same foreign ids costs nothing.
 */
import avro from 'avsc';
import {
  AvroLimitError,
  checkAvroBody,
  DEFAULT_AVRO_LIMITS,
  type AvroLimits,
  type AvroTypeLike,
} from './avro-limits.js';

export class DecodeError extends Error {
  constructor(
    readonly reason: string,
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

export interface RegistryAuth {
  username: string;
  password: string;
}

/** The two subject lookups of the Confluent-compatible API that the decoder needs. */
export interface SubjectRegistry {
  versions(subject: string): Promise<number[]>;
  version(subject: string, version: number): Promise<{ id: number; schema: string; schemaType?: string }>;
}

/** The Confluent-compatible HTTP API (Confluent, Apicurio's ccompat, Karapace). */
export function httpSubjectRegistry(url: string, auth?: RegistryAuth, timeoutMs = 5_000): SubjectRegistry {
  const base = url.replace(/\/+$/, '');
  const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json, application/json' };
  if (auth?.username)
    headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  const get = async (path: string): Promise<unknown> => {
    const res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`schema registry ${path}: HTTP ${res.status}`);
    return res.json();
  };
  return {
    async versions(subject) {
      const v = await get(`/subjects/${encodeURIComponent(subject)}/versions`);
      return Array.isArray(v) ? v.filter((x): x is number => Number.isInteger(x)) : [];
    },
    async version(subject, version) {
      const v = (await get(`/subjects/${encodeURIComponent(subject)}/versions/${version}`)) as {
        id?: unknown;
        schema?: unknown;
        schemaType?: unknown;
      } | null;
      if (!v || typeof v.id !== 'number' || typeof v.schema !== 'string')
        throw new Error(`schema registry: ${subject} version ${version} not found`);
      return { id: v.id, schema: v.schema, ...(typeof v.schemaType === 'string' ? { schemaType: v.schemaType } : {}) };
    },
  };
}

interface AvscType extends AvroTypeLike {
  fromBuffer(buf: Buffer, resolver?: unknown, noCheck?: boolean): unknown;
  createResolver(writer: AvscType): unknown;
  equals(other: AvscType): boolean;
}

/** One writer schema of the subject, ready to read into the expected schema. */
interface Reader {
  writer: AvscType;
  resolver: unknown;
}

export interface SubjectDecoderOptions {
  registry: SubjectRegistry;
  subject: string;
  /** The schema this code reads into (config/schemas/*.avsc). */
  readerSchema: string;
  limits?: AvroLimits;
  /** Foreign ids remembered at most (default 10,000). */
  maxMisses?: number;
  /** Subject refreshes a second at most, whatever arrives (default 2). */
  refreshPerSecond?: number;
  onRefresh?: (ids: number[]) => void;
}

export class SubjectDecoder<T> {
  private readonly reader: AvscType;
  private readonly readers = new Map<number, Reader>();
  /** Versions already looked at (compatible or not), so a refresh fetches only new ones. */
  private readonly seenVersions = new Set<number>();
  private readonly misses = new Set<number>();
  private refreshing: Promise<void> | null = null;
  private refreshTimes: number[] = [];
  /** Registry round trips made for the subject (start-up included). */
  lookups = 0;

  constructor(private readonly o: SubjectDecoderOptions) {
    this.reader = avro.Type.forSchema(JSON.parse(o.readerSchema) as avro.Schema) as unknown as AvscType;
  }

  get subject(): string {
    return this.o.subject;
  }
  /** The ids this decoder accepts today. */
  get allowedIds(): number[] {
    return [...this.readers.keys()];
  }
  get missCount(): number {
    return this.misses.size;
  }

  /** Resolves the subject's ids; call once before decoding. */
  async start(): Promise<this> {
    await this.refresh();
    return this;
  }

  /** Decodes one message value, or throws DecodeError with the DLQ reason. */
  async decode(buf: Buffer | null): Promise<T> {
    if (!buf || buf.length === 0) throw new DecodeError('empty_payload', 'no value');
    if (buf.length < 6) throw new DecodeError('truncated', `${buf.length} bytes`);
    if (buf[0] !== 0) throw new DecodeError('bad_magic_byte', `magic byte ${buf[0]}`);
    const id = buf.readInt32BE(1);
    const r = this.readers.get(id) ?? (await this.lookUp(id));
    if (!r) throw new DecodeError('schema_not_allowed', `schema id ${id} is not a version of ${this.o.subject}`);
    try {
      checkAvroBody(r.writer, buf, 5, this.o.limits ?? DEFAULT_AVRO_LIMITS);
    } catch (err) {
      if (err instanceof AvroLimitError) throw new DecodeError(err.message, `schema id ${id}`);
      throw err;
    }
    try {
      return this.reader.fromBuffer(buf.subarray(5), r.resolver) as T;
    } catch (err) {
      throw new DecodeError('avro_decode_failed', String((err as Error).message ?? err).slice(0, 120));
    }
  }

  private async lookUp(id: number): Promise<Reader | undefined> {
    if (this.misses.has(id)) return undefined;
    const now = Date.now();
    this.refreshTimes = this.refreshTimes.filter((t) => t > now - 1000);
    // Over the rate: refused now, but not remembered (it may be a new version after all).
    if (!this.refreshing && this.refreshTimes.length >= (this.o.refreshPerSecond ?? 2)) return undefined;
    try {
      await this.refresh();
    } catch {
      return undefined; // registry away: refused now, tried again at the next refresh
    }
    const r = this.readers.get(id);
    if (!r) this.remember(id);
    return r;
  }

  private remember(id: number): void {
    if (this.misses.size >= (this.o.maxMisses ?? 10_000)) this.misses.delete(this.misses.values().next().value!);
    this.misses.add(id);
  }

  /** Fetches the subject's versions not seen yet; concurrent callers share one refresh. */
  private refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.refreshTimes.push(Date.now());
    this.refreshing = (async () => {
      this.lookups++;
      const versions = await this.o.registry.versions(this.o.subject);
      for (const v of versions) {
        if (this.seenVersions.has(v)) continue;
        this.lookups++;
        const { id, schema, schemaType } = await this.o.registry.version(this.o.subject, v);
        this.seenVersions.add(v);
        if (schemaType && schemaType !== 'AVRO') continue;
        try {
          const writer = avro.Type.forSchema(JSON.parse(schema) as avro.Schema) as unknown as AvscType;
          // Same schema: no resolver needed (and reading is faster without one).
          const resolver = writer.equals(this.reader) ? undefined : this.reader.createResolver(writer);
          this.readers.set(id, { writer, resolver });
          this.misses.delete(id);
        } catch {
          // A version this code cannot read into its schema: its messages are refused.
        }
      }
      this.o.onRefresh?.(this.allowedIds);
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }
}
