/**
 * Past transactions with their known outcome → the stream a live engine would have seen:
 * authorizations at their event_time, and each outcome arriving as a label `delayDays` later.
 * Used by `features`, `replay` and the store parity test, so that every offline run applies
 * labels exactly as the online label pipeline would (point-in-time correct).
 */
import type { AuthorizationEvent, LabelEvent } from '../events/types.js';
import { DAY_MS } from '../events/time.js';
import type { FeatureStore, FeatureVector } from './store.js';

/** A past transaction (structurally a HistoryRecord of src/events/history/). */
export interface LabelledTx {
  event: AuthorizationEvent;
  /** Known outcome; null = unknown (no label is emitted). */
  fraud: boolean | null;
  scenario: number | null;
}

export type FeedItem =
  | { kind: 'tx'; event: AuthorizationEvent; fraud: boolean | null; scenario: number | null }
  | { kind: 'label'; label: LabelEvent };

export const LABEL_SOURCE = 'history';

/** The label of a transaction with a known outcome, known `delayMs` after it. */
export function labelOf(r: LabelledTx, delayMs: number): LabelEvent | null {
  if (r.fraud === null) return null;
  const e = r.event;
  return {
    auth_id: e.auth_id,
    card_token: e.card_token,
    customer_id: e.customer_id,
    terminal_id: e.terminal_id,
    tx_time: e.event_time,
    label_time: e.event_time + delayMs,
    fraud: r.fraud,
    source: LABEL_SOURCE,
  };
}

/**
 * Time-ordered sequence of transactions and their labels (label_time = tx_time + delay).
 * Order: by time; at equal times labels come before transactions (a label known at t is seen
 * by a transaction at t); otherwise the input order is kept (stable), labels among themselves in
 * the order of their transactions.
 */
export function interleaveLabels(records: readonly LabelledTx[], delayDays = 7): FeedItem[] {
  if (!(delayDays >= 0) || !Number.isFinite(delayDays))
    throw new Error(`label delay must be a number of days >= 0, got ${delayDays}`);
  const delayMs = Math.round(delayDays * DAY_MS);
  if (inTimeOrder(records)) return mergeLabels(records, delayMs);
  type Keyed = { time: number; rank: 0 | 1; seq: number; item: FeedItem };
  const keyed: Keyed[] = [];
  records.forEach((r, i) => {
    keyed.push({
      time: r.event.event_time,
      rank: 1,
      seq: i,
      item: { kind: 'tx', event: r.event, fraud: r.fraud, scenario: r.scenario },
    });
    const label = labelOf(r, delayMs);
    if (label) keyed.push({ time: label.label_time, rank: 0, seq: i, item: { kind: 'label', label } });
  });
  keyed.sort((a, b) => a.time - b.time || a.rank - b.rank || a.seq - b.seq);
  return keyed.map((k) => k.item);
}

function inTimeOrder(records: readonly LabelledTx[]): boolean {
  for (let i = 1; i < records.length; i++)
    if (records[i]!.event.event_time < records[i - 1]!.event.event_time) return false;
  return true;
}

/**
 * interleaveLabels of records already in time order (history files and the simulator are):
 * the labels are then in time order too (a constant delay), and merging the two sequences,
 * a label first at equal times, gives the sort's order in linear time, without its keys.
 */
function mergeLabels(records: readonly LabelledTx[], delayMs: number): FeedItem[] {
  const out: FeedItem[] = [];
  let next = 0; // the next record whose label is still to place
  const placeLabelsUpTo = (time: number): void => {
    for (; next < records.length; next++) {
      const r = records[next]!;
      if (r.event.event_time + delayMs > time) return;
      const label = labelOf(r, delayMs);
      if (label) out.push({ kind: 'label', label });
    }
  };
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    placeLabelsUpTo(r.event.event_time);
    out.push({ kind: 'tx', event: r.event, fraud: r.fraud, scenario: r.scenario });
  }
  placeLabelsUpTo(Infinity);
  return out;
}

export interface EnrichedTx {
  auth_id: string;
  vector: FeatureVector;
  event: AuthorizationEvent;
  fraud: boolean | null;
  scenario: number | null;
}

export interface DriveOptions {
  /** Most transactions per `enrich` call (default 500). */
  batchSize?: number;
  /** Called after each enrich with the batch size and the time it took (ms). */
  onBatch?: (size: number, ms: number) => void;
}

/**
 * Drives a feature store over a feed: consecutive transactions are enriched in batches of up to
 * `batchSize`; a label flushes the pending batch first, then consecutive labels are applied in
 * one call, in order. Yields each transaction's vector in feed order.
 */
export async function* driveFeatureStore(
  store: FeatureStore,
  feed: Iterable<FeedItem> | AsyncIterable<FeedItem>,
  opts: DriveOptions = {},
): AsyncGenerator<EnrichedTx> {
  const batchSize = opts.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batch size must be an integer >= 1, got ${batchSize}`);
  let txs: Extract<FeedItem, { kind: 'tx' }>[] = [];
  let labels: LabelEvent[] = [];

  async function* flushTx(): AsyncGenerator<EnrichedTx> {
    if (txs.length === 0) return;
    const batch = txs;
    txs = [];
    const t0 = performance.now();
    const vectors = await store.enrich(batch.map((b) => b.event));
    opts.onBatch?.(batch.length, performance.now() - t0);
    for (let i = 0; i < batch.length; i++) {
      const b = batch[i]!;
      yield { auth_id: b.event.auth_id, vector: vectors[i]!, event: b.event, fraud: b.fraud, scenario: b.scenario };
    }
  }
  async function flushLabels(): Promise<void> {
    if (labels.length === 0) return;
    const batch = labels;
    labels = [];
    await store.applyLabels(batch);
  }

  for await (const item of feed) {
    if (item.kind === 'label') {
      yield* flushTx();
      labels.push(item.label);
    } else {
      await flushLabels();
      txs.push(item);
      if (txs.length >= batchSize) yield* flushTx();
    }
  }
  yield* flushTx();
  await flushLabels();
}

/** Collects driveFeatureStore into an array. */
export async function enrichFeed(
  store: FeatureStore,
  feed: Iterable<FeedItem>,
  opts: DriveOptions = {},
): Promise<EnrichedTx[]> {
  const out: EnrichedTx[] = [];
  for await (const r of driveFeatureStore(store, feed, opts)) out.push(r);
  return out;
}
