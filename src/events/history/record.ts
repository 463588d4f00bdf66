/**
 * What every history parser produces and agrees on: the record (an AuthorizationEvent with its
 * known outcome), the error that names the file, line and column, and the meaning of the label,
 * scenario and channel values and of a missing currency. The reference CSV parser, the fast
 * byte reader and the JSONL parser all import these, so that a value means the same thing
 * whichever path reads it.
 */
import { CHANNELS, type AuthorizationEvent, type Channel } from '../types.js';

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

/** A parser fed one line of text at a time (line numbers from 1); end() reports what is left unfinished. */
export interface LineParser {
  line(text: string, lineNo: number): HistoryRecord | null;
  end(): void;
}

/** Records per yielded batch (the readers yield once a batch holds at least this many). */
export const BATCH = 8192;

export const DEFAULT_CURRENCY = 'EUR';

export function parseFraud(v: string | number | boolean | null | undefined): boolean | null | undefined {
  if (v === null || v === undefined || v === '') return null;
  if (v === true || v === 1 || v === '1' || v === 'true' || v === 'True' || v === 'TRUE' || v === '1.0') return true;
  if (v === false || v === 0 || v === '0' || v === 'false' || v === 'False' || v === 'FALSE' || v === '0.0')
    return false;
  return undefined;
}

export function parseScenario(v: string | number | null | undefined): number | null | undefined {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

export function parseChannel(v: string | null | undefined): Channel | undefined {
  if (v === null || v === undefined || v === '') return 'UNKNOWN';
  const up = v.toUpperCase() as Channel;
  return CHANNELS.includes(up) ? up : undefined;
}

/** How a format words the label values it accepts, and how it quotes a raw value, in its errors. */
export interface LabelWording {
  show: (v: unknown) => string;
  /** What a label may be, e.g. `0, 1 or empty`. */
  fraud: string;
  /** Appended to the error of a bad scenario, e.g. ` (expected an integer >= 0 or empty)`. */
  scenario: string;
}

/**
 * The label, scenario and channel of one line, checked the same way for every format; `bad`
 * throws the format's error naming the field. A channel that is neither text nor absent is invalid.
 */
export function checkedLabels(
  raw: { fraud: unknown; scenario: unknown; channel: unknown },
  say: LabelWording,
  bad: (field: string, what: string) => never,
): Pick<HistoryRecord, 'fraud' | 'scenario'> & { channel: Channel } {
  const fraud = parseFraud(raw.fraud as never);
  if (fraud === undefined) bad('tx_fraud', `invalid label ${say.show(raw.fraud)} (expected ${say.fraud})`);
  const scenario = parseScenario(raw.scenario as never);
  if (scenario === undefined) bad('tx_fraud_scenario', `invalid scenario ${say.show(raw.scenario)}${say.scenario}`);
  const c = raw.channel;
  const channel = c === undefined || c === null || typeof c === 'string' ? parseChannel(c) : undefined;
  if (channel === undefined) bad('channel', `invalid channel ${say.show(c)} (expected one of ${CHANNELS.join(', ')})`);
  return { fraud: fraud!, scenario: scenario!, channel: channel! };
}
