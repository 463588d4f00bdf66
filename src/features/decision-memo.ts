/**
 * Decision memo: the encoded decision of each auth id, with a hash of the payload it was made
 * on, kept for a while so that an event redelivered after a crash or a rebalance gets
 * byte-identical output. Recomputing is not enough: another partition may have added events to
 * a shared terminal or customer in the meantime. The hash tells a redelivery (same payload)
 * from a reused auth id (another card or amount under an id already decided): the latter is
 * refused (`auth_id_reused`) instead of being answered with someone else's decision.
 * Bounded by a TTL a little longer than a redelivery can take (session timeout, restart); best
 * effort: if Redis is away, the decision is recomputed. The Redis implementation is
 * ./redis/decision-memo.ts; the one here, in memory, serves replay and tests.
 */
import { createHash } from 'node:crypto';

export interface MemoEntry {
  /** payloadHash() of the event the decision was made on. */
  hash: Buffer;
  /**
   * The decision as ./decision-memo-codec.ts packs it: compact (rebuilt with the redelivered
   * event), or the encoded decision itself.
   */
  value: Buffer;
}

export interface DecisionMemo {
  recall(authIds: readonly string[]): Promise<(MemoEntry | null)[]>;
  remember(entries: readonly ({ authId: string } & MemoEntry)[]): Promise<void>;
}

const HASH_BYTES = 16;
/**
 * First byte of a stored entry. 2: the value is packed (./decision-memo-codec.ts); 1 (before
 * it): the value is the encoded decision, which is also a packed value, so both are read. An
 * engine of format 1 ignores format 2 (recomputes), never emits a packed value as a decision.
 * The entries of the very first format (a bare decision) start with 0 and are ignored.
 */
const FORMAT = 2;
const READABLE = new Set([1, 2]);

/** A hash of an event's Avro body (the wire-format header, which names the schema id, left out). */
export function payloadHash(wire: Buffer): Buffer {
  return createHash('sha256').update(wire.subarray(5)).digest().subarray(0, HASH_BYTES);
}

export function encodeEntry(e: MemoEntry): Buffer {
  return Buffer.concat([Buffer.from([FORMAT]), e.hash, e.value]);
}

export function decodeEntry(b: Buffer | null): MemoEntry | null {
  if (!b || b.length <= 1 + HASH_BYTES || !READABLE.has(b[0]!)) return null;
  return { hash: b.subarray(1, 1 + HASH_BYTES), value: b.subarray(1 + HASH_BYTES) };
}

/** The same contract in memory (replay, tests), with the same TTL semantics. */
export class MemoryDecisionMemo implements DecisionMemo {
  private readonly entries = new Map<string, { entry: MemoEntry; until: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async recall(authIds: readonly string[]): Promise<(MemoEntry | null)[]> {
    const t = this.now();
    return authIds.map((id) => {
      const e = this.entries.get(id);
      return e && e.until > t ? e.entry : null;
    });
  }

  async remember(entries: readonly ({ authId: string } & MemoEntry)[]): Promise<void> {
    const t = this.now();
    for (const e of entries) {
      const old = this.entries.get(e.authId);
      if (!old || old.until <= t)
        this.entries.set(e.authId, { entry: { hash: e.hash, value: e.value }, until: t + this.ttlMs });
    }
  }
}
