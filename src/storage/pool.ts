/** The one way the engine opens PostgreSQL: URL and SSL from the `postgres` section, bounded waits. */
import pg from 'pg';
import type { EngineConfig } from '../config/config.js';

export interface PoolOptions {
  applicationName: string;
  max: number;
  connectionTimeoutMillis: number;
  /** Per query; unset = no limit. */
  queryTimeoutMillis?: number;
}

export function pgPool(cfg: EngineConfig['postgres'], o: PoolOptions): pg.Pool {
  return new pg.Pool({
    connectionString: cfg.url,
    ...(cfg.ssl ? { ssl: { rejectUnauthorized: true } } : {}),
    max: o.max,
    application_name: o.applicationName,
    connectionTimeoutMillis: o.connectionTimeoutMillis,
    idleTimeoutMillis: 30_000,
    ...(o.queryTimeoutMillis ? { query_timeout: o.queryTimeoutMillis } : {}),
  });
}
