/**
 * The reference CSV parser: one line of text at a time, RFC 4180 quoting (a quoted field may
 * hold commas, quotes and newlines), header names matched case-insensitively, and an error that
 * names the file, line and column for anything it cannot read. It defines what a CSV history
 * file means; the fast byte reader (csv-fast.ts) decodes only the lines it can decode to the
 * same records, and hands every other line (quotes, unusual number or time formats, errors)
 * to this parser, which also reads the header for it.
 */
import type { AuthorizationEvent } from '../types.js';
import { Interner } from './interners.js';
import { checkedLabels, DEFAULT_CURRENCY, HistoryFileError, type HistoryRecord, type LineParser } from './record.js';
import { parseDateTime } from './time-parse.js';

const CSV_WORDING = {
  show: (v: unknown) => `'${String(v)}'`,
  fraud: '0, 1 or empty',
  scenario: ' (expected an integer >= 0 or empty)',
};

export const REQUIRED_CSV_COLUMNS = [
  'transaction_id',
  'tx_datetime',
  'customer_id',
  'terminal_id',
  'tx_amount',
] as const;
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
      if (text.charCodeAt(i) !== 44 /* , */)
        throw new Error(`unexpected character after closing quote at position ${i + 1}`);
      i++;
    } else {
      const c = text.indexOf(',', i);
      const end = c === -1 ? n : c;
      const value = text.slice(i, end);
      if (value.indexOf('"') !== -1)
        throw new Error(`quote inside an unquoted field at position ${i + value.indexOf('"') + 1}`);
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

/** The reference CSV parser, one line of text at a time (the fast byte reader shares its header, column indexes and pending record). */
export class CsvHistoryParser implements LineParser {
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
      if (text.length > 1 << 20)
        throw new HistoryFileError(this.file, startLine, 'malformed CSV: unterminated quoted field');
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
    if (this.pending !== null)
      throw new HistoryFileError(this.file, this.pendingLine, 'malformed CSV: unterminated quoted field');
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
      throw new HistoryFileError(
        this.file,
        line,
        `malformed CSV: expected ${header.length} fields as in the header, found ${f.length}`,
      );
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

    const { fraud, scenario, channel } = checkedLabels(
      { fraud: get('tx_fraud'), scenario: get('tx_fraud_scenario'), channel: get('channel') },
      CSV_WORDING,
      bad,
    );

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
      channel,
      device_id: opt('device_id', I.device),
      ip: opt('ip', I.ip),
      email_hash: opt('email_hash', I.email),
      country: opt('country', I.country),
      description: opt('description'),
    };
    return { event, fraud, scenario };
  }
}
