/**
 * The decision pipeline embedded: past transactions and their delayed labels through the
 * same DecisionEngine as `run`, on an in-memory feature store. Transactions between two
 * labels are decided in batches; a label is applied when its time comes, as the label
 * pipeline would. Yields every decision with its feature vector and known outcome.
 */
import type { AuthorizationEvent, Decision, LabelEvent } from '../../events/types.js';
import type { FeatureStore, FeatureVector } from '../../features/store.js';
import type { FeedItem } from '../../features/label-feed.js';
import type { DecisionEngine } from '../decision/engine.js';

export interface ReplayedDecision {
  decision: Decision;
  vector: FeatureVector;
  event: AuthorizationEvent;
  fraud: boolean | null;
  scenario: number | null;
}

export async function* replayFeed(
  engine: DecisionEngine,
  store: FeatureStore,
  feed: Iterable<FeedItem>,
  batchSize = 500,
): AsyncGenerator<ReplayedDecision> {
  let txs: Extract<FeedItem, { kind: 'tx' }>[] = [];
  let labels: LabelEvent[] = [];
  async function* flush(): AsyncGenerator<ReplayedDecision> {
    if (!txs.length) return;
    const batch = txs;
    txs = [];
    const { decisions, vectors } = await engine.decideBatch(batch.map((b) => b.event));
    for (let i = 0; i < batch.length; i++) {
      yield {
        decision: decisions[i]!,
        vector: vectors[i]!,
        event: batch[i]!.event,
        fraud: batch[i]!.fraud,
        scenario: batch[i]!.scenario,
      };
    }
  }
  for (const item of feed) {
    if (item.kind === 'label') {
      yield* flush();
      labels.push(item.label);
    } else {
      if (labels.length) {
        await store.applyLabels(labels);
        labels = [];
      }
      txs.push(item);
      if (txs.length >= batchSize) yield* flush();
    }
  }
  yield* flush();
  if (labels.length) await store.applyLabels(labels);
}
