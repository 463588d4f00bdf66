/**
 * A bounds check of an Avro body against its writer schema, run before the body is decoded.
 *
 * avsc trusts the counts in the bytes: an array or map block claiming 2^30 items makes it push
 * items (read past the end as defaults) until the heap is gone, and a string length is
 * allocated as given. This walk reads only lengths and counts, allocates nothing, and refuses
 * a body whose strings, collections, nesting or varints exceed the limits, or that ends early,
 * so that the decode that follows is bounded by the size of the message.
 */

/** The parts of an avsc Type that the walk reads (avsc ships no types of its own). */
export interface AvroTypeLike {
  typeName: string;
  fields?: readonly { type: AvroTypeLike }[];
  itemsType?: AvroTypeLike;
  valuesType?: AvroTypeLike;
  types?: readonly AvroTypeLike[];
  symbols?: readonly string[];
  size?: number;
  underlyingType?: AvroTypeLike;
}

export interface AvroLimits {
  /** Longest string or bytes value, in bytes. */
  maxStringBytes: number;
  /** Most items of all arrays and maps of one message together. */
  maxItems: number;
  /** Deepest nesting of records, arrays, maps and unions. */
  maxDepth: number;
}

export const DEFAULT_AVRO_LIMITS: AvroLimits = { maxStringBytes: 1 << 20, maxItems: 10_000, maxDepth: 32 };

/** Why a body was refused: a DLQ reason (`avro_limit:<what>`). */
export class AvroLimitError extends Error {
  constructor(readonly what: string) {
    super(`avro_limit:${what}`);
  }
}

const STRING: AvroTypeLike = { typeName: 'string' };

class Walk {
  pos: number;
  items = 0;
  constructor(
    private readonly buf: Uint8Array,
    start: number,
    private readonly limits: AvroLimits,
  ) {
    this.pos = start;
  }

  /** A zig-zag varint of at most 10 bytes, as a JS number (exact up to 2^53, enough for bounds). */
  long(): number {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new AvroLimitError('truncated');
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
      mul *= 128;
    }
    throw new AvroLimitError('varint_too_long');
  }

  skip(bytes: number): void {
    if (bytes < 0 || this.pos + bytes > this.buf.length) throw new AvroLimitError('truncated');
    this.pos += bytes;
  }

  /** A collection's item count, checked against what is left before any item is read. */
  count(): number {
    let n = this.long();
    if (n < 0) {
      n = -n;
      this.long(); // the block's size in bytes, not needed
    }
    this.items += n;
    if (this.items > this.limits.maxItems) throw new AvroLimitError('too_many_items');
    return n;
  }

  value(t: AvroTypeLike, depth: number): void {
    if (depth > this.limits.maxDepth) throw new AvroLimitError('too_deep');
    switch (t.typeName) {
      case 'null':
        return;
      case 'boolean':
        this.skip(1);
        return;
      case 'int':
      case 'long':
        this.long();
        return;
      case 'float':
        this.skip(4);
        return;
      case 'double':
        this.skip(8);
        return;
      case 'string':
      case 'bytes': {
        const len = this.long();
        if (len > this.limits.maxStringBytes) throw new AvroLimitError('string_too_long');
        this.skip(len);
        return;
      }
      case 'fixed':
        this.skip(t.size ?? 0);
        return;
      case 'enum': {
        const i = this.long();
        if (i < 0 || i >= (t.symbols?.length ?? 0)) throw new AvroLimitError('enum_index');
        return;
      }
      case 'record':
      case 'error':
        for (const f of t.fields ?? []) this.value(f.type, depth + 1);
        return;
      case 'array':
        for (let n = this.count(); n > 0; n = this.count())
          for (let i = 0; i < n; i++) this.value(t.itemsType!, depth + 1);
        return;
      case 'map':
        for (let n = this.count(); n > 0; n = this.count()) {
          for (let i = 0; i < n; i++) {
            this.value(STRING, depth + 1);
            this.value(t.valuesType!, depth + 1);
          }
        }
        return;
      case 'union:unwrapped':
      case 'union:wrapped': {
        const i = this.long();
        const branch = t.types?.[i];
        if (!branch) throw new AvroLimitError('union_index');
        this.value(branch, depth + 1);
        return;
      }
      default:
        // Logical types wrap an underlying type; anything else is not ours to accept.
        if (t.typeName.startsWith('logical:') && t.underlyingType) {
          this.value(t.underlyingType, depth);
          return;
        }
        throw new AvroLimitError(`unsupported_type:${t.typeName}`);
    }
  }
}

/**
 * Throws AvroLimitError unless `buf[start..]` is exactly one value of `type` within `limits`
 * (trailing bytes are refused too).
 */
export function checkAvroBody(
  type: AvroTypeLike,
  buf: Uint8Array,
  start: number,
  limits: AvroLimits = DEFAULT_AVRO_LIMITS,
): void {
  const w = new Walk(buf, start, limits);
  w.value(type, 0);
  if (w.pos !== buf.length) throw new AvroLimitError('trailing_bytes');
}
