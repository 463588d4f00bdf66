/**
 * JSONL history: one AuthorizationEvent per line as the engine emits it (event_time in epoch ms
 * or as an ISO 8601 string, amount_minor in minor units), with the labels `tx_fraud` /
 * `tx_fraud_scenario` on the same object; blank lines are skipped. readJsonlBatches splits a
 * stream of bytes or strings into lines (UTF-8, CR stripped, BOM dropped) and parses them in
 * batches; JsonlHistoryParser turns one line into a record or an error naming the line and field.
 */
import type { Readable } from 'node:stream';
import type { AuthorizationEvent } from '../types.js';
import {
  BATCH,
  checkedLabels,
  DEFAULT_CURRENCY,
  HistoryFileError,
  type HistoryRecord,
  type LineParser,
} from './record.js';
import { parseDateTime } from './time-parse.js';

const JSONL_WORDING = {
  show: (v: unknown) => JSON.stringify(v),
  fraud: '0, 1, true, false or null',
  scenario: '',
};

/** The records of a JSONL stream in batches of at least BATCH (the last one smaller), in order. */
export async function* readJsonlBatches(
  input: Readable | AsyncIterable<string | Uint8Array>,
  name: string,
): AsyncGenerator<HistoryRecord[]> {
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

/** Lines of the input in chunks (no line terminators, CR stripped, BOM dropped). */
async function* readLines(
  input: Readable | AsyncIterable<string | Uint8Array>,
  name: string,
): AsyncGenerator<string[]> {
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

/** One JSON object per line → a record (blank lines: null). */
export class JsonlHistoryParser implements LineParser {
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
    if (typeof eventTime !== 'number' || !Number.isFinite(eventTime))
      bad('event_time', `expected epoch milliseconds, got ${JSON.stringify(r.event_time)}`);
    const customerId = id('customer_id', true)!;
    const terminalId = id('terminal_id', true)!;
    const amount = r.amount_minor;
    if (typeof amount !== 'number' || !Number.isInteger(amount))
      bad('amount_minor', `expected an integer (minor units), got ${JSON.stringify(amount)}`);
    const { fraud, scenario, channel } = checkedLabels(
      { fraud: r.tx_fraud, scenario: r.tx_fraud_scenario, channel: r.channel },
      JSONL_WORDING,
      bad,
    );

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
      channel,
      device_id: id('device_id', false),
      ip: id('ip', false),
      email_hash: id('email_hash', false),
      country: id('country', false),
      description: typeof r.description === 'string' ? r.description : null,
    };
    return { event, fraud, scenario };
  }
}
