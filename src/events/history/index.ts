/**
 * The reader of past-transaction files used by every tool (replay, features, train, backtest):
 * CSV with the handbook's columns (Le Borgne et al., ch. 3.2) and optional richer ones, or JSONL
 * of AuthorizationEvents with the labels `tx_fraud` / `tx_fraud_scenario` on the same object.
 * This module is the folder's public surface: the read API and the choice of format; each
 * format lives in its own module (csv-stream → csv-fast → csv-reference for CSV, jsonl for JSONL).
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
import { CsvHistoryParser } from './csv-reference.js';
import { readCsvBatches } from './csv-stream.js';
import { JsonlHistoryParser, readJsonlBatches } from './jsonl.js';
import type { HistoryFormat, HistoryRecord } from './record.js';

export { HistoryFileError, type HistoryFormat, type HistoryRecord } from './record.js';
export { LABEL_CSV_COLUMNS, OPTIONAL_CSV_COLUMNS, REQUIRED_CSV_COLUMNS, parseCsvRecord } from './csv-reference.js';
export { parseDateTime } from './time-parse.js';

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
    yield* readCsvBatches(input, name);
    return;
  }
  yield* readJsonlBatches(input, name);
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
