/**
 * The reader of past-transaction files used by every tool (replay, features, train, backtest):
 * CSV with the handbook's columns (Le Borgne et al., ch. 3.2) and optional richer ones, or JSONL
 * of AuthorizationEvents with the labels `tx_fraud` / `tx_fraud_scenario` on the same object.
 *
 * CSV columns (header names are matched case-insensitively, so the handbook's own upper-case
 * export reads too; unknown columns are ignored):
 *   required  transaction_id, tx_datetime, customer_id, terminal_id, tx_amount
 *   labels    tx_fraud, tx_fraud_scenario   (absent or empty → null: unlabelled history)
 *   optional  card_token (→ customer_id when absent/empty), merchant_id, mcc, channel (→ 'UNKNOWN'),
 *             device_id, ip, email_hash, country, currency (→ 'EUR'), description   (empty → null)
 * tx_datetime: ISO 8601 (`2018-04-01T00:04:29Z`); without a zone (`2018-04-01 00:04:29`, the
 * handbook's pandas format) it is UTC.
 * Every error names the file, the line and, for a bad value, the column.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { CHANNELS, type AuthorizationEvent, type Channel } from './types.js';

export interface HistoryRecord {
  event: AuthorizationEvent;
  fraud: boolean | null;
  scenario: number | null;
}

export type HistoryFormat = 'csv' | 'jsonl';

export class HistoryFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
    readonly column?: string,
  ) {
    super(`${file}:${line}: ${column !== undefined ? `column '${column}': ` : ''}${detail}`);
    this.name = 'HistoryFileError';
  }
}

export const REQUIRED_CSV_COLUMNS = ['transaction_id', 'tx_datetime', 'customer_id', 'terminal_id', 'tx_amount'] as const;
export const LABEL_CSV_COLUMNS = ['tx_fraud', 'tx_fraud_scenario'] as const;
export const OPTIONAL_CSV_COLUMNS = [
  'card_token',
  'merchant_id',
  'mcc',
  'channel',
  'device_id',
  'ip',
  'email_hash',
  'country',
  'currency',
  'description',
] as const;

const DEFAULT_CURRENCY = 'EUR';
const BATCH = 8192;

/** Format from the file name: .jsonl / .ndjson / .json → jsonl, .csv (and anything else) → csv. */
export function inferHistoryFormat(path: string): HistoryFormat {
  return /\.(jsonl|ndjson|json)$/i.test(path) ? 'jsonl' : 'csv';
}

/** Reads a whole history file into memory, in file order. `path` '-' reads stdin. */
export async function readHistoryFile(path: string, format?: HistoryFormat): Promise<HistoryRecord[]> {
  const all: HistoryRecord[] = [];
  for await (const batch of readHistoryBatches(path, format)) {
    for (const r of batch) all.push(r);
  }
  return all;
}

/** The records of a history file one at a time (bounded memory). */
export async function* iterateHistoryFile(path: string, format?: HistoryFormat): AsyncGenerator<HistoryRecord> {
  for await (const batch of readHistoryBatches(path, format)) yield* batch;
}

/** The records of a history file in batches of up to ~8k, in file order. */
export function readHistoryBatches(path: string, format?: HistoryFormat): AsyncGenerator<HistoryRecord[]> {
  const fmt = format ?? inferHistoryFormat(path);
  const stream = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20 });
  const name = path === '-' ? 'stdin' : path;
  return readHistoryStream(stream, fmt, name);
}

/** Same as readHistoryBatches over any readable (bytes or strings). `name` is used in errors. */
export async function* readHistoryStream(
  input: Readable | AsyncIterable<string | Uint8Array>,
  format: HistoryFormat,
  name: string,
): AsyncGenerator<HistoryRecord[]> {
  if (format === 'csv') {
    yield* readCsvBytes(input, name);
    return;
  }
  const parser = new JsonlHistoryParser(name);
  let out: HistoryRecord[] = [];
  let lineNo = 0;
  for await (const lines of readLines(input, name)) {
    for (const line of lines) {
      const r = parser.line(line, ++lineNo);
      if (r) out.push(r);
    }
    if (out.length >= BATCH) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}

/**
 * CSV from bytes: a line without quotes is split and decoded in place (ids interned from their
 * bytes, amounts and times parsed from digits, no intermediate strings); anything else (quotes,
 * unusual number or time formats, errors) goes through the string parser, which is the reference.
 */
async function* readCsvBytes(input: Readable | AsyncIterable<string | Uint8Array>, name: string): AsyncGenerator<HistoryRecord[]> {
  const reader = new CsvByteReader(name);
  let carry: Buffer | null = null;
  let first = true;
  let out: HistoryRecord[] = [];
  try {
    for await (const chunk of input as AsyncIterable<string | Uint8Array>) {
      let buf: Buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      if (carry) buf = Buffer.concat([carry, buf]);
      let start = 0;
      if (first && buf.length >= 3) {
        if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3;
        first = false;
      }
      const last = buf.lastIndexOf(10);
      if (last < start) {
        carry = start ? buf.subarray(start) : buf;
        continue;
      }
      reader.lines(buf, start, last + 1, out);
      carry = last + 1 < buf.length ? buf.subarray(last + 1) : null;
      if (out.length >= BATCH) {
        yield out;
        out = [];
      }
    }
  } catch (err) {
    if (err instanceof HistoryFileError) throw err;
    throw new Error(`cannot read ${name}: ${(err as Error).message}`, { cause: err });
  }
  if (carry && carry.length) {
    let start = 0;
    if (first && carry.length >= 3 && carry[0] === 0xef && carry[1] === 0xbb && carry[2] === 0xbf) start = 3;
    reader.lines(Buffer.concat([carry.subarray(start), Buffer.from('\n')]), 0, carry.length - start + 1, out);
  }
  reader.end();
  if (out.length > 0) yield out;
}

/** Parses the text of a whole history file (tests, small inputs). */
export function parseHistoryText(text: string, format: HistoryFormat, name = '<text>'): HistoryRecord[] {
  const parser = format === 'csv' ? new CsvHistoryParser(name) : new JsonlHistoryParser(name);
  const out: HistoryRecord[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0]?.charCodeAt(0) === 0xfeff) lines[0] = lines[0].slice(1);
  lines.forEach((line, i) => {
    const r = parser.line(line.endsWith('\r') ? line.slice(0, -1) : line, i + 1);
    if (r) out.push(r);
  });
  parser.end();
  return out;
}

/** Lines of the input in chunks (no line terminators, CR stripped, BOM dropped). */
async function* readLines(input: Readable | AsyncIterable<string | Uint8Array>, name: string): AsyncGenerator<string[]> {
  const decoder = new TextDecoder('utf-8');
  let rest = '';
  let first = true;
  try {
    for await (const chunk of input as AsyncIterable<string | Uint8Array>) {
      let text = rest + (typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
      if (first) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i]!;
        if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
      }
      if (lines.length) yield lines;
    }
  } catch (err) {
    throw new Error(`cannot read ${name}: ${(err as Error).message}`, { cause: err });
  }
  const tail = rest + decoder.decode();
  if (tail.length) yield [tail.endsWith('\r') ? tail.slice(0, -1) : tail];
}

/**
 * Splits one CSV record (RFC 4180: fields separated by commas, optionally quoted with `"`,
 * `""` inside quotes for a quote; a quoted field may hold commas and newlines).
 * Returns null when the text ends inside a quoted field (the record continues on the next line).
 * Throws on a quote in the middle of an unquoted field or text after a closing quote.
 */
export function parseCsvRecord(text: string): string[] | null {
  if (text.indexOf('"') === -1) return text.split(',');
  const out: string[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    if (text.charCodeAt(i) === 34 /* " */) {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q === -1) return null;
        value += text.slice(j, q);
        if (text.charCodeAt(q + 1) === 34) {
          value += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      out.push(value);
      if (i === n) return out;
      if (text.charCodeAt(i) !== 44 /* , */) throw new Error(`unexpected character after closing quote at position ${i + 1}`);
      i++;
    } else {
      const c = text.indexOf(',', i);
      const end = c === -1 ? n : c;
      const value = text.slice(i, end);
      if (value.indexOf('"') !== -1) throw new Error(`quote inside an unquoted field at position ${i + value.indexOf('"') + 1}`);
      out.push(value);
      if (c === -1) return out;
      i = c + 1;
    }
    if (i === n) {
      out.push('');
      return out;
    }
  }
}

/** Repeated ids (customers, terminals, merchants…) share one string instance. */
class Interner {
  private readonly map = new Map<string, string>();
  get(s: string): string {
    const v = this.map.get(s);
    if (v !== undefined) return v;
    if (this.map.size < 1 << 20) this.map.set(s, s);
    return s;
  }
}

const PAD_DIGITS = /^\d+$/;

/** ISO 8601 / `YYYY-MM-DD HH:MM:SS[.fff]` (UTC when no zone) → epoch ms, NaN if invalid. */
export function parseDateTime(s: string, dayCache?: Map<string, number>): number {
  // Fast path: YYYY-MM-DDTHH:MM:SS[Z] (or space), the simulator's and the handbook's formats.
  if ((s.length === 20 && s.charCodeAt(19) === 90) || s.length === 19) {
    const sep = s.charCodeAt(10);
    if ((sep === 84 || sep === 32) && s.charCodeAt(13) === 58 && s.charCodeAt(16) === 58) {
      const dayPart = s.slice(0, 10);
      let dayMs = dayCache?.get(dayPart);
      if (dayMs === undefined) {
        dayMs = Date.parse(`${dayPart}T00:00:00Z`);
        if (Number.isNaN(dayMs) || new Date(dayMs).toISOString().slice(0, 10) !== dayPart) return NaN;
        dayCache?.set(dayPart, dayMs);
      }
      const h = twoDigits(s, 11);
      const m = twoDigits(s, 14);
      const sec = twoDigits(s, 17);
      if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59) return NaN;
      return dayMs + ((h * 60 + m) * 60 + sec) * 1000;
    }
  }
  if (PAD_DIGITS.test(s)) return NaN;
  let iso = s.trim().replace(' ', 'T');
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(iso)) iso += 'Z';
  return Date.parse(iso);
}

function twoDigits(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48;
  const b = s.charCodeAt(at + 1) - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1;
  return a * 10 + b;
}

function parseFraud(v: string | number | boolean | null | undefined): boolean | null | undefined {
  if (v === null || v === undefined || v === '') return null;
  if (v === true || v === 1 || v === '1' || v === 'true' || v === 'True' || v === 'TRUE' || v === '1.0') return true;
  if (v === false || v === 0 || v === '0' || v === 'false' || v === 'False' || v === 'FALSE' || v === '0.0') return false;
  return undefined;
}

function parseScenario(v: string | number | null | undefined): number | null | undefined {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

function parseChannel(v: string | null | undefined): Channel | undefined {
  if (v === null || v === undefined || v === '') return 'UNKNOWN';
  const up = v.toUpperCase() as Channel;
  return CHANNELS.includes(up) ? up : undefined;
}

interface LineParser {
  line(text: string, lineNo: number): HistoryRecord | null;
  end(): void;
}

/** The reference CSV parser, one line of text at a time (module-internal; the byte reader shares its state). */
class CsvHistoryParser implements LineParser {
  header: string[] | null = null;
  idx: Record<string, number> = {};
  /** Text of a record whose quoted field continues on the next line. */
  pending: string | null = null;
  private pendingLine = 0;
  private readonly interners = {
    customer: new Interner(),
    terminal: new Interner(),
    card: new Interner(),
    merchant: new Interner(),
    mcc: new Interner(),
    device: new Interner(),
    ip: new Interner(),
    email: new Interner(),
    country: new Interner(),
    currency: new Interner(),
  };
  private readonly dayCache = new Map<string, number>();

  constructor(private readonly file: string) {}

  line(text: string, lineNo: number): HistoryRecord | null {
    let startLine = lineNo;
    if (this.pending !== null) {
      text = `${this.pending}\n${text}`;
      startLine = this.pendingLine;
    } else if (text === '') {
      return null;
    }
    let fields: string[] | null;
    try {
      fields = parseCsvRecord(text);
    } catch (err) {
      throw new HistoryFileError(this.file, startLine, `malformed CSV: ${(err as Error).message}`);
    }
    if (fields === null) {
      if (this.pending === null) this.pendingLine = startLine;
      this.pending = text;
      if (text.length > 1 << 20) throw new HistoryFileError(this.file, startLine, 'malformed CSV: unterminated quoted field');
      return null;
    }
    this.pending = null;
    if (!this.header) {
      this.setHeader(fields, startLine);
      return null;
    }
    return this.record(fields, startLine);
  }

  end(): void {
    if (this.pending !== null) throw new HistoryFileError(this.file, this.pendingLine, 'malformed CSV: unterminated quoted field');
    if (!this.header) throw new HistoryFileError(this.file, 1, 'empty file: no CSV header');
  }

  /** Column index of a header name, -1 if absent. */
  col(name: string): number {
    return this.idx[name] ?? -1;
  }

  private setHeader(fields: string[], line: number): void {
    this.header = fields.map((f) => f.trim().toLowerCase());
    this.header.forEach((h, i) => {
      if (h !== '' && this.idx[h] === undefined) this.idx[h] = i;
    });
    for (const c of REQUIRED_CSV_COLUMNS) {
      if (this.idx[c] === undefined) {
        throw new HistoryFileError(
          this.file,
          line,
          `missing required column '${c}' in the header (found: ${this.header.join(', ')}); required: ${REQUIRED_CSV_COLUMNS.join(', ')}`,
        );
      }
    }
  }

  private record(f: string[], line: number): HistoryRecord {
    const header = this.header!;
    if (f.length !== header.length) {
      throw new HistoryFileError(this.file, line, `malformed CSV: expected ${header.length} fields as in the header, found ${f.length}`);
    }
    const idx = this.idx;
    const I = this.interners;
    const get = (col: string): string | undefined => {
      const i = idx[col];
      return i === undefined ? undefined : f[i];
    };
    const opt = (col: string, interner?: Interner): string | null => {
      const v = get(col);
      if (v === undefined || v === '') return null;
      return interner ? interner.get(v) : v;
    };
    const bad = (col: string, what: string): never => {
      throw new HistoryFileError(this.file, line, what, col);
    };

    const authId = f[idx.transaction_id!]!;
    if (authId === '') bad('transaction_id', 'empty value');
    const dt = f[idx.tx_datetime!]!;
    const eventTime = parseDateTime(dt, this.dayCache);
    if (Number.isNaN(eventTime)) bad('tx_datetime', `invalid date-time '${dt}'`);
    const customerRaw = f[idx.customer_id!]!;
    if (customerRaw === '') bad('customer_id', 'empty value');
    const customerId = I.customer.get(customerRaw);
    const terminalRaw = f[idx.terminal_id!]!;
    if (terminalRaw === '') bad('terminal_id', 'empty value');
    const amountRaw = f[idx.tx_amount!]!;
    const amount = amountRaw === '' ? NaN : Number(amountRaw);
    if (!Number.isFinite(amount)) bad('tx_amount', `invalid amount '${amountRaw}'`);

    const fraudRaw = get('tx_fraud');
    const fraud = parseFraud(fraudRaw);
    if (fraud === undefined) bad('tx_fraud', `invalid label '${fraudRaw}' (expected 0, 1 or empty)`);
    const scenarioRaw = get('tx_fraud_scenario');
    const scenario = parseScenario(scenarioRaw);
    if (scenario === undefined) bad('tx_fraud_scenario', `invalid scenario '${scenarioRaw}' (expected an integer >= 0 or empty)`);
    const channelRaw = get('channel');
    const channel = parseChannel(channelRaw);
    if (channel === undefined) bad('channel', `invalid channel '${channelRaw}' (expected one of ${CHANNELS.join(', ')})`);

    const event: AuthorizationEvent = {
      auth_id: authId,
      event_time: eventTime,
      card_token: opt('card_token', I.card) ?? customerId,
      customer_id: customerId,
      terminal_id: I.terminal.get(terminalRaw),
      merchant_id: opt('merchant_id', I.merchant),
      mcc: opt('mcc', I.mcc),
      amount_minor: Math.round(amount * 100) + 0, // + 0: no -0
      currency: opt('currency', I.currency) ?? DEFAULT_CURRENCY,
      channel: channel!,
      device_id: opt('device_id', I.device),
      ip: opt('ip', I.ip),
      email_hash: opt('email_hash', I.email),
      country: opt('country', I.country),
      description: opt('description'),
    };
    return { event, fraud: fraud!, scenario: scenario! };
  }
}

class JsonlHistoryParser implements LineParser {
  constructor(private readonly file: string) {}

  end(): void {}

  line(text: string, line: number): HistoryRecord | null {
    if (text.trim() === '') return null;
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch (err) {
      throw new HistoryFileError(this.file, line, `invalid JSON: ${(err as Error).message}`);
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      throw new HistoryFileError(this.file, line, 'expected a JSON object');
    }
    const r = o as Record<string, unknown>;
    const bad = (field: string, what: string): never => {
      throw new HistoryFileError(this.file, line, what, field);
    };
    const id = (field: string, required: boolean): string | null => {
      const v = r[field];
      if (v === undefined || v === null || v === '') {
        if (required) bad(field, 'missing value');
        return null;
      }
      if (typeof v === 'string') return v;
      if (typeof v === 'number' && Number.isFinite(v)) return String(v);
      return bad(field, `expected a string, got ${JSON.stringify(v)}`);
    };

    const authId = id('auth_id', true)!;
    let eventTime = r.event_time;
    if (typeof eventTime === 'string') eventTime = parseDateTime(eventTime);
    if (typeof eventTime !== 'number' || !Number.isFinite(eventTime)) bad('event_time', `expected epoch milliseconds, got ${JSON.stringify(r.event_time)}`);
    const customerId = id('customer_id', true)!;
    const terminalId = id('terminal_id', true)!;
    const amount = r.amount_minor;
    if (typeof amount !== 'number' || !Number.isInteger(amount)) bad('amount_minor', `expected an integer (minor units), got ${JSON.stringify(amount)}`);
    const channel = r.channel === undefined || r.channel === null ? 'UNKNOWN' : typeof r.channel === 'string' ? parseChannel(r.channel) : undefined;
    if (channel === undefined) bad('channel', `invalid channel ${JSON.stringify(r.channel)} (expected one of ${CHANNELS.join(', ')})`);
    const fraud = parseFraud(r.tx_fraud as never);
    if (fraud === undefined) bad('tx_fraud', `invalid label ${JSON.stringify(r.tx_fraud)} (expected 0, 1, true, false or null)`);
    const scenario = parseScenario(r.tx_fraud_scenario as never);
    if (scenario === undefined) bad('tx_fraud_scenario', `invalid scenario ${JSON.stringify(r.tx_fraud_scenario)}`);

    const event: AuthorizationEvent = {
      auth_id: authId,
      event_time: eventTime as number,
      card_token: id('card_token', false) ?? customerId,
      customer_id: customerId,
      terminal_id: terminalId,
      merchant_id: id('merchant_id', false),
      mcc: id('mcc', false),
      amount_minor: amount as number,
      currency: id('currency', false) ?? DEFAULT_CURRENCY,
      channel: channel!,
      device_id: id('device_id', false),
      ip: id('ip', false),
      email_hash: id('email_hash', false),
      country: id('country', false),
      description: typeof r.description === 'string' ? r.description : null,
    };
    return { event, fraud: fraud!, scenario: scenario! };
  }
}

/** Interns strings by their UTF-8 bytes: a repeated id costs a hash and a compare, no allocation. */
/**
 * Interns strings by their UTF-8 bytes: a repeated id costs a hash and a compare, no allocation.
 * Open addressing over typed arrays, key bytes in one arena: few pointer chases per lookup.
 */
class ByteInterner {
  private static readonly MAX_ENTRIES = 1 << 20;
  private table = new Int32Array(1 << 12).fill(-1);
  private hashes: Int32Array = new Int32Array(1 << 11);
  private offs: Int32Array = new Int32Array(1 << 11);
  private lens: Int32Array = new Int32Array(1 << 11);
  private readonly strs: string[] = [];
  private arena = new Uint8Array(1 << 16);
  private arenaLen = 0;

  get(buf: Buffer, s: number, e: number): string {
    const len = e - s;
    // FNV-1a over at most the first and last 8 bytes (the full bytes are compared on a hit).
    let h = 0x811c9dc5 ^ len;
    if (len <= 16) {
      for (let p = s; p < e; p++) h = Math.imul(h ^ buf[p]!, 0x01000193);
    } else {
      for (let p = s; p < s + 8; p++) h = Math.imul(h ^ buf[p]!, 0x01000193);
      for (let p = e - 8; p < e; p++) h = Math.imul(h ^ buf[p]!, 0x01000193);
    }
    h ^= h >>> 15;
    const table = this.table;
    const mask = table.length - 1;
    let slot = h & mask;
    for (;;) {
      const id = table[slot]!;
      if (id < 0) break;
      if (this.hashes[id] === h && this.lens[id] === len) {
        const arena = this.arena;
        const o = this.offs[id]! - s;
        let p = s;
        while (p < e && arena[o + p] === buf[p]) p++;
        if (p === e) return this.strs[id]!;
      }
      slot = (slot + 1) & mask;
    }
    const str = buf.toString('utf8', s, e);
    const id = this.strs.length;
    if (id >= ByteInterner.MAX_ENTRIES) return str;
    if (id >= this.hashes.length) {
      this.hashes = grow(this.hashes);
      this.offs = grow(this.offs);
      this.lens = grow(this.lens);
    }
    if (this.arenaLen + len > this.arena.length) {
      const a = new Uint8Array(Math.max(this.arena.length * 2, this.arenaLen + len));
      a.set(this.arena.subarray(0, this.arenaLen));
      this.arena = a;
    }
    this.arena.set(buf.subarray(s, e), this.arenaLen);
    this.hashes[id] = h;
    this.offs[id] = this.arenaLen;
    this.lens[id] = len;
    this.arenaLen += len;
    this.strs.push(str);
    table[slot] = id;
    if ((id + 1) * 2 > table.length) this.rehash();
    return str;
  }

  private rehash(): void {
    const table = new Int32Array(this.table.length * 2).fill(-1);
    const mask = table.length - 1;
    for (let id = 0; id < this.strs.length; id++) {
      let slot = this.hashes[id]! & mask;
      while (table[slot]! >= 0) slot = (slot + 1) & mask;
      table[slot] = id;
    }
    this.table = table;
  }
}

function grow(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Fast path of the CSV reader over raw bytes (see readCsvBytes). */
class CsvByteReader {
  private readonly str: CsvHistoryParser;
  private lineNo = 0;
  private nCols = -1;
  private fs = new Int32Array(0);
  private fe = new Int32Array(0);
  private c = {
    id: -1, dt: -1, cust: -1, term: -1, amt: -1, fraud: -1, scen: -1,
    card: -1, merchant: -1, mcc: -1, channel: -1, device: -1, ip: -1, email: -1, country: -1, currency: -1, desc: -1,
  };
  private readonly I = {
    customer: new ByteInterner(),
    terminal: new ByteInterner(),
    card: new ByteInterner(),
    merchant: new ByteInterner(),
    mcc: new ByteInterner(),
    channel: new ByteInterner(),
    device: new ByteInterner(),
    ip: new ByteInterner(),
    email: new ByteInterner(),
    country: new ByteInterner(),
    currency: new ByteInterner(),
  };
  private readonly dayMs = new Map<number, number>();
  private readonly channels = new Map<string, Channel | null>();

  constructor(file: string) {
    this.str = new CsvHistoryParser(file);
  }

  end(): void {
    this.str.end();
  }

  /** Parses the complete lines of buf[from, to) (to is just past a newline) into out. */
  lines(buf: Buffer, from: number, to: number, out: HistoryRecord[]): void {
    let s = from;
    while (s < to) {
      let nl = buf.indexOf(10, s);
      if (nl === -1 || nl >= to) nl = to;
      let e = nl;
      if (e > s && buf[e - 1] === 13) e--;
      const lineNo = ++this.lineNo;
      let r: HistoryRecord | null | undefined;
      if (this.nCols > 0 && this.str.pending === null) {
        if (e === s) r = null;
        else r = this.fast(buf, s, e);
      }
      if (r === undefined) {
        r = this.str.line(buf.toString('utf8', s, e), lineNo);
        if (this.nCols < 0 && this.str.header) this.setup();
      }
      if (r) out.push(r);
      s = nl + 1;
    }
  }

  private setup(): void {
    const p = this.str;
    this.nCols = p.header!.length;
    this.fs = new Int32Array(this.nCols);
    this.fe = new Int32Array(this.nCols);
    this.c = {
      id: p.col('transaction_id'), dt: p.col('tx_datetime'), cust: p.col('customer_id'), term: p.col('terminal_id'),
      amt: p.col('tx_amount'), fraud: p.col('tx_fraud'), scen: p.col('tx_fraud_scenario'),
      card: p.col('card_token'), merchant: p.col('merchant_id'), mcc: p.col('mcc'), channel: p.col('channel'),
      device: p.col('device_id'), ip: p.col('ip'), email: p.col('email_hash'), country: p.col('country'),
      currency: p.col('currency'), desc: p.col('description'),
    };
  }

  /** The record of a simple line, or undefined to let the string parser handle (or report) it. */
  private fast(buf: Buffer, s: number, e: number): HistoryRecord | undefined {
    const fs = this.fs;
    const fe = this.fe;
    const n = this.nCols;
    let k = 0;
    let start = s;
    for (let p = s; p < e; p++) {
      const b = buf[p]!;
      if (b === 44) {
        if (k === n - 1) return undefined;
        fs[k] = start;
        fe[k] = p;
        k++;
        start = p + 1;
      } else if (b === 34) {
        return undefined;
      }
    }
    if (k !== n - 1) return undefined;
    fs[k] = start;
    fe[k] = e;

    const c = this.c;
    const I = this.I;
    const idS = fs[c.id]!;
    const idE = fe[c.id]!;
    const custS = fs[c.cust]!;
    const custE = fe[c.cust]!;
    const termS = fs[c.term]!;
    const termE = fe[c.term]!;
    if (idS === idE || custS === custE || termS === termE) return undefined;
    const eventTime = this.time(buf, fs[c.dt]!, fe[c.dt]!);
    if (eventTime < 0) return undefined;
    const cents = cents2(buf, fs[c.amt]!, fe[c.amt]!);
    if (cents === null) return undefined;

    let fraud: boolean | null = null;
    if (c.fraud >= 0) {
      const a = fs[c.fraud]!;
      const len = fe[c.fraud]! - a;
      if (len === 1 && buf[a] === 49) fraud = true;
      else if (len === 1 && buf[a] === 48) fraud = false;
      else if (len !== 0) return undefined;
    }
    let scenario: number | null = null;
    if (c.scen >= 0) {
      const a = fs[c.scen]!;
      const z = fe[c.scen]!;
      if (z > a) {
        if (z - a > 6) return undefined;
        scenario = 0;
        for (let p = a; p < z; p++) {
          const d = buf[p]! - 48;
          if (d < 0 || d > 9) return undefined;
          scenario = scenario * 10 + d;
        }
      }
    }
    let channel: Channel = 'UNKNOWN';
    if (c.channel >= 0 && fe[c.channel]! > fs[c.channel]!) {
      const raw = I.channel.get(buf, fs[c.channel]!, fe[c.channel]!);
      let ch = this.channels.get(raw);
      if (ch === undefined) {
        ch = parseChannel(raw) ?? null;
        this.channels.set(raw, ch);
      }
      if (ch === null) return undefined;
      channel = ch;
    }

    const opt = this.opt;
    const customerId = I.customer.get(buf, custS, custE);
    const event: AuthorizationEvent = {
      auth_id: buf.toString('utf8', idS, idE),
      event_time: eventTime,
      card_token: opt(buf, fs, fe, c.card, I.card) ?? customerId,
      customer_id: customerId,
      terminal_id: I.terminal.get(buf, termS, termE),
      merchant_id: opt(buf, fs, fe, c.merchant, I.merchant),
      mcc: opt(buf, fs, fe, c.mcc, I.mcc),
      amount_minor: cents,
      currency: opt(buf, fs, fe, c.currency, I.currency) ?? DEFAULT_CURRENCY,
      channel,
      device_id: opt(buf, fs, fe, c.device, I.device),
      ip: opt(buf, fs, fe, c.ip, I.ip),
      email_hash: opt(buf, fs, fe, c.email, I.email),
      country: opt(buf, fs, fe, c.country, I.country),
      description: c.desc >= 0 && fe[c.desc]! > fs[c.desc]! ? buf.toString('utf8', fs[c.desc]!, fe[c.desc]!) : null,
    };
    return { event, fraud, scenario };
  }

  private opt(this: void, buf: Buffer, fs: Int32Array, fe: Int32Array, col: number, interner: ByteInterner): string | null {
    if (col < 0) return null;
    const a = fs[col]!;
    const z = fe[col]!;
    return z > a ? interner.get(buf, a, z) : null;
  }

  /** `YYYY-MM-DD[T ]HH:MM:SS[Z]` → epoch ms; -1 for anything else (string path decides). */
  private time(buf: Buffer, s: number, e: number): number {
    const len = e - s;
    if (!(len === 19 || (len === 20 && buf[s + 19] === 90))) return -1;
    const sep = buf[s + 10];
    if ((sep !== 84 && sep !== 32) || buf[s + 4] !== 45 || buf[s + 7] !== 45 || buf[s + 13] !== 58 || buf[s + 16] !== 58) return -1;
    const y = digits(buf, s, 4);
    const mo = digits(buf, s + 5, 2);
    const d = digits(buf, s + 8, 2);
    const h = digits(buf, s + 11, 2);
    const mi = digits(buf, s + 14, 2);
    const sec = digits(buf, s + 17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return -1;
    const key = (y * 100 + mo) * 100 + d;
    let dayMs = this.dayMs.get(key);
    if (dayMs === undefined) {
      dayMs = Date.UTC(y, mo - 1, d);
      const check = new Date(dayMs);
      if (mo < 1 || mo > 12 || check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) return -1;
      this.dayMs.set(key, dayMs);
    }
    return dayMs + ((h * 60 + mi) * 60 + sec) * 1000;
  }
}

function digits(buf: Buffer, s: number, n: number): number {
  let v = 0;
  for (let p = s; p < s + n; p++) {
    const d = buf[p]! - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** `123`, `123.4`, `123.45`, `-1.5` → cents; null for anything else (string path decides). */
function cents2(buf: Buffer, s: number, e: number): number | null {
  if (e === s) return null;
  let p = s;
  let neg = false;
  if (buf[p] === 45) {
    neg = true;
    p++;
  }
  let v = 0;
  let nInt = 0;
  while (p < e) {
    const d = buf[p]! - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
    nInt++;
    p++;
  }
  if (nInt === 0 || nInt > 13) return null;
  let frac = 0;
  if (p < e) {
    if (buf[p] !== 46) return null;
    p++;
    const nFrac = e - p;
    if (nFrac < 1 || nFrac > 2) return null;
    for (let q = 0; q < nFrac; q++) {
      const d = buf[p + q]! - 48;
      if (d < 0 || d > 9) return null;
      frac = frac * 10 + d;
    }
    if (nFrac === 1) frac *= 10;
  }
  const cents = v * 100 + frac;
  return neg ? (cents === 0 ? 0 : -cents) : cents;
}
