/**
 * One OffsetCommit for the partition batches of a fetch that finish together.
 *
 * kafkajs commits after every partition batch it hands out (autoCommit), each call sending every
 * offset resolved and not yet acknowledged; the decision runner finishes a fetch's partition
 * batches in the same turn (../pipelines/decision/coalescer.ts), so a fetch of k partitions sent
 * k OffsetCommit requests with the same offsets, which the broker handles one after the other
 * (one request at a time per connection) before the next fetch goes out. Here the offsets resolved
 * in one turn of the event loop go in one request; kafkajs's own commit after each batch then
 * finds nothing left to send.
 *
 * A failed commit is not thrown here: the offsets stay uncommitted, and kafkajs's commit after
 * the batch sends them again and fails as it did before this existed (a rebalance, the
 * coordinator moving), so recovery is kafkajs's, unchanged.
 */
import type { EachBatchPayload } from 'kafkajs';

type Committer = Pick<EachBatchPayload, 'commitOffsetsIfNecessary'>;

export class CommitBatcher {
  /** topic → partition → the next offset to read (last handled + 1). */
  private pending = new Map<string, Map<number, string>>();
  private flushing: Promise<void> | null = null;
  private committer: Committer | null = null;

  constructor(private readonly onError: (err: unknown) => void = () => undefined) {}

  /**
   * Commits `lastOffset` (the last handled message's) of the partition with the offsets resolved
   * in the same turn; resolves once that request is answered (or has failed: see above).
   */
  commit(p: Committer, topic: string, partition: number, lastOffset: string): Promise<void> {
    let parts = this.pending.get(topic);
    if (!parts) this.pending.set(topic, (parts = new Map()));
    parts.set(partition, (BigInt(lastOffset) + 1n).toString());
    // Any batch's payload commits for the whole consumer group member.
    this.committer = p;
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
    return this.flushing;
  }

  private async flush(): Promise<void> {
    const topics = [...this.pending].map(([topic, parts]) => ({
      topic,
      partitions: [...parts].map(([partition, offset]) => ({ partition, offset })),
    }));
    const committer = this.committer!;
    this.pending = new Map();
    this.flushing = null;
    try {
      await committer.commitOffsetsIfNecessary({ topics });
    } catch (err) {
      this.onError(err);
    }
  }
}
