/**
 * The fast path of the CSV reader: decodes a line of raw bytes straight into a record, with no
 * intermediate strings. Fields are split by byte offsets, ids interned from their bytes
 * (ByteInterner), amounts and times parsed from digits. It takes only lines it can decode
 * exactly as the reference parser would (no quotes, the field count of the header, amounts
 * with at most two decimals, `YYYY-MM-DD[T ]HH:MM:SS[Z]` times, 0/1 labels); any other line,
 * including every error, goes to the reference parser (csv-reference.ts), which stays the
 * definition of the format. Replay, features and training read whole histories through here.
 */
import type { AuthorizationEvent, Channel } from '../types.js';
import { CsvHistoryParser } from './csv-reference.js';
import { ByteInterner } from './interners.js';
import { DEFAULT_CURRENCY, parseChannel, type HistoryRecord } from './record.js';
import { parseDateTimeBytes } from './time-parse.js';

/** Fast path of the CSV reader over raw bytes (fed complete lines by readCsvBatches, csv-stream.ts). */
export class CsvByteReader {
  private readonly str: CsvHistoryParser;
  private lineNo = 0;
  private nCols = -1;
  private fs = new Int32Array(0);
  private fe = new Int32Array(0);
  private c = {
    id: -1,
    dt: -1,
    cust: -1,
    term: -1,
    amt: -1,
    fraud: -1,
    scen: -1,
    card: -1,
    merchant: -1,
    mcc: -1,
    channel: -1,
    device: -1,
    ip: -1,
    email: -1,
    country: -1,
    currency: -1,
    desc: -1,
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
      id: p.col('transaction_id'),
      dt: p.col('tx_datetime'),
      cust: p.col('customer_id'),
      term: p.col('terminal_id'),
      amt: p.col('tx_amount'),
      fraud: p.col('tx_fraud'),
      scen: p.col('tx_fraud_scenario'),
      card: p.col('card_token'),
      merchant: p.col('merchant_id'),
      mcc: p.col('mcc'),
      channel: p.col('channel'),
      device: p.col('device_id'),
      ip: p.col('ip'),
      email: p.col('email_hash'),
      country: p.col('country'),
      currency: p.col('currency'),
      desc: p.col('description'),
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
    const eventTime = parseDateTimeBytes(buf, fs[c.dt]!, fe[c.dt]!, this.dayMs);
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

  private opt(
    this: void,
    buf: Buffer,
    fs: Int32Array,
    fe: Int32Array,
    col: number,
    interner: ByteInterner,
  ): string | null {
    if (col < 0) return null;
    const a = fs[col]!;
    const z = fe[col]!;
    return z > a ? interner.get(buf, a, z) : null;
  }
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
