/**
 * Configuration: config/default.yaml (or --config FILE), then FRAUD_<SECTION>_<KEY>
 * environment overrides, validated at start-up. A bad value fails with the key's name.
 * Secrets come from the environment only: a password in the file is refused. The TLS
 * material the files name (CA, client certificate and key) is read and checked at start-up
 * too (./tls.ts), so that a bad file is named by its key.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from './errors.js';
import { secretInFile } from './secrets.js';
import { kafkaTlsOptions, postgresTlsOptions, redisTlsOptions } from './tls.js';

export { ConfigError } from './errors.js';
export { kafkaTlsOptions, postgresTlsOptions, redisTlsOptions } from './tls.js';

export interface EngineConfig {
  kafka: {
    brokers: string[];
    client_id: string;
    group_id: string;
    topic_authorizations: string;
    topic_decisions: string;
    topic_labels: string;
    topic_dlq: string;
    topic_labels_dlq: string;
    topic_audit_dlq: string;
    ssl: boolean;
    ssl_ca_file: string;
    ssl_cert_file: string;
    ssl_key_file: string;
    ssl_reject_unauthorized: boolean;
    sasl_mechanism: 'none' | 'plain' | 'scram-sha-256' | 'scram-sha-512';
    sasl_username: string;
    sasl_password: string;
    allow_plaintext_sasl: boolean;
    session_timeout_ms: number;
    max_bytes_per_partition: number;
    max_bytes: number;
    /** The engine's authorizations consumer: the broker answers a fetch once this many bytes are there... */
    fetch_min_bytes: number;
    /** ... or after this long (ms). */
    fetch_max_wait_ms: number;
  };
  schema_registry: { url: string; username: string; password: string };
  redis: {
    url: string;
    /** Redis Cluster seed nodes (host:port); empty: the single node of `url`. */
    cluster_nodes: string[];
    password: string;
    tls_ca_file: string;
    key_prefix: string;
    max_pending_commands: number;
    /** MiB of entity states cached in the process (src/features/redis/store.ts); 0: none. */
    state_cache_mb: number;
  };
  postgres: { url: string; ssl: boolean; ssl_ca_file: string; ssl_cert_file: string; ssl_key_file: string };
  engine: {
    max_batch: number;
    partitions_concurrently: number;
    batches_in_flight: number;
    max_message_bytes: number;
    redis_timeout_ms: number;
    model_timeout_ms: number;
    /**
     * Overload policy (src/pipelines/decision/overload.ts): awaited features of a batch are sized
     * so that the predicted Redis queue stays within this (ms, at most redis_timeout_ms); 0 = off.
     */
    overload_await_ms: number;
    /** ... and shed events are still recorded (not awaited) up to this predicted queue (ms). */
    overload_record_ms: number;
    decision_memo_ttl_ms: number;
    max_future_skew_ms: number;
    max_event_age_ms: number;
    http_port: number;
    http_host: string;
    log_level: string;
  };
  model: {
    path: string;
    /** A challenger model scored beside the champion, never deciding; empty = none. */
    challenger_path: string;
    /** Drift monitor (src/models/drift/monitor.ts): sampling, window, minimum sample, period. */
    drift_sample_every: number;
    drift_window_minutes: number;
    drift_min_samples: number;
    drift_interval_ms: number;
  };
  rules: {
    dir: string;
    poll_interval_ms: number;
    max_rule_cost: number;
    max_expression_length: number;
    max_list_literal: number;
    list_size_bound: number;
    batch_budget_ms: number;
    max_rule_us_per_event: number;
  };
  console: {
    http_host: string;
    http_port: number;
    session_ttl_minutes: number;
    secure_cookies: boolean;
    review_sla_minutes: number;
    claim_ttl_minutes: number;
    max_failed_logins: number;
    oidc_issuer: string;
    oidc_client_id: string;
    oidc_client_secret: string;
    public_url: string;
    history_file: string;
    backtest_max_days: number;
    engine_metrics_url: string;
  };
}

// posint: at least 1 (a batch of 0, a TTL of 0 would misbehave rather than fail). url: one
// of the schemes (empty allowed when optional); its value is never echoed, it may hold a password.
type Kind =
  | 'string'
  | 'int'
  | 'posint'
  | 'bool'
  | 'list'
  | 'hostports'
  | { oneOf: readonly string[] }
  | { url: readonly string[]; optional?: boolean };
const SCHEMA: { [S in keyof EngineConfig]: Record<keyof EngineConfig[S], Kind> } = {
  kafka: {
    brokers: 'list',
    client_id: 'string',
    group_id: 'string',
    topic_authorizations: 'string',
    topic_decisions: 'string',
    topic_labels: 'string',
    topic_dlq: 'string',
    topic_labels_dlq: 'string',
    topic_audit_dlq: 'string',
    ssl: 'bool',
    ssl_ca_file: 'string',
    ssl_cert_file: 'string',
    ssl_key_file: 'string',
    ssl_reject_unauthorized: 'bool',
    sasl_mechanism: { oneOf: ['none', 'plain', 'scram-sha-256', 'scram-sha-512'] },
    sasl_username: 'string',
    sasl_password: 'string',
    allow_plaintext_sasl: 'bool',
    session_timeout_ms: 'posint',
    max_bytes_per_partition: 'posint',
    max_bytes: 'posint',
    fetch_min_bytes: 'posint',
    fetch_max_wait_ms: 'posint',
  },
  schema_registry: { url: { url: ['http:', 'https:'] }, username: 'string', password: 'string' },
  redis: {
    url: { url: ['redis:', 'rediss:'] },
    cluster_nodes: 'hostports',
    password: 'string',
    tls_ca_file: 'string',
    key_prefix: 'string',
    max_pending_commands: 'int',
    state_cache_mb: 'int',
  },
  postgres: {
    url: { url: ['postgres:', 'postgresql:'], optional: true },
    ssl: 'bool',
    ssl_ca_file: 'string',
    ssl_cert_file: 'string',
    ssl_key_file: 'string',
  },
  engine: {
    max_batch: 'posint',
    partitions_concurrently: 'posint',
    batches_in_flight: 'posint',
    max_message_bytes: 'posint',
    redis_timeout_ms: 'int',
    model_timeout_ms: 'int',
    overload_await_ms: 'int',
    overload_record_ms: 'int',
    decision_memo_ttl_ms: 'posint',
    max_future_skew_ms: 'int',
    max_event_age_ms: 'int',
    http_port: 'int',
    http_host: 'string',
    log_level: { oneOf: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
  },
  model: {
    path: 'string',
    challenger_path: 'string',
    drift_sample_every: 'posint',
    drift_window_minutes: 'posint',
    drift_min_samples: 'int',
    drift_interval_ms: 'posint',
  },
  rules: {
    dir: 'string',
    poll_interval_ms: 'int',
    max_rule_cost: 'posint',
    max_expression_length: 'posint',
    max_list_literal: 'posint',
    list_size_bound: 'posint',
    batch_budget_ms: 'int',
    max_rule_us_per_event: 'int',
  },
  console: {
    http_host: 'string',
    http_port: 'int',
    session_ttl_minutes: 'posint',
    secure_cookies: 'bool',
    review_sla_minutes: 'posint',
    claim_ttl_minutes: 'posint',
    max_failed_logins: 'posint',
    oidc_issuer: { url: ['https:', 'http:'], optional: true },
    oidc_client_id: 'string',
    oidc_client_secret: 'string',
    public_url: { url: ['https:', 'http:'], optional: true },
    history_file: 'string',
    backtest_max_days: 'posint',
    engine_metrics_url: { url: ['https:', 'http:'], optional: true },
  },
};

function coerce(key: string, kind: Kind, raw: unknown): unknown {
  if (typeof kind === 'object' && 'url' in kind) {
    const s = raw === null || raw === undefined ? '' : String(raw).trim();
    if (s === '' && kind.optional) return '';
    let protocol = '';
    try {
      protocol = new URL(s).protocol;
    } catch {
      /* not a URL */
    }
    if (!kind.url.includes(protocol))
      throw new ConfigError(
        key,
        `expected a URL starting with ${kind.url.map((u) => `${u}//`).join(' or ')}${kind.optional ? ' (or empty)' : ''}`,
      );
    return s;
  }
  if (typeof kind === 'object') {
    const s = String(raw);
    if (!kind.oneOf.includes(s)) throw new ConfigError(key, `'${s}' is not one of ${kind.oneOf.join(', ')}`);
    return s;
  }
  switch (kind) {
    case 'string':
      if (raw === null || raw === undefined) return '';
      if (typeof raw === 'object') throw new ConfigError(key, 'expected a string');
      return String(raw);
    case 'int': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isInteger(n) || n < 0)
        throw new ConfigError(key, `expected a non-negative integer, got '${String(raw)}'`);
      return n;
    }
    case 'posint': {
      const n = coerce(key, 'int', raw) as number;
      if (n < 1) throw new ConfigError(key, `must be at least 1, got '${String(raw)}'`);
      return n;
    }
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (['true', '1', 'yes'].includes(String(raw).toLowerCase())) return true;
      if (['false', '0', 'no', ''].includes(String(raw).toLowerCase())) return false;
      throw new ConfigError(key, `expected true or false, got '${String(raw)}'`);
    case 'list': {
      const items = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
      const list = items.map((s) => s.trim()).filter(Boolean);
      if (list.length === 0) throw new ConfigError(key, 'expected at least one value');
      return list;
    }
    case 'hostports': {
      // May be empty (`[]`, '' in the environment); each entry host:port with a port of 1..65535.
      if (raw === null || raw === undefined) return [];
      const items = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
      const list = items.map((s) => s.trim()).filter(Boolean);
      for (const hp of list) {
        const m = /^(.+):(\d{1,5})$/.exec(hp);
        if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535 || /[/@\s]/.test(m[1]!))
          throw new ConfigError(key, `expected host:port entries, got '${hp}'`);
      }
      return list;
    }
  }
}

/** Loads and validates; `env` defaults to process.env. Unknown keys are errors (typos). */
export function loadConfig(file = 'config/default.yaml', env: NodeJS.ProcessEnv = process.env): EngineConfig {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(file, (err as Error).message);
  }
  if (!doc || typeof doc !== 'object') throw new ConfigError(file, 'expected a mapping of sections');
  const raw = doc as Record<string, Record<string, unknown> | null>;
  for (const section of Object.keys(raw)) {
    if (!(section in SCHEMA))
      throw new ConfigError(section, `unknown section (known: ${Object.keys(SCHEMA).join(', ')})`);
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, fields] of Object.entries(SCHEMA) as [string, Record<string, Kind>][]) {
    const given = raw[section] ?? {};
    if (typeof given !== 'object') throw new ConfigError(section, 'expected a mapping');
    for (const k of Object.keys(given)) {
      if (!(k in fields))
        throw new ConfigError(`${section}.${k}`, `unknown key (known: ${Object.keys(fields).join(', ')})`);
      const refused = secretInFile(section, k, (given as Record<string, unknown>)[k], file);
      if (refused) throw new ConfigError(`${section}.${k}`, refused);
    }
    const sec: Record<string, unknown> = {};
    for (const [k, kind] of Object.entries(fields)) {
      const envName = `FRAUD_${section}_${k}`.toUpperCase();
      const value = env[envName] ?? (given as Record<string, unknown>)[k];
      if (value === undefined) throw new ConfigError(`${section}.${k}`, 'missing');
      sec[k] = coerce(env[envName] !== undefined ? `${envName} (${section}.${k})` : `${section}.${k}`, kind, value);
    }
    out[section] = sec;
  }
  const cfg = out as unknown as EngineConfig;
  validate(cfg, (k) => {
    const envName = `FRAUD_${k.replace('.', '_')}`.toUpperCase();
    return env[envName] !== undefined ? `${envName} (${k})` : k;
  });
  return cfg;
}

/** Rules across keys; `name` gives a key as the user set it (the environment variable or the file's key). */
function validate(cfg: EngineConfig, name: (key: string) => string): void {
  const k = cfg.kafka;
  if (k.sasl_mechanism !== 'none' && !k.ssl && !k.allow_plaintext_sasl) {
    throw new ConfigError(
      name('kafka.sasl_mechanism'),
      `SASL ${k.sasl_mechanism} without TLS (kafka.ssl is false) sends ` +
        `${k.sasl_mechanism === 'plain' ? 'the password in clear text' : 'the session unencrypted'}; set kafka.ssl: true, ` +
        'or kafka.allow_plaintext_sasl: true to accept it knowingly',
    );
  }
  requireTls(name, 'kafka.ssl', k.ssl, {
    ca: ['kafka.ssl_ca_file', k.ssl_ca_file],
    cert: ['kafka.ssl_cert_file', k.ssl_cert_file],
    key: ['kafka.ssl_key_file', k.ssl_key_file],
  });
  const p = cfg.postgres;
  requireTls(name, 'postgres.ssl', p.ssl, {
    ca: ['postgres.ssl_ca_file', p.ssl_ca_file],
    cert: ['postgres.ssl_cert_file', p.ssl_cert_file],
    key: ['postgres.ssl_key_file', p.ssl_key_file],
  });
  if (cfg.redis.tls_ca_file && !cfg.redis.url.startsWith('rediss:')) {
    throw new ConfigError(name('redis.tls_ca_file'), 'set, but redis.url is not a rediss:// (TLS) URL');
  }
  const e = cfg.engine;
  if (e.overload_await_ms > 0) {
    if (e.redis_timeout_ms > 0 && e.overload_await_ms > e.redis_timeout_ms)
      throw new ConfigError(
        name('engine.overload_await_ms'),
        `${e.overload_await_ms} is over engine.redis_timeout_ms (${e.redis_timeout_ms}): awaited features would time out`,
      );
    // The guard counts a call unanswered for 4 budgets (at least 250 ms) as failed: recorded
    // work queued that long would open the circuit on load alone.
    const hung = Math.max(250, 4 * e.redis_timeout_ms);
    if (e.overload_record_ms < e.overload_await_ms || e.overload_record_ms >= hung)
      throw new ConfigError(
        name('engine.overload_record_ms'),
        `must be at least engine.overload_await_ms (${e.overload_await_ms}) and under ${hung} ms (the Redis guard's hung time), got ${e.overload_record_ms}`,
      );
  }
  // The files are read and parsed now, so that a missing or bad one stops start-up naming its key.
  kafkaTlsOptions(k, name);
  postgresTlsOptions(p, name);
  redisTlsOptions(cfg.redis, name);
}

/** TLS files only with TLS on (a CA file with TLS off would be silently ignored); a client certificate with its key. */
function requireTls(
  name: (key: string) => string,
  flag: string,
  on: boolean,
  files: { ca: [string, string]; cert: [string, string]; key: [string, string] },
): void {
  for (const [k, v] of [files.ca, files.cert, files.key]) {
    if (v && !on) throw new ConfigError(name(k), `set, but ${flag} is false: set ${flag}: true to use TLS`);
  }
  const [certKey, cert] = files.cert,
    [keyKey, key] = files.key;
  if (Boolean(cert) !== Boolean(key))
    throw new ConfigError(name(cert ? keyKey : certKey), `a client certificate needs both ${certKey} and ${keyKey}`);
}
