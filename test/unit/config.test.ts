import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, kafkaTlsOptions, loadConfig, postgresTlsOptions } from '../../src/config/config.js';
import { createKafka } from '../../src/kafka/client.js';
import { redisFromConfig } from '../../src/cli/clients.js';
import { validateAuthorization } from '../../src/pipelines/decision/validate.js';
import { maskPans } from '../../src/security/pan.js';
import type { AuthorizationEvent } from '../../src/events/types.js';
import { DAY_MS } from '../../src/events/time.js';

function tmpConfig(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'c.yaml');
  writeFileSync(f, text);
  return f;
}

describe('configuration', () => {
  it('loads the shipped defaults and applies FRAUD_<SECTION>_<KEY> overrides', () => {
    const cfg = loadConfig('config/default.yaml', { FRAUD_KAFKA_BROKERS: 'a:1, b:2', FRAUD_ENGINE_MAX_BATCH: '250' });
    expect(cfg.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(cfg.engine.max_batch).toBe(250);
    expect(cfg.kafka.topic_authorizations).toBe('authorizations');
  });

  it('names the bad key', () => {
    expect(() => loadConfig('config/default.yaml', { FRAUD_ENGINE_MAX_BATCH: 'lots' })).toThrow(
      new ConfigError('FRAUD_ENGINE_MAX_BATCH (engine.max_batch)', "expected a non-negative integer, got 'lots'"),
    );
    expect(() => loadConfig('config/default.yaml', { FRAUD_KAFKA_SASL_MECHANISM: 'kerberos' })).toThrow(
      /kafka.sasl_mechanism\): 'kerberos' is not one of/,
    );
    const typo = tmpConfig('kafka:\n  brokerz: x\n');
    expect(() => loadConfig(typo, {})).toThrow(/invalid configuration: kafka.brokerz: unknown key/);
    const missing = tmpConfig('kafka:\n  brokers: x\n');
    expect(() => loadConfig(missing, {})).toThrow(/kafka.client_id: missing/);
  });
});

describe('Redis Cluster configuration', () => {
  it('is a single node by default and a Cluster of redis.cluster_nodes when set', async () => {
    const single = loadConfig('config/default.yaml', {});
    expect(single.redis.cluster_nodes).toEqual([]);
    const one = redisFromConfig(single.redis);
    expect((one as { isCluster?: boolean }).isCluster).not.toBe(true);
    one.disconnect();

    const cfg = loadConfig('config/default.yaml', {
      FRAUD_REDIS_URL: 'rediss://app@127.0.0.1:6379',
      FRAUD_REDIS_PASSWORD: 's3cret',
      FRAUD_REDIS_CLUSTER_NODES: '127.0.0.1:7001, 127.0.0.1:7002',
    });
    expect(cfg.redis.cluster_nodes).toEqual(['127.0.0.1:7001', '127.0.0.1:7002']);
    const cluster = redisFromConfig(cfg.redis) as unknown as {
      isCluster: boolean;
      startupNodes: { host: string; port: number }[];
      options: { enableOfflineQueue: boolean; redisOptions: { password?: string; username?: string; tls?: object } };
      disconnect(): void;
    };
    expect(cluster.isCluster).toBe(true);
    expect(cluster.startupNodes).toEqual([
      { host: '127.0.0.1', port: 7001 },
      { host: '127.0.0.1', port: 7002 },
    ]);
    // AUTH and TLS as for a single node, on every node; fail fast (no offline queue) as the decision path needs.
    expect(cluster.options.redisOptions.password).toBe('s3cret');
    expect(cluster.options.redisOptions.username).toBe('app');
    expect(cluster.options.redisOptions.tls).toBeDefined();
    expect(cluster.options.enableOfflineQueue).toBe(false);
    cluster.disconnect();
  });

  it('refuses a node that is not host:port, naming the key', () => {
    expect(() =>
      loadConfig('config/default.yaml', { FRAUD_REDIS_CLUSTER_NODES: '127.0.0.1:7001,redis://x:1' }),
    ).toThrow(/FRAUD_REDIS_CLUSTER_NODES \(redis.cluster_nodes\): expected host:port entries, got 'redis:\/\/x:1'/);
    expect(() => loadConfig('config/default.yaml', { FRAUD_REDIS_CLUSTER_NODES: 'host:99999' })).toThrow(
      /redis.cluster_nodes/,
    );
    expect(loadConfig('config/default.yaml', { FRAUD_REDIS_CLUSTER_NODES: '' }).redis.cluster_nodes).toEqual([]);
  });
});

describe('transport security settings', () => {
  const DEFAULTS = readFileSync('config/default.yaml', 'utf8');
  /** config/default.yaml with `key: value` set in `section`. */
  function withKey(section: string, key: string, value: string): string {
    const re = new RegExp(`^(${section}:\\n(?:  .*\\n|\\s*\\n)*?)  ${key}:.*$`, 'm');
    expect(re.test(DEFAULTS), `${section}.${key} in config/default.yaml`).toBe(true);
    return tmpConfig(DEFAULTS.replace(re, `$1  ${key}: ${value}`));
  }
  function failure(fn: () => unknown): string {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('no ConfigError');
  }

  let certs = '';
  beforeAll(() => {
    certs = mkdtempSync(join(tmpdir(), 'fe-certs-'));
    const r = spawnSync('bash', ['scripts/stack.d/certs.sh', certs], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return () => rmSync(certs, { recursive: true, force: true });
  });

  it('refuses SASL without TLS unless explicitly allowed', () => {
    for (const mech of ['plain', 'scram-sha-256', 'scram-sha-512']) {
      expect(failure(() => loadConfig('config/default.yaml', { FRAUD_KAFKA_SASL_MECHANISM: mech }))).toMatch(
        new RegExp(
          `FRAUD_KAFKA_SASL_MECHANISM \\(kafka.sasl_mechanism\\): SASL ${mech} without TLS .*kafka.allow_plaintext_sasl`,
        ),
      );
    }
    expect(failure(() => loadConfig(withKey('kafka', 'sasl_mechanism', 'plain'), {}))).toMatch(
      /^invalid configuration: kafka.sasl_mechanism: SASL plain without TLS \(kafka.ssl is false\) sends the password in clear text/,
    );
    expect(
      loadConfig('config/default.yaml', {
        FRAUD_KAFKA_SASL_MECHANISM: 'plain',
        FRAUD_KAFKA_ALLOW_PLAINTEXT_SASL: 'true',
      }).kafka.allow_plaintext_sasl,
    ).toBe(true);
    const tls = loadConfig('config/default.yaml', {
      FRAUD_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      FRAUD_KAFKA_SSL: 'true',
    });
    expect(kafkaTlsOptions(tls.kafka)).toEqual({ rejectUnauthorized: true }); // system CAs
    expect(loadConfig('config/default.yaml', {}).kafka).toMatchObject({
      ssl: false,
      ssl_reject_unauthorized: true,
      allow_plaintext_sasl: false,
    });
  });

  it('refuses a password in the YAML file, naming the key and the environment variable, never echoing the value', () => {
    const cases: [string, string, string, string][] = [
      ['kafka', 'sasl_password', 'hunter2-kafka', 'FRAUD_KAFKA_SASL_PASSWORD'],
      ['schema_registry', 'password', 'hunter2-registry', 'FRAUD_SCHEMA_REGISTRY_PASSWORD'],
      ['redis', 'password', 'hunter2-redis', 'FRAUD_REDIS_PASSWORD'],
      ['redis', 'url', 'redis://:hunter2-redisurl@cache:6379', 'FRAUD_REDIS_URL'],
      ['postgres', 'url', 'postgres://fraud:hunter2-pgurl@db:5432/fraud', 'FRAUD_POSTGRES_URL'],
      ['postgres', 'url', 'postgres://db:5432/fraud?user=fraud&password=hunter2-pgparam', 'FRAUD_POSTGRES_URL'],
      ['schema_registry', 'url', 'https://svc:hunter2-regurl@registry:8081', 'FRAUD_SCHEMA_REGISTRY_URL'],
    ];
    for (const [section, key, value, envName] of cases) {
      const file = withKey(section, key, JSON.stringify(value));
      const message = failure(() => loadConfig(file, {}));
      expect(message).toMatch(
        new RegExp(`^invalid configuration: ${section}.${key}: .* refused in the configuration file`),
      );
      expect(message).toContain(`set it in the environment as ${envName}`);
      expect(message).not.toContain('hunter2');
      // Refused even when the environment overrides it: the file itself must not hold it.
      expect(() =>
        loadConfig(file, { [envName]: key === 'url' ? value.replace(/:hunter2-[a-z]+@/, '@') : 'x' }),
      ).toThrow(ConfigError);
    }
    // From the environment: accepted. In the file without a password: accepted.
    const env = loadConfig('config/default.yaml', {
      FRAUD_KAFKA_SASL_PASSWORD: 'hunter2',
      FRAUD_REDIS_URL: 'redis://:hunter2@cache:6379',
      FRAUD_POSTGRES_URL: 'postgres://fraud:hunter2@db/fraud',
      FRAUD_SCHEMA_REGISTRY_PASSWORD: 'hunter2',
    });
    expect(env.kafka.sasl_password).toBe('hunter2');
    expect(loadConfig(withKey('postgres', 'url', 'postgres://fraud@db:5432/fraud'), {}).postgres.url).toBe(
      'postgres://fraud@db:5432/fraud',
    );
  });

  it('reads the CA and client certificate files, and names the key of a missing or bad one', () => {
    const env = {
      FRAUD_KAFKA_SSL: 'true',
      FRAUD_KAFKA_SSL_CA_FILE: join(certs, 'ca.pem'),
      FRAUD_KAFKA_SSL_CERT_FILE: join(certs, 'client.pem'),
      FRAUD_KAFKA_SSL_KEY_FILE: join(certs, 'client.key'),
      FRAUD_POSTGRES_SSL: 'true',
      FRAUD_POSTGRES_SSL_CA_FILE: join(certs, 'ca.pem'),
      FRAUD_POSTGRES_SSL_CERT_FILE: join(certs, 'client.pem'),
      FRAUD_POSTGRES_SSL_KEY_FILE: join(certs, 'client.key'),
    };
    const cfg = loadConfig('config/default.yaml', env);
    const k = kafkaTlsOptions(cfg.kafka)!;
    expect(k.rejectUnauthorized).toBe(true);
    expect(String((k.ca as Buffer[])[0])).toBe(readFileSync(join(certs, 'ca.pem'), 'utf8'));
    expect(String(k.cert)).toContain('BEGIN CERTIFICATE');
    expect(String(k.key)).toContain('BEGIN PRIVATE KEY');
    expect(postgresTlsOptions(cfg.postgres)).toMatchObject({ rejectUnauthorized: true, ca: [expect.any(Buffer)] });

    const missing = join(certs, 'nowhere', 'ca.pem');
    expect(failure(() => loadConfig('config/default.yaml', { ...env, FRAUD_KAFKA_SSL_CA_FILE: missing }))).toBe(
      `invalid configuration: FRAUD_KAFKA_SSL_CA_FILE (kafka.ssl_ca_file): cannot read '${missing}': ENOENT`,
    );
    expect(failure(() => loadConfig(withKey('postgres', 'ssl_ca_file', missing), { FRAUD_POSTGRES_SSL: 'true' }))).toBe(
      `invalid configuration: postgres.ssl_ca_file: cannot read '${missing}': ENOENT`,
    );
    expect(
      failure(() =>
        loadConfig('config/default.yaml', { FRAUD_REDIS_URL: 'rediss://cache:6380', FRAUD_REDIS_TLS_CA_FILE: missing }),
      ),
    ).toMatch(/FRAUD_REDIS_TLS_CA_FILE \(redis.tls_ca_file\): cannot read/);
    // A key where a certificate belongs (and the reverse): named, the file's content not quoted.
    expect(
      failure(() => loadConfig('config/default.yaml', { ...env, FRAUD_KAFKA_SSL_CA_FILE: join(certs, 'client.key') })),
    ).toBe(
      `invalid configuration: FRAUD_KAFKA_SSL_CA_FILE (kafka.ssl_ca_file): '${join(certs, 'client.key')}' is not a PEM certificate`,
    );
    expect(
      failure(() => loadConfig('config/default.yaml', { ...env, FRAUD_POSTGRES_SSL_KEY_FILE: join(certs, 'ca.pem') })),
    ).toMatch(/FRAUD_POSTGRES_SSL_KEY_FILE \(postgres.ssl_key_file\): '.*ca.pem' is not a PEM private key/);
    // A certificate without its key; TLS files with TLS off (they would be ignored).
    expect(failure(() => loadConfig('config/default.yaml', { ...env, FRAUD_KAFKA_SSL_KEY_FILE: '' }))).toMatch(
      /FRAUD_KAFKA_SSL_KEY_FILE \(kafka.ssl_key_file\): a client certificate needs both kafka.ssl_cert_file and kafka.ssl_key_file/,
    );
    expect(failure(() => loadConfig('config/default.yaml', { ...env, FRAUD_KAFKA_SSL: 'false' }))).toMatch(
      /FRAUD_KAFKA_SSL_CA_FILE \(kafka.ssl_ca_file\): set, but kafka.ssl is false/,
    );
    expect(
      failure(() => loadConfig('config/default.yaml', { FRAUD_REDIS_TLS_CA_FILE: join(certs, 'ca.pem') })),
    ).toMatch(/redis.tls_ca_file\): set, but redis.url is not a rediss:\/\/ \(TLS\) URL/);

    // A file gone after start-up: the client factory names the key too.
    const gone = mkdtempSync(join(tmpdir(), 'fe-certs-gone-'));
    writeFileSync(join(gone, 'ca.pem'), readFileSync(join(certs, 'ca.pem')));
    const later = loadConfig('config/default.yaml', {
      FRAUD_KAFKA_SSL: 'true',
      FRAUD_KAFKA_SSL_CA_FILE: join(gone, 'ca.pem'),
    });
    rmSync(gone, { recursive: true });
    expect(() => createKafka(later.kafka)).toThrow(/kafka.ssl_ca_file: cannot read .*ENOENT/);
  });

  it('every schema registry client in src/ and test/helpers/ is given the configured credentials', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => {
        const p = join(dir, f);
        return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
      });
    const calls: string[] = [];
    for (const file of [...files('src'), ...files('test/helpers')]) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/AvroCodecs\.create\(|new SchemaRegistry\(/g)) {
        // The call's text up to its closing parenthesis.
        let depth = 0,
          i = m.index + m[0].length - 1;
        for (; i < text.length; i++) {
          if (text[i] === '(') depth++;
          else if (text[i] === ')' && --depth === 0) break;
        }
        calls.push(`${file}: ${text.slice(m.index, i + 1).replace(/\s+/g, ' ')}`);
      }
    }
    // One home: the codecs are built from the configuration in src/cli/clients.ts only.
    expect(calls.filter((c) => c.includes('AvroCodecs.create(')).map((c) => c.split(':')[0])).toEqual([
      'src/cli/clients.ts',
    ]);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const call of calls) {
      if (call.includes('new SchemaRegistry(')) expect(call, call).toMatch(/auth:/);
      else expect(call, call).toMatch(/, (cfg\.schema_registry|registry)\)$/);
    }
  });
});

describe('authorization validation', () => {
  const ok: AuthorizationEvent = {
    auth_id: 'a1',
    event_time: Date.UTC(2026, 0, 1),
    card_token: 'tok_1',
    customer_id: 'c1',
    terminal_id: 't1',
    merchant_id: null,
    mcc: null,
    amount_minor: 100,
    currency: 'EUR',
    channel: 'POS',
    device_id: null,
    ip: null,
    email_hash: null,
    country: null,
    description: null,
  };
  it('accepts a valid event and names the first bad field', () => {
    expect(validateAuthorization(ok)).toBeNull();
    expect(validateAuthorization({ ...ok, auth_id: '' })).toBe('invalid_field:auth_id:empty');
    expect(validateAuthorization({ ...ok, amount_minor: -1 })).toBe('invalid_field:amount_minor:out_of_range');
    expect(validateAuthorization({ ...ok, currency: 'eur' })).toBe('invalid_field:currency:not_iso4217');
    expect(validateAuthorization({ ...ok, event_time: 5 })).toBe('invalid_field:event_time:out_of_range');
    expect(validateAuthorization({ ...ok, event_time: Date.now() + 3 * DAY_MS })).toBe('event_time_in_future');
    // The skew allowed for the gateway's clock: 5 minutes unless configured.
    const now = Date.UTC(2026, 11, 1);
    expect(validateAuthorization({ ...ok, event_time: now + 299_000 }, { now })).toBeNull();
    expect(validateAuthorization({ ...ok, event_time: now + 301_000 }, { now })).toBe('event_time_in_future');
    expect(validateAuthorization({ ...ok, event_time: now + 301_000 }, { now, maxFutureMs: 600_000 })).toBeNull();
    expect(validateAuthorization({ ...ok, description: 'x'.repeat(5000) })).toBe('invalid_field:description:too_long');
  });
  it('refuses a card number where a token belongs', () => {
    expect(validateAuthorization({ ...ok, card_token: '4111111111111111' })).toBe('pan_in_card_token');
  });
});

describe('PAN masking', () => {
  it('masks Luhn-valid card numbers, with or without separators, and leaves other digits', () => {
    expect(maskPans('card 4111 1111 1111 1111 declined')).toBe('card [PAN] declined');
    expect(maskPans('5500-0000-0000-0004')).toBe('[PAN]');
    expect(maskPans('order 1234567890123')).toBe('order 1234567890123'); // not Luhn-valid
    expect(maskPans('auth 42')).toBe('auth 42');
  });
});
