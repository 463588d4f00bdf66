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
  opts: { batchSize?: number; header?: boolean } = {},
): Promise<number> {
  if (opts.header !== false) await write(FEATURE_CSV_HEADER);
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
  opts: { header?: boolean } = {},
): Promise<number> {
  if (opts.header !== false) await write(LABEL_CSV_HEADER);
  let rows = 0;
  for (const r of records) {
    if (r.fraud === null) continue;
    await write(labelCsvRow(r.event.auth_id, r.event.event_time, r.fraud));
    rows++;
  }
  return rows;
}

/**
 * A cold start for training (`train --cold-starts`): the transactions of [from, to) replayed
 * from an empty store, i.e. the vectors a new deployment serves while its windows fill up.
 */
export interface ColdStart {
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
}

/**
 * The id of a transaction's row in a cold start: the same transaction appears once warm and
 * once per cold start, and the trainer keeps one row per id.
 */
export function coldStartId(authId: string, c: ColdStart): string {
  return `${authId}@cold-${new Date(c.from).toISOString().slice(0, 10)}`;
}

/**
 * A model's training data: the vectors the engine would have served for `records` (in-memory
 * store, each label `delayDays` after its transaction) to `features`, their labels to `labels`,
 * each ended after; then, for each cold start, the vectors of its transactions replayed from an
 * empty store (ids from coldStartId), with their labels. Resolves to the rows of each cold start.
 */
export async function writeTrainingCsv(
  records: readonly LabelledTx[],
  delayDays: number,
  features: { write(text: string): Promise<void>; close(): Promise<void> },
  labels: { write(text: string): Promise<void>; close(): Promise<void> },
  coldStarts: readonly ColdStart[] = [],
): Promise<number[]> {
  const parts = coldStarts.map((c) =>
    records
      .filter((r) => r.event.event_time >= c.from && r.event.event_time < c.to)
      .map((r): LabelledTx => ({ ...r, event: { ...r.event, auth_id: coldStartId(r.event.auth_id, c) } })),
  );
  const write = (text: string) => features.write(text);
  await writeFeatureCsv(new MemoryFeatureStore(), interleaveLabels(records, delayDays), write);
  for (const part of parts)
    await writeFeatureCsv(new MemoryFeatureStore(), interleaveLabels(part, delayDays), write, { header: false });
  await features.close();
  await writeLabelCsv(records, (text) => labels.write(text));
  for (const part of parts) await writeLabelCsv(part, (text) => labels.write(text), { header: false });
  await labels.close();
  return parts.map((p) => p.length);
}
