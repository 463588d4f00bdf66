import type { Offsets } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { CommitBatcher } from '../../src/kafka/commit-batcher.js';

/** A batch payload's committer that records each request (and fails while `failing`). */
function committer() {
  const calls: Offsets[] = [];
  let failing = false;
  return {
    calls,
    fail(on: boolean) {
      failing = on;
    },
    commitOffsetsIfNecessary: async (offsets?: Offsets) => {
      calls.push(offsets!);
      if (failing) throw new Error('rebalance in progress');
    },
  };
}

describe('CommitBatcher', () => {
  it('commits the partitions that finish in one turn in one request, at the next offset to read', async () => {
    const c = committer();
    const b = new CommitBatcher();
    await Promise.all([
      b.commit(c, 'auth', 0, '41'),
      b.commit(c, 'auth', 3, '9'),
      b.commit(c, 'other', 1, '99999999999999999'),
    ]);
    expect(c.calls).toEqual([
      {
        topics: [
          {
            topic: 'auth',
            partitions: [
              { partition: 0, offset: '42' },
              { partition: 3, offset: '10' },
            ],
          },
          { topic: 'other', partitions: [{ partition: 1, offset: '100000000000000000' }] },
        ],
      },
    ]);
  });

  it('keeps the last offset of a partition resolved twice in a turn, and sends a later turn apart', async () => {
    const c = committer();
    const b = new CommitBatcher();
    await Promise.all([b.commit(c, 'auth', 0, '5'), b.commit(c, 'auth', 0, '7')]);
    await b.commit(c, 'auth', 0, '8');
    expect(c.calls).toEqual([
      { topics: [{ topic: 'auth', partitions: [{ partition: 0, offset: '8' }] }] },
      { topics: [{ topic: 'auth', partitions: [{ partition: 0, offset: '9' }] }] },
    ]);
  });

  it("hands a failed commit to onError instead of throwing (kafkajs's own commit sends it again)", async () => {
    const c = committer();
    const errors: unknown[] = [];
    const b = new CommitBatcher((err) => errors.push(err));
    c.fail(true);
    await expect(b.commit(c, 'auth', 2, '0')).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
    c.fail(false);
    await b.commit(c, 'auth', 2, '1');
    expect(c.calls).toHaveLength(2);
    expect(errors).toHaveLength(1);
  });
});
