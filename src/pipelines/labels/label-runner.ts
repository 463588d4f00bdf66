/**
 * The label pipeline: fraud verdicts from `fraud-labels` applied to the feature store,
 * one store round trip per fetched batch, committed after. Its own consumer group, so
 * each label is applied by one engine instance (the store is shared). Re-applying a label
 * is harmless (set semantics).
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Logger } from 'pino';
import type { LabelEvent } from '../../events/types.js';
import type { AvroCodecs } from '../../events/codec.js';
import type { FeatureStore } from '../../features/store.js';
import type { Metrics } from '../../observability/metrics.js';

export class KafkaLabelRunner {
  applied = 0;
  constructor(private readonly o: { consumer: Consumer; codecs: AvroCodecs; store: FeatureStore; topic: string; log: Logger; metrics: Metrics }) {}

  async start(): Promise<void> {
    await this.o.consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    // Resolved after the store took the labels; kafkajs commits per batch and on stop.
    await this.o.consumer.run({ autoCommit: true, autoCommitInterval: null, autoCommitThreshold: null, eachBatchAutoResolve: false, eachBatch: (p) => this.onBatch(p) });
  }

  async stop(): Promise<void> {
    await this.o.consumer.disconnect();
  }

  private async onBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    if (!batch.messages.length) return;
    const labels: LabelEvent[] = [];
    let bad = 0;
    for (const m of batch.messages) {
      try {
        const l = await this.o.codecs.decode<LabelEvent>(m.value);
        if (typeof l.auth_id === 'string' && typeof l.terminal_id === 'string' && typeof l.fraud === 'boolean') labels.push(l);
        else bad++;
      } catch {
        bad++;
      }
    }
    if (bad) this.o.log.warn({ topic: batch.topic, partition: batch.partition, bad }, 'undecodable labels skipped');
    await this.o.store.applyLabels(labels);
    for (const l of labels) this.o.metrics.labels.inc({ fraud: String(l.fraud) });
    this.applied += labels.length;
    const last = batch.messages[batch.messages.length - 1]!.offset;
    p.resolveOffset(last);
    await p.commitOffsetsIfNecessary();
  }
}
