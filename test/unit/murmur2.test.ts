import { createRequire } from 'node:module';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { murmur2 } from '../../src/kafka/murmur2.js';
import { NotingPartitioner } from '../../src/kafka/complete-send.js';

// kafkajs's own murmur2 (Long arithmetic), the reference the partitions must match.
const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: string | Buffer,
) => number;

/** Deterministic keys of every length 0..40: ASCII tokens, non-ASCII text, raw bytes. */
function keys(): (string | Buffer)[] {
  let x = 12345;
  const rnd = (n: number) => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n;
  const out: (string | Buffer)[] = [];
  for (let len = 0; len <= 40; len++)
    for (let r = 0; r < 20; r++) {
      out.push(Array.from({ length: len }, () => String.fromCharCode(33 + rnd(94))).join(''));
      out.push(
        Array.from({ length: len }, () => String.fromCharCode(rnd(3) ? 97 + rnd(26) : 0xe0 + rnd(400))).join(''),
      );
      out.push(Buffer.from(Array.from({ length: len }, () => rnd(256))));
    }
  return out;
}

const metadata = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
  }));

describe('murmur2', () => {
  it("equals kafkajs's (Java's) murmur2 on ASCII, non-ASCII and binary keys of every length to 40", () => {
    const all = keys();
    expect(all.length).toBe(41 * 60);
    for (const k of all) expect(murmur2(k)).toBe(kafkajsMurmur2(k));
  });

  it('gives the Java client its known value', () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2: "21" -> -973932308
    expect(murmur2('21')).toBe(-973932308);
  });

  it("puts every message on the partition kafkajs's DefaultPartitioner picks", () => {
    const ours = NotingPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (const n of [1, 3, 6, 7])
      for (const key of keys()) {
        const args = { topic: 't', partitionMetadata: metadata(n), message: { key, value: 'v' } };
        expect(ours(args)).toBe(theirs(args));
      }
    const given = { topic: 't', partitionMetadata: metadata(6), message: { key: 'k', value: 'v', partition: 4 } };
    expect(ours(given)).toBe(4);
  });
});
