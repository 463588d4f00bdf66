/**
 * Transport security against real listeners (security issue, item 6). Started here, on free
 * loopback ports, with throw-away certificates made by the stack's own script
 * (scripts/stack.d/certs.sh, into a temporary directory: the shared stack need not have been
 * restarted):
 *   - a private KRaft broker with a SASL_SSL listener, SCRAM-SHA-512, client certificates
 *     required (its controller and inter-broker listeners stay PLAINTEXT on loopback);
 *   - a private PostgreSQL with `ssl=on`, hostssl only, `clientcert=verify-full`;
 *   - a private redis-server serving TLS only, with AUTH.
 * The clients are the engine's own (createKafka, pgPool, redisFromConfig) built from a
 * configuration loaded by loadConfig, so the keys, the file reading and the checks are the
 * ones an operator uses. Last, the whole engine decides one authorization over these three;
 * only the schema registry is the shared stack's (plain HTTP on loopback).
 */
import type { Admin } from 'kafkajs';
import { rmSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, type EngineHandle } from '../../src/app/engine.js';
import { redisFromConfig } from '../../src/cli/clients.js';
import { loadConfig, type EngineConfig } from '../../src/config/config.js';
import type { AuthorizationEvent, Decision } from '../../src/events/types.js';
import { createKafka, IDEMPOTENT_PRODUCER } from '../../src/kafka/client.js';
import { pgPool } from '../../src/storage/pool.js';
import { codecsFor, testConfig, TopicReader, topicsOf } from '../helpers/engine.js';
import {
  makeCerts,
  PrivateKafka,
  PrivatePostgres,
  PrivateRedis,
  randomPassword,
  type TlsFiles,
} from '../helpers/private-services.js';
import { uniqueName } from '../helpers/stack.js';

let tls: TlsFiles;
let broker: PrivateKafka;
let postgres: PrivatePostgres;
let redis: PrivateRedis;
const scramPassword = randomPassword('scram');
const silent = pino({ level: 'silent' });
/** A client of the configuration making one attempt: a refusal is reported at once instead of after kafkajs's backoff. */
const once = (cfg: EngineConfig) =>
  createKafka(cfg.kafka, silent, '-tls-it', { retries: 0 }).admin({ retry: { retries: 0 } });

beforeAll(async () => {
  tls = makeCerts();
  // Each assigned as soon as it is up, so that afterAll stops it even if another failed.
  const started = await Promise.allSettled([
    PrivateKafka.start({ saslSsl: { tls, username: 'fraud', password: scramPassword, clientAuth: 'required' } }).then(
      (k) => {
        broker = k;
      },
    ),
    PrivatePostgres.start({ tls, clientCert: true }).then((p) => {
      postgres = p;
    }),
    PrivateRedis.start({ tls: true, appendonly: false }).then((r) => {
      redis = r;
    }),
  ]);
  for (const s of started) if (s.status === 'rejected') throw s.reason;
}, 120_000);

afterAll(async () => {
  await Promise.all([broker?.destroy(), postgres?.destroy(), redis?.destroy()]);
  if (tls) rmSync(tls.dir, { recursive: true, force: true });
}, 60_000);

/** The FRAUD_* environment of an engine using the three private services over TLS. */
function secureEnv(): Record<string, string> {
  return {
    FRAUD_KAFKA_BROKERS: broker.saslSslBrokers,
    FRAUD_KAFKA_SSL: 'true',
    FRAUD_KAFKA_SSL_CA_FILE: tls.ca,
    FRAUD_KAFKA_SSL_CERT_FILE: tls.clientCert,
    FRAUD_KAFKA_SSL_KEY_FILE: tls.clientKey,
    FRAUD_KAFKA_SASL_MECHANISM: 'scram-sha-512',
    FRAUD_KAFKA_SASL_USERNAME: 'fraud',
    FRAUD_KAFKA_SASL_PASSWORD: scramPassword,
    FRAUD_POSTGRES_URL: postgres.url,
    FRAUD_POSTGRES_SSL: 'true',
    FRAUD_POSTGRES_SSL_CA_FILE: tls.ca,
    FRAUD_POSTGRES_SSL_CERT_FILE: tls.clientCert,
    FRAUD_POSTGRES_SSL_KEY_FILE: tls.clientKey,
    FRAUD_REDIS_URL: redis.url,
    FRAUD_REDIS_PASSWORD: redis.password,
    FRAUD_REDIS_TLS_CA_FILE: redis.caFile,
  };
}
const secureConfig = (changes: Record<string, string> = {}): EngineConfig => testConfig({ ...secureEnv(), ...changes });

async function refusal(admin: Admin): Promise<string> {
  try {
    await admin.connect();
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return `${e.name}: ${e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}`;
  }
  await admin.disconnect();
  return 'connected';
}

describe('Kafka: SASL_SSL listener, SCRAM-SHA-512, client certificate required', () => {
  it('connects with the configured CA, client certificate and SCRAM credentials; produces and consumes', async () => {
    const cfg = secureConfig();
    expect(cfg.kafka).toMatchObject({ ssl: true, sasl_mechanism: 'scram-sha-512', ssl_reject_unauthorized: true });
    const kafka = createKafka(cfg.kafka, silent, '-tls-it');
    const topic = uniqueName('tls-probe');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer(IDEMPOTENT_PRODUCER);
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'over TLS' }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `${topic}-reader`, maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got = await new Promise<string>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          resolve(String(message.value));
        },
      });
    });
    await consumer.disconnect();
    expect(got).toBe('over TLS');
  }, 60_000);

  it('refuses a wrong password', async () => {
    const cfg = secureConfig({ FRAUD_KAFKA_SASL_PASSWORD: 'not-the-password' });
    expect(await refusal(once(cfg))).toMatch(/SASL SCRAM SHA512 authentication failed: .*invalid credentials/);
  });

  it("without the CA the broker's certificate is not trusted (rejectUnauthorized)", async () => {
    const cfg = secureConfig({ FRAUD_KAFKA_SSL_CA_FILE: '' });
    expect(await refusal(once(cfg))).toMatch(
      /unable to verify the first certificate|unable to get local issuer certificate/,
    );
  });

  it('without a client certificate the broker ends the handshake', async () => {
    const cfg = secureConfig({ FRAUD_KAFKA_SSL_CERT_FILE: '', FRAUD_KAFKA_SSL_KEY_FILE: '' });
    expect(await refusal(once(cfg))).toMatch(/alert bad certificate|certificate required|ECONNRESET/);
  });

  it('SASL without TLS is refused by the configuration before any connection', () => {
    expect(() =>
      loadConfig('config/default.yaml', {
        ...secureEnv(),
        FRAUD_KAFKA_SSL: 'false',
        FRAUD_KAFKA_SSL_CA_FILE: '',
        FRAUD_KAFKA_SSL_CERT_FILE: '',
        FRAUD_KAFKA_SSL_KEY_FILE: '',
      }),
    ).toThrow(/FRAUD_KAFKA_SASL_MECHANISM \(kafka.sasl_mechanism\): SASL scram-sha-512 without TLS/);
  });
});

describe('PostgreSQL: TLS required (hostssl, clientcert=verify-full)', () => {
  const query = async (cfg: EngineConfig, sql: string): Promise<Record<string, unknown>[]> => {
    const pool = pgPool(cfg.postgres, {
      applicationName: 'fraud-engine-tls-it',
      max: 1,
      connectionTimeoutMillis: 5_000,
    });
    try {
      return (await pool.query(sql)).rows as Record<string, unknown>[];
    } finally {
      await pool.end();
    }
  };
  const refused = (cfg: EngineConfig) =>
    query(cfg, 'SELECT 1').then(
      () => 'connected',
      (err: Error) => err.message,
    );

  it('the pool from the configuration runs over TLS, with the client certificate', async () => {
    const [row] = await query(
      secureConfig(),
      'SELECT ssl, version, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    expect(row).toMatchObject({
      ssl: true,
      version: expect.stringMatching(/^TLSv1\.[23]$/),
      client_dn: expect.stringContaining('CN=fraud'),
    });
  });

  it('without TLS pg_hba refuses the connection', async () => {
    const cfg = secureConfig({
      FRAUD_POSTGRES_SSL: 'false',
      FRAUD_POSTGRES_SSL_CA_FILE: '',
      FRAUD_POSTGRES_SSL_CERT_FILE: '',
      FRAUD_POSTGRES_SSL_KEY_FILE: '',
    });
    expect(await refused(cfg)).toMatch(/pg_hba\.conf rejects connection .*no encryption/);
  });

  it('without a client certificate, or without the CA, no connection', async () => {
    expect(await refused(secureConfig({ FRAUD_POSTGRES_SSL_CERT_FILE: '', FRAUD_POSTGRES_SSL_KEY_FILE: '' }))).toMatch(
      /certificate/,
    );
    expect(await refused(secureConfig({ FRAUD_POSTGRES_SSL_CA_FILE: '' }))).toMatch(
      /self[- ]signed certificate|unable to (get local issuer|verify)/,
    );
  });
});

describe('Redis: TLS with a private CA (redis.tls_ca_file)', () => {
  it("the engine's client answers PING with the CA file; without it the certificate is refused", async () => {
    const ok = redisFromConfig(secureConfig().redis);
    try {
      await ok.connect();
      expect(await ok.ping()).toBe('PONG');
    } finally {
      ok.disconnect();
    }
    const untrusting = redisFromConfig(secureConfig({ FRAUD_REDIS_TLS_CA_FILE: '' }).redis);
    const errors: string[] = []; // ioredis reports the TLS error as an event, then rejects connect() with "Connection is closed"
    untrusting.on('error', (err: Error) => errors.push(err.message));
    await expect(untrusting.connect()).rejects.toThrow();
    untrusting.disconnect();
    expect(errors.join('\n')).toMatch(/self[- ]signed certificate|unable to (get local issuer|verify)/);
  });
});

describe('the engine over TLS', () => {
  let engine: EngineHandle | null = null;
  let reader: TopicReader<Decision> | null = null;
  afterAll(async () => {
    await engine?.stop();
    await reader?.stop();
  }, 30_000);

  it('decides an authorization: Kafka SASL_SSL, Redis TLS, rules from PostgreSQL over TLS; the registry is the shared one', async () => {
    const cfg = secureConfig();
    const kafka = createKafka(cfg.kafka, silent, '-tls-it');
    const admin = kafka.admin();
    await admin.connect();
    const k = cfg.kafka;
    await admin.createTopics({
      waitForLeaders: true,
      topics: topicsOf(cfg).map((topic) => ({ topic, numPartitions: 1 })),
    });
    await admin.disconnect();
    const codecs = await codecsFor(cfg);
    engine = await startEngine(cfg);
    reader = await new TopicReader<Decision>(kafka, k.topic_decisions, (b) => codecs.decodeDecision(b)).start();

    const event: AuthorizationEvent = {
      auth_id: uniqueName('tls'),
      event_time: Date.now(),
      card_token: 'tok_tls',
      customer_id: 'c-tls',
      terminal_id: 't-tls',
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
    const producer = kafka.producer(IDEMPOTENT_PRODUCER);
    await producer.connect();
    await producer.send({
      topic: k.topic_authorizations,
      acks: -1,
      messages: [{ key: event.card_token, value: codecs.encodeAuthorization(event) }],
    });
    await producer.disconnect();
    await reader.waitFor((items) => items.some((d) => d.value.auth_id === event.auth_id), 30_000);
    const decision = reader.items.find((d) => d.value.auth_id === event.auth_id)!.value;
    expect(['APPROVE', 'REVIEW', 'DECLINE']).toContain(decision.outcome);
    expect(decision.degraded).toEqual([]); // features from Redis over TLS, model and rules in time

    // Every connection the engine holds to PostgreSQL (rules pool, LISTEN) is encrypted.
    const pool = pgPool(cfg.postgres, {
      applicationName: 'fraud-engine-tls-it',
      max: 1,
      connectionTimeoutMillis: 5_000,
    });
    const rows = await pool
      .query(
        `SELECT a.application_name, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.application_name LIKE 'fraud-engine-rules%'`,
      )
      .then((r) => r.rows as { application_name: string; ssl: boolean }[])
      .finally(() => pool.end());
    expect(rows.map((r) => r.application_name)).toContain('fraud-engine-rules-listen');
    expect(rows.every((r) => r.ssl)).toBe(true);
  }, 90_000);
});
