/**
 * A minimal migration runner for the audit trail's own files (src/storage/migrations/01x_audit*.sql),
 * written while the shared runner (src/storage/migrate.ts, which applies every file) was being
 * built; it keeps `sink audit` from applying the rules' files. Both runners agree on the
 * bookkeeping so that either can take over (and this one can be replaced by `migrate()`): table `schema_migrations(version text primary key, applied_at timestamptz)`, version =
 * the file name without `.sql` (e.g. `010_audit`), one transaction per file, and a session
 * advisory lock on hashtext('schema_migrations') around the whole run. The audit files are
 * idempotent as well (IF NOT EXISTS / OR REPLACE), so applying one twice is harmless.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type pg from 'pg';

/** The migrations folder in the source tree (SQL is not compiled to dist/; both paths land here). */
export const MIGRATIONS_DIR = resolve(import.meta.dirname, '../../src/storage/migrations');

/** The audit trail's files: 010 and up, unless named otherwise by the caller. */
export const AUDIT_MIGRATIONS = /^(01\d)_audit.*\.sql$/;

export const MIGRATION_LOCK_SQL = `SELECT pg_advisory_lock(hashtext('schema_migrations'))`;
export const MIGRATION_UNLOCK_SQL = `SELECT pg_advisory_unlock(hashtext('schema_migrations'))`;

export interface MigrationResult {
  applied: string[];
  skipped: string[];
}

/** Applies the audit migrations not yet recorded in schema_migrations, in file-name order. */
export async function migrateAudit(pool: pg.Pool, opts: { dir?: string; pattern?: RegExp } = {}): Promise<MigrationResult> {
  const dir = opts.dir ?? MIGRATIONS_DIR;
  const files = readdirSync(dir).filter((f) => (opts.pattern ?? AUDIT_MIGRATIONS).test(f)).sort();
  const out: MigrationResult = { applied: [], skipped: [] };
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(MIGRATION_LOCK_SQL);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      const done = new Set((await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      for (const file of files) {
        const version = file.replace(/\.sql$/, '');
        if (done.has(version)) { out.skipped.push(version); continue; }
        const sql = readFileSync(resolve(dir, file), 'utf8');
        await client.query('BEGIN');
        try {
          await client.query(sql);
          await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now()) ON CONFLICT (version) DO NOTHING', [version]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new Error(`migration ${file} failed: ${(err as Error).message}`);
        }
        out.applied.push(version);
      }
    } finally {
      await client.query(MIGRATION_UNLOCK_SQL).catch((err: Error) => { broken = err; });
    }
  } finally {
    // A client whose unlock failed may still hold the lock: destroy it rather than pool it.
    client.release(broken);
  }
  return out;
}
