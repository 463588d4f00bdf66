/**
 * The label pipeline, a handler of the shared batch loop (src/kafka/batch-loop.ts): fraud
 * verdicts from `fraud-labels`, decoded (only the topic's own schema ids) and validated, applied
 * to the feature store in one round trip per chunk, committed after. Its own consumer group, so
 * each label is applied by one engine instance (the store is shared). Re-applying a label is
 * harmless (set semantics). A label that cannot be decoded or is invalid goes to the labels'
 * dead-letter topic with the reason.
 */
import type { Consumer, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { AvroCodecs } from '../../events/codec.js';
import { decodeLabelChunk } from '../../events/label-chunk.js';
import type { FeatureStore } from '../../features/store.js';
import type { Metrics } from '../../observability/metrics.js';
import { LoopRunner, reasonLabel, wiredLoop, type ChunkResult, type LoopChunk } from '../../kafka/batch-loop.js';
import { validateLabel } from './validate.js';

export interface LabelRunnerOptions {
  consumer: Consumer;
  producer: Producer;
  codecs: AvroCodecs;
  store: FeatureStore;
  topic: string;
  dlq: string;
  log: Logger;
  metrics: Metrics;
  maxMessageBytes: number;
  maxFutureMs?: number;
  onFatal?: (err: Error) => void;
}

export class KafkaLabelRunner extends LoopRunner {
  applied = 0;

  constructor(private readonly o: LabelRunnerOptions) {
    super({
      name: 'labels',
      ...wiredLoop(o, o.topic, o.dlq, o.maxMessageBytes),
      maxChunk: 1000,
      partitionsConsumedConcurrently: 1,
      handlerBudgetMs: 30_000,
      onDeadLetter: (reason) => o.metrics.dlq.inc({ reason: `label:${reasonLabel(reason)}` }),
    });
  }

  protected async handle(chunk: LoopChunk): Promise<ChunkResult> {
    const { labels, dead } = await decodeLabelChunk(chunk.messages, {
      codecs: this.o.codecs,
      maxMessageBytes: this.o.maxMessageBytes,
      validate: (l, now) => validateLabel(l, { now, maxFutureMs: this.o.maxFutureMs }),
    });
    await this.o.store.applyLabels(labels);
    for (const l of labels) this.o.metrics.labels.inc({ fraud: String(l.fraud) });
    this.applied += labels.length;
    return { dead };
  }
}
