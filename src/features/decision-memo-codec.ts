/**
 * The decision memo's compact form of a decision (./decision-memo.ts): what a redelivery needs to
 * re-emit the decision byte for byte, and nothing it already carries. The redelivered event
 * (same payload hash) gives back auth_id, card_token, event_time and the context; the feature
 * names are FEATURE_NAMES in order; numbers that are scaled integers (counts, amounts in minor
 * units, scores and contributions rounded to 1e-6, latencies to the µs) take a few bytes. About
 * 110 bytes (form 2) instead of the ~1 KB Avro decision, which was most of Redis's memory per card.
 *
 * Restoring re-encodes the rebuilt decision with the running encoder and compares a CRC-32 of
 * the original wire bytes: a decision that does not come back identical (another writer schema
 * after an upgrade, a bug) is not answered from the memo but recomputed, like an expired entry.
 *
 * A packed value is either the wire bytes themselves (first byte 0, the Confluent magic byte:
 * decisions this codec cannot rebuild exactly, and entries written before it) or the compact
 * form: first byte 2, the feature values' tags two to a byte (14 bytes instead of 27: most
 * entries then fit Redis's 128-byte allocation instead of the 160-byte one). First byte 1 (a tag
 * byte per feature value) was the 27-feature release's: its decisions cannot be rebuilt by an
 * engine of 28 features, so such an entry is recomputed.
 */
import { crc32 } from 'node:zlib';
import type { AuthorizationEvent, Decision, DecisionFactor, Outcome, RuleHit } from '../events/types.js';
import { FEATURE_NAMES } from './names.js';

const RAW = 0;
const COMPACT = 2;
const OUTCOMES: readonly Outcome[] = ['APPROVE', 'REVIEW', 'DECLINE'];
const FEATURE_POS = new Map<string, number>(FEATURE_NAMES.map((n, i) => [n, i]));

// flags
const HAS_SCORE = 1;
const HAS_CONTEXT = 2;
const HAS_FACTORS = 4;
const HAS_CHALLENGER_SCORE = 8;
const HAS_CHALLENGER_VERSION = 16;

// A number: a tag, then its payload. Scaled: k / SCALES[tag - 2] with k a zigzag varint.
const NULL = 0;
const F64 = 1;
const SCALES = [1, 100, 1000, 1e6] as const;
const MAX_K = 2 ** 50;

/** The memo's form of `d` (encoded as `wire`) made on `ev`. */
export function packDecision(d: Decision, ev: AuthorizationEvent, wire: Buffer): Buffer {
  if (!rebuildable(d, ev)) return wire;
  const w = new Writer();
  w.byte(COMPACT);
  w.u32(crc32(wire));
  w.byte(OUTCOMES.indexOf(d.outcome));
  const c = d.context;
  w.byte(
    (d.score !== null ? HAS_SCORE : 0) |
      (c ? HAS_CONTEXT : 0) |
      (d.factors ? HAS_FACTORS : 0) |
      (d.challenger_score !== null && d.challenger_score !== undefined ? HAS_CHALLENGER_SCORE : 0) |
      (d.challenger_version !== null && d.challenger_version !== undefined ? HAS_CHALLENGER_VERSION : 0),
  );
  if (d.score !== null) w.num(d.score);
  w.strings(d.reasons);
  w.varint(d.rule_hits.length);
  for (const h of d.rule_hits) {
    w.str(h.rule_id);
    w.str(h.action);
    w.byte(h.mode === 'ACTIVE' ? 0 : 1);
  }
  w.strings(d.tags);
  w.str(d.model_version);
  w.str(d.ruleset_version);
  w.strings(d.degraded);
  w.nums(FEATURE_NAMES.map((name) => d.features[name] ?? null));
  w.varint(zigzag(d.decided_time - d.event_time));
  w.num(d.engine_latency_ms);
  if (d.factors) {
    w.varint(d.factors.length);
    for (const f of d.factors) {
      w.byte(FEATURE_POS.get(f.feature)!);
      w.num(f.value);
      w.num(f.contribution);
    }
  }
  if (d.challenger_score !== null && d.challenger_score !== undefined) w.num(d.challenger_score);
  if (d.challenger_version !== null && d.challenger_version !== undefined) w.str(d.challenger_version);
  return w.done();
}

/**
 * The wire bytes of the packed decision of `ev` (the redelivered event it was made on), or null
 * when they cannot be restored exactly (then the event is decided again).
 */
export function unpackDecision(packed: Buffer, ev: AuthorizationEvent, encode: (d: Decision) => Buffer): Buffer | null {
  if (packed.length === 0) return null;
  if (packed[0] === RAW) return packed;
  if (packed[0] !== COMPACT) return null;
  let wire: Buffer;
  try {
    const r = new Reader(packed, 1);
    const crc = r.u32();
    wire = encode(readDecision(r, ev));
    if (r.left() !== 0 || crc32(wire) !== crc) return null;
  } catch {
    return null;
  }
  return wire;
}

function readDecision(r: Reader, ev: AuthorizationEvent): Decision {
  const outcome = OUTCOMES[r.byte()];
  if (!outcome) throw new Error('bad outcome');
  const flags = r.byte();
  const score = flags & HAS_SCORE ? r.num() : null;
  const reasons = r.strings();
  const ruleHits: RuleHit[] = new Array<RuleHit>(r.count());
  for (let i = 0; i < ruleHits.length; i++)
    ruleHits[i] = { rule_id: r.str(), action: r.str(), mode: r.byte() === 0 ? 'ACTIVE' : 'SHADOW' };
  const tags = r.strings();
  const modelVersion = r.str();
  const rulesetVersion = r.str();
  const degraded = r.strings();
  const features: Record<string, number | null> = {};
  const values = r.nums(FEATURE_NAMES.length);
  FEATURE_NAMES.forEach((name, i) => (features[name] = values[i]!));
  const decidedTime = ev.event_time + unzigzag(r.varint());
  const latency = r.num();
  let factors: DecisionFactor[] | null = null;
  if (flags & HAS_FACTORS) {
    factors = new Array<DecisionFactor>(r.count());
    for (let i = 0; i < factors.length; i++) {
      const feature = FEATURE_NAMES[r.byte()];
      if (feature === undefined) throw new Error('bad factor');
      factors[i] = { feature, value: r.num(), contribution: r.num() ?? NaN };
    }
  }
  return {
    auth_id: ev.auth_id,
    card_token: ev.card_token,
    outcome,
    score,
    reasons,
    rule_hits: ruleHits,
    tags,
    model_version: modelVersion,
    ruleset_version: rulesetVersion,
    degraded,
    features,
    event_time: ev.event_time,
    decided_time: decidedTime,
    engine_latency_ms: latency ?? NaN,
    context: flags & HAS_CONTEXT ? contextOf(ev) : null,
    factors,
    challenger_score: flags & HAS_CHALLENGER_SCORE ? r.num() : null,
    challenger_version: flags & HAS_CHALLENGER_VERSION ? r.str() : null,
  };
}

/** A decision's context, from its event: one home, so that a rebuilt memo equals what the engine emitted. */
export function contextOf(ev: AuthorizationEvent): NonNullable<Decision['context']> {
  return {
    customer_id: ev.customer_id,
    terminal_id: ev.terminal_id,
    merchant_id: ev.merchant_id,
    mcc: ev.mcc,
    amount_minor: ev.amount_minor,
    currency: ev.currency,
    channel: ev.channel,
    country: ev.country,
    device_id: ev.device_id,
  };
}

/** Whether the compact form can describe `d`: what it leaves out is the event's, names are known. */
function rebuildable(d: Decision, ev: AuthorizationEvent): boolean {
  if (d.auth_id !== ev.auth_id || d.card_token !== ev.card_token || d.event_time !== ev.event_time) return false;
  if (!OUTCOMES.includes(d.outcome) || !Number.isSafeInteger(d.decided_time - d.event_time)) return false;
  const c = d.context;
  if (
    c &&
    (c.customer_id !== ev.customer_id ||
      c.terminal_id !== ev.terminal_id ||
      c.merchant_id !== ev.merchant_id ||
      c.mcc !== ev.mcc ||
      c.amount_minor !== ev.amount_minor ||
      c.currency !== ev.currency ||
      c.channel !== ev.channel ||
      c.country !== ev.country ||
      c.device_id !== ev.device_id)
  )
    return false;
  let j = 0;
  for (const name in d.features) if (name !== FEATURE_NAMES[j++]) return false;
  if (j !== FEATURE_NAMES.length) return false;
  return !d.factors || d.factors.every((f) => FEATURE_POS.has(f.feature));
}

/** How a number is stored: NULL, F64, or 2 + the index of the first scale that makes it an exact integer. */
function tagOf(v: number | null): number {
  if (v === null) return NULL;
  if (!Object.is(v, -0))
    for (let i = 0; i < SCALES.length; i++) {
      const s = SCALES[i]!;
      const k = Math.round(v * s);
      if (Math.abs(k) <= MAX_K && k / s === v) return 2 + i;
    }
  return F64;
}

const zigzag = (k: number): number => (k >= 0 ? 2 * k : -2 * k - 1);
const unzigzag = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);

class Writer {
  private buf = Buffer.allocUnsafe(256);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
  byte(b: number): void {
    this.room(1);
    this.buf[this.at++] = b;
  }
  u32(x: number): void {
    this.room(4);
    this.buf.writeUInt32LE(x, this.at);
    this.at += 4;
  }
  /** Unsigned LEB128 of a safe integer (arithmetic, not 32-bit shifts). */
  varint(x: number): void {
    this.room(8);
    while (x >= 128) {
      this.buf[this.at++] = (x % 128) | 128;
      x = Math.floor(x / 128);
    }
    this.buf[this.at++] = x;
  }
  str(s: string): void {
    const n = Buffer.byteLength(s);
    this.varint(n);
    this.room(n);
    this.at += this.buf.write(s, this.at);
  }
  strings(xs: readonly string[]): void {
    this.varint(xs.length);
    for (const s of xs) this.str(s);
  }
  num(v: number | null): void {
    const tag = tagOf(v);
    this.byte(tag);
    this.payload(v, tag);
  }
  /** Numbers with their tags (0–5) two to a byte first, then their payloads. */
  nums(vs: readonly (number | null)[]): void {
    const tags = vs.map(tagOf);
    for (let i = 0; i < tags.length; i += 2) this.byte(tags[i]! | ((tags[i + 1] ?? 0) << 4));
    vs.forEach((v, i) => this.payload(v, tags[i]!));
  }
  private payload(v: number | null, tag: number): void {
    if (tag === NULL) return;
    if (tag === F64) {
      this.room(8);
      this.buf.writeDoubleLE(v!, this.at);
      this.at += 8;
      return;
    }
    this.varint(zigzag(Math.round(v! * SCALES[tag - 2]!)));
  }
  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    private at: number,
  ) {}
  left(): number {
    return this.buf.length - this.at;
  }
  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new Error('truncated');
  }
  byte(): number {
    this.need(1);
    return this.buf[this.at++]!;
  }
  u32(): number {
    this.need(4);
    const x = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return x;
  }
  varint(): number {
    let x = 0;
    let m = 1;
    for (;;) {
      const b = this.byte();
      x += (b & 127) * m;
      if (b < 128) return x;
      m *= 128;
      if (m > 2 ** 56) throw new Error('varint too long');
    }
  }
  /** A length that the bytes left can hold (each item takes at least one byte). */
  count(): number {
    const n = this.varint();
    if (n > this.left()) throw new Error('bad count');
    return n;
  }
  str(): string {
    const n = this.varint();
    this.need(n);
    const s = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }
  strings(): string[] {
    const out = new Array<string>(this.count());
    for (let i = 0; i < out.length; i++) out[i] = this.str();
    return out;
  }
  num(): number | null {
    return this.payload(this.byte());
  }
  nums(n: number): (number | null)[] {
    const tags = new Array<number>(n);
    for (let i = 0; i < n; i += 2) {
      const b = this.byte();
      tags[i] = b & 15;
      if (i + 1 < n) tags[i + 1] = b >> 4;
      else if (b >> 4 !== 0) throw new Error('bad tag');
    }
    return tags.map((t) => this.payload(t));
  }
  private payload(tag: number): number | null {
    if (tag === NULL) return null;
    if (tag === F64) {
      this.need(8);
      const v = this.buf.readDoubleLE(this.at);
      this.at += 8;
      return v;
    }
    const s = SCALES[tag - 2];
    if (s === undefined) throw new Error('bad number tag');
    return unzigzag(this.varint()) / s;
  }
}
