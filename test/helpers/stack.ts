/**
 * Connection settings of the local stack for integration tests: the environment first,
 * then .stack/stack.env written by scripts/stack (npm test starts the stack before vitest).
 */
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';

/** The variables of stack.env (read now: scripts/stack may have rewritten it). */
export function stackEnv(): Record<string, string> {
  const file = resolve(process.env.FRAUD_STACK_DIR ?? resolve(import.meta.dirname, '../../.stack'), 'stack.env');
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

const file = stackEnv();
const get = (k: string, d: string): string => process.env[k] ?? file[k] ?? d;

export const stack = {
  kafkaBrokers: get('FRAUD_KAFKA_BROKERS', '127.0.0.1:9092').split(','),
  schemaRegistryUrl: get('FRAUD_SCHEMA_REGISTRY_URL', 'http://127.0.0.1:8081/apis/ccompat/v7'),
  redisUrl: get('FRAUD_REDIS_URL', 'redis://127.0.0.1:6379'),
  postgresUrl: get('FRAUD_POSTGRES_URL', 'postgres://fraud@127.0.0.1:5432/fraud'),
  /** The engine's read-only role (scripts/stack up / roles); empty when the stack has none. */
  enginePostgresUrl: get('FRAUD_ENGINE_POSTGRES_URL', ''),
  /** The registry's credentials when it requires them (the local stack's does not). */
  schemaRegistryAuth: {
    username: get('FRAUD_SCHEMA_REGISTRY_USERNAME', ''),
    password: get('FRAUD_SCHEMA_REGISTRY_PASSWORD', ''),
  },
};

/** The registry's URL and, when set, its credentials as FRAUD_SCHEMA_REGISTRY_* variables (for configurations and child engines). */
export function registryEnv(): Record<string, string> {
  const { username, password } = stack.schemaRegistryAuth;
  return {
    FRAUD_SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl,
    ...(username ? { FRAUD_SCHEMA_REGISTRY_USERNAME: username, FRAUD_SCHEMA_REGISTRY_PASSWORD: password } : {}),
  };
}

/** A name unique to this test run, for topics, groups, key prefixes and schemas. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** The stack's PostgreSQL URL with `schema` first on the search path (tables, triggers, functions land there). */
export function schemaUrl(schema: string, base = stack.postgresUrl): string {
  const u = new URL(base);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/**
 * A fresh PostgreSQL schema of one test file, so that what it activates (a ruleset version) or
 * seeds stays out of the other files' way: engines of other tests read the active ruleset of the
 * default schema. `drop()` removes it with everything in it.
 */
export async function freshSchema(prefix: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = uniqueName(prefix).replace(/[^a-z0-9]/g, '_');
  const admin = new pg.Pool({ connectionString: stack.postgresUrl, max: 1 });
  try {
    await admin.query(`CREATE SCHEMA ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: schemaUrl(name),
    async drop() {
      const a = new pg.Pool({ connectionString: stack.postgresUrl, max: 1 });
      try {
        await a.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await a.end();
      }
    },
  };
}
