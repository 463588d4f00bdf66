/**
 * Configuration: config/default.yaml (or --config FILE), then FRAUD_<SECTION>_<KEY>
 * environment overrides, validated at start-up. A bad value fails with the key's name.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface EngineConfig {
  kafka: {
    brokers: string[]; client_id: string; group_id: string;
    topic_authorizations: string; topic_decisions: string; topic_labels: string; topic_dlq: string;
    ssl: boolean; sasl_mechanism: 'none' | 'plain' | 'scram-sha-256' | 'scram-sha-512'; sasl_username: string; sasl_password: string;
    session_timeout_ms: number; max_bytes_per_partition: number; max_bytes: number;
  };
  schema_registry: { url: string; username: string; password: string };
  redis: { url: string; password: string; key_prefix: string; max_pending_commands: number };
  postgres: { url: string; ssl: boolean };
  engine: {
    max_batch: number; partitions_concurrently: number; batches_in_flight: number; max_message_bytes: number; redis_timeout_ms: number; model_timeout_ms: number; decision_memo_ttl_ms: number;
    http_port: number; http_host: string; log_level: string;
  };
  model: { path: string };
  rules: {
    dir: string; poll_interval_ms: number;
    max_rule_cost: number; max_expression_length: number; max_list_literal: number; list_size_bound: number;
    batch_budget_ms: number; max_rule_us_per_event: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly key: string, reason: string) {
    super(`invalid configuration: ${key}: ${reason}`);
  }
}

// posint: at least 1 (a batch of 0, a TTL of 0 would misbehave rather than fail). url: one
// of the schemes (empty allowed when optional); its value is never echoed, it may hold a password.
type Kind = 'string' | 'int' | 'posint' | 'bool' | 'list' | { oneOf: readonly string[] } | { url: readonly string[]; optional?: boolean };
const SCHEMA: { [S in keyof EngineConfig]: Record<keyof EngineConfig[S], Kind> } = {
  kafka: {
    brokers: 'list', client_id: 'string', group_id: 'string', topic_authorizations: 'string', topic_decisions: 'string',
    topic_labels: 'string', topic_dlq: 'string', ssl: 'bool',
    sasl_mechanism: { oneOf: ['none', 'plain', 'scram-sha-256', 'scram-sha-512'] }, sasl_username: 'string', sasl_password: 'string',
    session_timeout_ms: 'posint', max_bytes_per_partition: 'posint', max_bytes: 'posint',
  },
  schema_registry: { url: { url: ['http:', 'https:'] }, username: 'string', password: 'string' },
  redis: { url: { url: ['redis:', 'rediss:'] }, password: 'string', key_prefix: 'string', max_pending_commands: 'int' },
  postgres: { url: { url: ['postgres:', 'postgresql:'], optional: true }, ssl: 'bool' },
  engine: {
    max_batch: 'posint', partitions_concurrently: 'posint', batches_in_flight: 'posint', max_message_bytes: 'posint', redis_timeout_ms: 'int', model_timeout_ms: 'int', decision_memo_ttl_ms: 'posint',
    http_port: 'int', http_host: 'string', log_level: { oneOf: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
  },
  model: { path: 'string' },
  rules: {
    dir: 'string', poll_interval_ms: 'int',
    max_rule_cost: 'posint', max_expression_length: 'posint', max_list_literal: 'posint', list_size_bound: 'posint',
    batch_budget_ms: 'int', max_rule_us_per_event: 'int',
  },
};

function coerce(key: string, kind: Kind, raw: unknown): unknown {
  if (typeof kind === 'object' && 'url' in kind) {
    const s = raw === null || raw === undefined ? '' : String(raw).trim();
    if (s === '' && kind.optional) return '';
    let protocol = '';
    try { protocol = new URL(s).protocol; } catch { /* not a URL */ }
    if (!kind.url.includes(protocol)) throw new ConfigError(key, `expected a URL starting with ${kind.url.map((u) => `${u}//`).join(' or ')}${kind.optional ? ' (or empty)' : ''}`);
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
      if (!Number.isInteger(n) || n < 0) throw new ConfigError(key, `expected a non-negative integer, got '${String(raw)}'`);
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
    if (!(section in SCHEMA)) throw new ConfigError(section, `unknown section (known: ${Object.keys(SCHEMA).join(', ')})`);
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, fields] of Object.entries(SCHEMA) as [string, Record<string, Kind>][]) {
    const given = raw[section] ?? {};
    if (typeof given !== 'object') throw new ConfigError(section, 'expected a mapping');
    for (const k of Object.keys(given)) {
      if (!(k in fields)) throw new ConfigError(`${section}.${k}`, `unknown key (known: ${Object.keys(fields).join(', ')})`);
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
  return out as unknown as EngineConfig;
}
