/**
 * The decision pipeline embedded: past transactions and their delayed labels through the
 * same DecisionEngine as `run`. A label is applied when its time comes, as the label pipeline
 * would. Yields every decision with its feature vector and known outcome, in feed order.
 *
 * On the in-memory store (replay, backtests), each transaction's features are computed at its
 * place in the feed (labels applied in between), and the model, rules and policy then run over
 * batches of `batchSize` transactions: labels arrive between almost every two transactions of a
 * labelled history, so cutting the model's batches at each label (as a store with a round trip
 * must) would score one or two rows per run. Features depend on the feed's order only, the model
 * and rules on the vector only, so the decisions are the same. Any other store (Redis, in the
 * parity test) is driven as `run` drives it: transactions between two labels in one `enrich`.
 */
import type { AuthorizationEvent, Decision, LabelEvent } from '../../events/types.js';
import type { FeatureStore, FeatureVector } from '../../features/store.js';
import type { FeedItem } from '../../features/label-feed.js';
import { MemoryFeatureStore } from '../../features/memory-store.js';
import type { DecisionEngine } from '../decision/engine.js';

export interface ReplayedDecision {
  decision: Decision;
  vector: FeatureVector;
  event: AuthorizationEvent;
  fraud: boolean | null;
  scenario: number | null;
}

type TxItem = Extract<FeedItem, { kind: 'tx' }>;

/** replayBatches, one decision at a time. */
export async function* replayFeed(
  engine: DecisionEngine,
  store: FeatureStore,
  feed: Iterable<FeedItem>,
  batchSize = 500,
): AsyncGenerator<ReplayedDecision> {
  for await (const batch of replayBatches(engine, store, feed, batchSize)) yield* batch;
}

/** The decisions of the feed in order, a batch at a time (one promise per batch, not per decision). */
export function replayBatches(
  engine: DecisionEngine,
  store: FeatureStore,
  feed: Iterable<FeedItem>,
  batchSize = 500,
): AsyncGenerator<ReplayedDecision[]> {
  return store instanceof MemoryFeatureStore
    ? replayInMemory(engine, store, feed, batchSize)
    : replayThroughStore(engine, store, feed, batchSize);
}

function replayed(batch: readonly TxItem[], decisions: readonly Decision[], vectors: readonly FeatureVector[]) {
  const out: ReplayedDecision[] = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const b = batch[i]!;
    out[i] = { decision: decisions[i]!, vector: vectors[i]!, event: b.event, fraud: b.fraud, scenario: b.scenario };
  }
  return out;
}

async function* replayInMemory(
  engine: DecisionEngine,
  store: MemoryFeatureStore,
  feed: Iterable<FeedItem>,
  batchSize: number,
): AsyncGenerator<ReplayedDecision[]> {
  let txs: TxItem[] = [];
  let vectors: FeatureVector[] = [];
  async function decide(): Promise<ReplayedDecision[]> {
    const batch = txs;
    const served = vectors;
    txs = [];
    vectors = [];
    const { decisions } = await engine.decideEnriched(
      batch.map((b) => b.event),
      served,
    );
    return replayed(batch, decisions, served);
  }
  for (const item of feed) {
    if (item.kind === 'label') {
      store.applyLabelSync(item.label);
      continue;
    }
    let vector: FeatureVector;
    try {
      vector = store.enrichEventSync(item.event);
    } catch {
      // An event the store refuses (checkEvent) is decided as `run` decides it: alone, through
      // the engine's own feature stage, which degrades it. Nothing was recorded for it.
      if (txs.length) yield await decide();
      const { decisions, vectors: v } = await engine.decideBatch([item.event]);
      yield replayed([item], decisions, v);
      continue;
    }
    txs.push(item);
    vectors.push(vector);
    if (txs.length >= batchSize) yield await decide();
  }
  if (txs.length) yield await decide();
}

async function* replayThroughStore(
  engine: DecisionEngine,
  store: FeatureStore,
  feed: Iterable<FeedItem>,
  batchSize: number,
): AsyncGenerator<ReplayedDecision[]> {
  let txs: TxItem[] = [];
  let labels: LabelEvent[] = [];
  async function flush(): Promise<ReplayedDecision[]> {
    const batch = txs;
    txs = [];
    const { decisions, vectors } = await engine.decideBatch(batch.map((b) => b.event));
    return replayed(batch, decisions, vectors);
  }
  for (const item of feed) {
    if (item.kind === 'label') {
      if (txs.length) yield await flush();
      labels.push(item.label);
    } else {
      if (labels.length) {
        await store.applyLabels(labels);
        labels = [];
      }
      txs.push(item);
      if (txs.length >= batchSize) yield await flush();
    }
  }
  if (txs.length) yield await flush();
  if (labels.length) await store.applyLabels(labels);
}
