/** The PostgreSQL pool of the audit trail, from the `postgres` configuration section. */
import type pg from 'pg';
import { requiredPgPool } from '../../storage/pool.js';
import type { EngineConfig } from '../../config/config.js';

export class AuditConfigError extends Error {}

export function createAuditPool(
  cfg: EngineConfig['postgres'],
  opts: { max?: number; applicationName?: string } = {},
): pg.Pool {
  const pool = { max: opts.max ?? 4, applicationName: opts.applicationName ?? 'fraud-engine-audit' };
  return requiredPgPool(
    cfg,
    { ...pool, connectionTimeoutMillis: 5_000 },
    'the audit trail needs PostgreSQL',
    AuditConfigError,
  );
}

/** Runs `fn` on a one-connection audit pool named `applicationName`, ended after. */
export async function withAuditPool<T>(
  cfg: EngineConfig['postgres'],
  applicationName: string,
  fn: (pool: pg.Pool) => Promise<T>,
): Promise<T> {
  const pool = createAuditPool(cfg, { max: 1, applicationName });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

/** True when the error is "relation does not exist" (the audit migration was never applied). */
export function isMissingTable(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '42P01';
}

/**
 * The audit trail's errors a user can act on, printed plainly (for a command's error handler):
 * no PostgreSQL configured (2) and, when `missingTable` is given, the audit table not created yet
 * (1, with that message). Anything else: undefined.
 */
export function auditErrorExit(err: unknown, missingTable?: string): number | undefined {
  if (err instanceof AuditConfigError) {
    console.error(err.message);
    return 2;
  }
  if (missingTable !== undefined && isMissingTable(err)) {
    console.error(missingTable);
    return 1;
  }
  return undefined;
}
