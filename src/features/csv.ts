/**
 * The training data's CSV files. Feature vectors: a header `auth_id,<FEATURE_NAMES…>`, then one
 * row per transaction; a missing value is an empty cell, a value the shortest round-trip decimal;
 * written by `features`, `replay --features-out` and `train` (from a history file or from the
 * audit trail: ./audit-training.ts), byte for byte alike. Labels (what training/train.py reads
 * beside them): `auth_id,tx_datetime,tx_fraud`.
 */
import { driveFeatureStore, interleaveLabels, type FeedItem, type LabelledTx } from './label-feed.js';
import { MemoryFeatureStore } from './memory-store.js';
import { FEATURE_NAMES } from './names.js';
import type { FeatureStore, FeatureVector } from './store.js';

/** The header line, newline included. */
export const FEATURE_CSV_HEADER = `auth_id,${FEATURE_NAMES.join(',')}\n`;

/** A CSV cell of a feature value: empty for null, else the shortest round-trip decimal. */
export function formatValue(v: number | null | undefined): string {
  return v === null || v === undefined ? '' : String(v);
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row, newline included. */
export function featureCsvRow(authId: string, vector: FeatureVector): string {
  let line = csvField(authId);
  for (let i = 0; i < FEATURE_NAMES.length; i++) line += ',' + formatValue(vector[i]);
  return line + '\n';
}

/**
 * The feature CSV of a feed driven through a store (header included), handed to `write` in
 * chunks of about 64 KiB; resolves to the number of rows.
 */
export async function writeFeatureCsv(
  store: FeatureStore,
  feed: Iterable<FeedItem>,
  write: (text: string) => Promise<void>,
  opts: { batchSize?: number } = {},
): Promise<number> {
  await write(FEATURE_CSV_HEADER);
  let rows = 0;
  let chunk = '';
  for await (const r of driveFeatureStore(store, feed, opts)) {
    chunk += featureCsvRow(r.auth_id, r.vector);
    rows++;
    if (chunk.length >= 1 << 16) {
      await write(chunk);
      chunk = '';
    }
  }
  if (chunk) await write(chunk);
  return rows;
}

/** The labels file's header line, newline included. */
export const LABEL_CSV_HEADER = 'auth_id,tx_datetime,tx_fraud\n';

/**
 * One labels row (the transaction's ISO date-time, 0/1), newline included; the auth id quoted
 * as in the feature CSV, so the trainer joins the two files on the same text.
 */
export function labelCsvRow(authId: string, eventTime: number, fraud: boolean): string {
  return `${csvField(authId)},${new Date(eventTime).toISOString()},${fraud ? 1 : 0}\n`;
}

/** The labels file of the labelled transactions; resolves to the number of rows. */
export async function writeLabelCsv(
  records: Iterable<LabelledTx>,
  write: (text: string) => Promise<void>,
): Promise<number> {
  await write(LABEL_CSV_HEADER);
  let rows = 0;
  for (const r of records) {
    if (r.fraud === null) continue;
    await write(labelCsvRow(r.event.auth_id, r.event.event_time, r.fraud));
    rows++;
  }
  return rows;
}

/**
 * A model's training data: the vectors the engine would have served for `records` (in-memory
 * store, each label `delayDays` after its transaction) to `features`, their labels to `labels`,
 * each ended after.
 */
export async function writeTrainingCsv(
  records: readonly LabelledTx[],
  delayDays: number,
  features: { write(text: string): Promise<void>; close(): Promise<void> },
  labels: { write(text: string): Promise<void>; close(): Promise<void> },
): Promise<void> {
  await writeFeatureCsv(new MemoryFeatureStore(), interleaveLabels(records, delayDays), (text) => features.write(text));
  await features.close();
  await writeLabelCsv(records, (text) => labels.write(text));
  await labels.close();
}
