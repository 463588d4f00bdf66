/** The one way the engine opens PostgreSQL: URL and TLS from the `postgres` section, bounded waits. */
import pg from 'pg';
import { postgresTlsOptions, type EngineConfig } from '../config/config.js';

/**
 * pg's `ssl` option from `postgres.ssl` and its CA / client certificate files (the server's
 * certificate always verified); nothing when TLS is off, and `sslmode=` in the URL wins.
 * Shared by the pools and the rules source's LISTEN connection.
 */
export function pgSsl(cfg: EngineConfig['postgres']): { ssl?: pg.ConnectionConfig['ssl'] } {
  const tls = postgresTlsOptions(cfg);
  return tls ? { ssl: tls } : {};
}

export interface PoolOptions {
  applicationName: string;
  max: number;
  connectionTimeoutMillis: number;
  /** Per query; unset = no limit. */
  queryTimeoutMillis?: number;
}

/**
 * A pool once postgres.url is known to be set: otherwise `refuse` (the caller's error class) is
 * thrown with what needs PostgreSQL, e.g. `the audit trail needs PostgreSQL`, and how to set it.
 */
export function requiredPgPool(
  cfg: EngineConfig['postgres'],
  o: PoolOptions,
  needs: string,
  refuse: new (message: string) => Error,
): pg.Pool {
  if (!cfg.url)
    throw new refuse(
      `postgres.url is empty: ${needs} (set FRAUD_POSTGRES_URL=postgres://user:password@host:5432/fraud)`,
    );
  return pgPool(cfg, o);
}

export function pgPool(cfg: EngineConfig['postgres'], o: PoolOptions): pg.Pool {
  return new pg.Pool({
    connectionString: cfg.url,
    ...pgSsl(cfg),
    max: o.max,
    application_name: o.applicationName,
    connectionTimeoutMillis: o.connectionTimeoutMillis,
    idleTimeoutMillis: 30_000,
    ...(o.queryTimeoutMillis ? { query_timeout: o.queryTimeoutMillis } : {}),
  });
}

/** PostgreSQL's reachability for /readyz: `SELECT 1` every `everyMs` (timer unref'd); stop() ends it. */
export function probePool(pool: pg.Pool, everyMs = 5_000): { ok(): boolean; stop(): void } {
  let ok = true;
  const timer = setInterval(() => {
    pool.query('SELECT 1').then(
      () => {
        ok = true;
      },
      () => {
        ok = false;
      },
    );
  }, everyMs);
  timer.unref();
  return { ok: () => ok, stop: () => clearInterval(timer) };
}

/** What a query can run on: the pool, or one client inside a transaction. */
export type Queryable = Pick<pg.Pool | pg.ClientBase, 'query'>;

/** Runs `fn` in one transaction on a client of `pool`: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
