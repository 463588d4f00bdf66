/**
 * Proves each service of the local stack for real: Kafka (admin, consumer group,
 * idempotent producer, transactions with sendOffsets), the schema registry through
 * @kafkajs/confluent-schema-registry, Redis and PostgreSQL.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Redis } from 'ioredis';
import pg from 'pg';
import { stack, uniqueName } from '../helpers/stack.js';

const kafka = new Kafka({ clientId: 'smoke', brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING });

async function consumeN(topic: string, groupId: string, n: number): Promise<{ key: string; value: Buffer }[]> {
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: { key: string; value: Buffer }[] = [];
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`timed out with ${got.length}/${n} messages`)), 30_000);
    consumer
      .run({
        eachMessage: async ({ message }) => {
          got.push({ key: message.key!.toString(), value: message.value! });
          if (got.length >= n) {
            clearTimeout(timer);
            done();
          }
        },
      })
      .catch(fail);
  });
  await consumer.disconnect();
  return got;
}

describe('local stack', () => {
  let admin: Admin;
  const topic = uniqueName('smoke');
  const out = uniqueName('smoke-out');

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic, out] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates topics with the admin client', async () => {
    const created = await admin.createTopics({
      topics: [
        { topic, numPartitions: 3 },
        { topic: out, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
    expect(created).toBe(true);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]!.partitions).toHaveLength(3);
  });

  it('round-trips an Avro authorization through the registry and the broker (idempotent producer, consumer group)', async () => {
    const { username, password } = stack.schemaRegistryAuth;
    const registry = new SchemaRegistry({
      host: stack.schemaRegistryUrl,
      ...(username ? { auth: { username, password } } : {}),
    });
    const schema = readFileSync(resolve(import.meta.dirname, '../../config/schemas/authorization.avsc'), 'utf8');
    const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject: `${topic}-value` });
    expect(id).toBeGreaterThan(0);
    const event = {
      auth_id: 'a-1',
      event_time: Date.UTC(2026, 0, 1),
      card_token: 'tok_1',
      customer_id: 'c1',
      terminal_id: 't1',
      merchant_id: null,
      mcc: '5411',
      amount_minor: 1234,
      currency: 'EUR',
      channel: 'POS',
      device_id: null,
      ip: null,
      email_hash: null,
      country: 'FR',
      description: null,
    };
    const encoded = await registry.encode(id, event);
    expect(encoded[0]).toBe(0); // Confluent wire format: magic byte, then the schema id
    expect(encoded.readInt32BE(1)).toBe(id);

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'tok_1', value: encoded }] });
    await producer.disconnect();

    const [msg] = await consumeN(topic, uniqueName('g'), 1);
    expect(msg!.key).toBe('tok_1');
    expect(await registry.decode(msg!.value)).toEqual(event);
  });

  it('commits consumed offsets inside a transaction with sendOffsets', async () => {
    const groupId = uniqueName('tx-group');
    const producer = kafka.producer({ transactionalId: uniqueName('txid'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const txn = await producer.transaction();
    await txn.send({ topic: out, messages: [{ key: 'k', value: 'decided' }] });
    await txn.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic, partitions: [{ partition: 0, offset: '1' }] }],
    });
    await txn.commit();
    await producer.disconnect();

    // The committed offset becomes visible once the transaction markers are written.
    let committed = '-1';
    for (let i = 0; i < 50 && committed !== '1'; i++) {
      const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
      committed = offsets[0]!.partitions.find((p) => p.partition === 0)!.offset;
      if (committed !== '1') await new Promise((r) => setTimeout(r, 100));
    }
    expect(committed).toBe('1');
    const got = await consumeN(out, uniqueName('g'), 1);
    expect(got[0]!.value.toString()).toBe('decided');
  });

  it('answers on Redis', async () => {
    const redis = new Redis(stack.redisUrl, { lazyConnect: true });
    await redis.connect();
    const key = uniqueName('smoke');
    const res = await redis.pipeline().set(key, '42', 'EX', 60).incr(key).get(key).del(key).exec();
    expect(res!.map(([err, v]) => (err ? String(err) : v))).toEqual(['OK', 43, '43', 1]);
    await redis.quit();
  });

  it('answers on PostgreSQL', async () => {
    const client = new pg.Client({ connectionString: stack.postgresUrl });
    await client.connect();
    const { rows } = await client.query<{ n: number; db: string }>(
      'select $1::int + 1 as n, current_database() as db',
      [41],
    );
    expect(rows[0]).toEqual({ n: 42, db: 'fraud' });
    await client.end();
  });
});
