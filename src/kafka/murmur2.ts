/**
 * Kafka's murmur2 key hash (the Java client's Utils.murmur2, which kafkajs's DefaultPartitioner
 * reimplements): the same values in 32-bit integer arithmetic. kafkajs computes it with a Long
 * object per step (an allocation per multiply), a few per cent of the engine's CPU at
 * saturation for one hash per decision.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** murmur2 of the bytes (a string: of its UTF-8 bytes), as a signed 32-bit integer. */
export function murmur2(key: string | Uint8Array): number {
  if (typeof key === 'string') {
    // Card tokens are ASCII: their code units are their UTF-8 bytes, read without a copy.
    for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0x7f) return murmur2Bytes(Buffer.from(key));
    return murmur2Ascii(key);
  }
  return murmur2Bytes(key);
}

function murmur2Bytes(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const end = length & ~3;
  for (let i = 0; i < end; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  return tail(h, length, end, data[end + 2] ?? 0, data[end + 1] ?? 0, data[end] ?? 0);
}

function murmur2Ascii(s: string): number {
  const length = s.length;
  let h = (SEED ^ length) | 0;
  const end = length & ~3;
  for (let i = 0; i < end; i += 4) {
    let k = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const at = (i: number): number => (i < length ? s.charCodeAt(i) : 0);
  return tail(h, length, end, at(end + 2), at(end + 1), at(end));
}

/** The last (length % 4) bytes b0..b2, then the final mix. */
function tail(h: number, length: number, end: number, b2: number, b1: number, b0: number): number {
  const rest = length - end;
  if (rest === 3) h ^= b2 << 16;
  if (rest >= 2) h ^= b1 << 8;
  if (rest >= 1) h = Math.imul(h ^ b0, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}
