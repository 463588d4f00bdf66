/**
 * The compact per-entity state of the Redis feature store (./store.ts): one Redis string per
 * entity holding its whole history as packed entries, instead of a sorted-set member per
 * transaction. Redis only stores and returns these blobs; the engine decodes them, applies the
 * reference algorithm (./entity-ops.ts, ../definitions.ts) and writes them back.
 *
 * Layout (little endian):
 *   version  4 bytes   compare-and-set token of the blob (./scripts.ts LUA_CAS), bumped on every write
 *   count    u32       entries, sorted by position
 *   customer entry:  pos f64, amount f64, auth str, terminal str, merchant nstr, device nstr
 *   terminal entry:  pos f64, auth str; then u32 labels, each auth str, tx_time f64
 *   card entry:      pos f64, auth str
 * where str is a u16 byte length and UTF-8 bytes, nstr the same with length 0xFFFF for null.
 * Positions, amounts and times are integers below 2^53: exact in a double.
 */
import { randomInt } from 'node:crypto';
import type { CustomerEntry, TxEntry } from '../definitions.js';
import { timeOfPosition } from '../definitions.js';

export const VERSION_BYTES = 4;
const NULL_LEN = 0xffff;

export interface CustomerState {
  tx: CustomerEntry[];
}

export interface KeyedState {
  tx: TxEntry[];
  /** auth_id → entry; built on first use (./entity-ops.ts). */
  byAuth: Map<string, TxEntry> | null;
}

export interface TerminalState extends KeyedState {
  /** auth_id → tx_time of the label, for the auth ids currently labelled fraud. */
  frauds: Map<string, number>;
}

/** The version of a blob as read (an empty buffer: no key), and the next one to write. */
export function versionOf(blob: Buffer | null): Buffer {
  return blob && blob.length >= VERSION_BYTES ? blob.subarray(0, VERSION_BYTES) : EMPTY;
}
const EMPTY = Buffer.alloc(0);

function nextVersion(read: Buffer): number {
  // A new entity starts at a random version: a key deleted and created again between another
  // instance's read and write does not pass for the one it read.
  return read.length === VERSION_BYTES ? (read.readUInt32LE(0) + 1) >>> 0 : randomInt(0, 2 ** 32);
}

// ---- reading -------------------------------------------------------------------------------

class Reader {
  off = VERSION_BYTES;
  constructor(private readonly b: Buffer) {}
  u32(): number {
    const v = this.b.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }
  f64(): number {
    const v = this.b.readDoubleLE(this.off);
    this.off += 8;
    return v;
  }
  str(): string {
    const s = this.nstr();
    if (s === null) throw new Error('feature state: null where a string is required');
    return s;
  }
  nstr(): string | null {
    const n = this.b.readUInt16LE(this.off);
    this.off += 2;
    if (n === NULL_LEN) return null;
    const s = this.b.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }
}

export function decodeCustomer(blob: Buffer | null): CustomerState {
  const tx: CustomerEntry[] = [];
  if (!blob || blob.length <= VERSION_BYTES) return { tx };
  const r = new Reader(blob);
  for (let i = 0, n = r.u32(); i < n; i++) {
    const pos = r.f64();
    const amount = r.f64();
    const auth = r.str();
    const terminal = r.str();
    const merchant = r.nstr();
    const device = r.nstr();
    tx.push({ time: timeOfPosition(pos), pos, auth, amount, terminal, merchant, device });
  }
  return { tx };
}

function decodeEntries(r: Reader): TxEntry[] {
  const tx: TxEntry[] = [];
  for (let i = 0, n = r.u32(); i < n; i++) {
    const pos = r.f64();
    tx.push({ time: timeOfPosition(pos), pos, auth: r.str() });
  }
  return tx;
}

export function decodeCard(blob: Buffer | null): KeyedState {
  if (!blob || blob.length <= VERSION_BYTES) return { tx: [], byAuth: null };
  return { tx: decodeEntries(new Reader(blob)), byAuth: null };
}

export function decodeTerminal(blob: Buffer | null): TerminalState {
  const frauds = new Map<string, number>();
  if (!blob || blob.length <= VERSION_BYTES) return { tx: [], byAuth: null, frauds };
  const r = new Reader(blob);
  const tx = decodeEntries(r);
  for (let i = 0, n = r.u32(); i < n; i++) {
    const auth = r.str();
    frauds.set(auth, r.f64());
  }
  return { tx, byAuth: null, frauds };
}

// ---- writing -------------------------------------------------------------------------------

class Writer {
  private b: Buffer;
  off = VERSION_BYTES;
  constructor(size: number) {
    this.b = Buffer.allocUnsafe(Math.max(64, size));
  }
  private room(n: number): void {
    if (this.off + n <= this.b.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.b.length * 2, this.off + n));
    this.b.copy(bigger, 0, 0, this.off);
    this.b = bigger;
  }
  u32(v: number): void {
    this.room(4);
    this.b.writeUInt32LE(v, this.off);
    this.off += 4;
  }
  f64(v: number): void {
    this.room(8);
    this.b.writeDoubleLE(v, this.off);
    this.off += 8;
  }
  nstr(s: string | null): void {
    if (s === null) {
      this.room(2);
      this.b.writeUInt16LE(NULL_LEN, this.off);
      this.off += 2;
      return;
    }
    const n = Buffer.byteLength(s);
    if (n >= NULL_LEN) throw new Error(`feature state: an id of ${n} bytes is too long`);
    this.room(2 + n);
    this.b.writeUInt16LE(n, this.off);
    this.b.write(s, this.off + 2, 'utf8');
    this.off += 2 + n;
  }
  done(version: number): Buffer {
    this.b.writeUInt32LE(version, 0);
    return this.b.subarray(0, this.off);
  }
}

export function encodeCustomer(s: CustomerState, read: Buffer): Buffer {
  const w = new Writer(8 + s.tx.length * 48);
  w.u32(s.tx.length);
  for (const e of s.tx) {
    w.f64(e.pos);
    w.f64(e.amount);
    w.nstr(e.auth);
    w.nstr(e.terminal);
    w.nstr(e.merchant);
    w.nstr(e.device);
  }
  return w.done(nextVersion(read));
}

function encodeEntries(w: Writer, tx: readonly TxEntry[]): void {
  w.u32(tx.length);
  for (const e of tx) {
    w.f64(e.pos);
    w.nstr(e.auth);
  }
}

export function encodeCard(s: KeyedState, read: Buffer): Buffer {
  const w = new Writer(8 + s.tx.length * 24);
  encodeEntries(w, s.tx);
  return w.done(nextVersion(read));
}

export function encodeTerminal(s: TerminalState, read: Buffer): Buffer {
  const w = new Writer(12 + s.tx.length * 24 + s.frauds.size * 24);
  encodeEntries(w, s.tx);
  w.u32(s.frauds.size);
  for (const [auth, txTime] of s.frauds) {
    w.nstr(auth);
    w.f64(txTime);
  }
  return w.done(nextVersion(read));
}
