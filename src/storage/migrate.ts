/**
 * The schema migrations of the engine's PostgreSQL database: every `NNN_name.sql` file of
 * src/storage/migrations, applied in file-name order, each in its own transaction, and recorded
 * in `schema_migrations(version, applied_at)` (version = the file name without `.sql`).
 *
 * Idempotent (an applied version is skipped) and safe to run from several processes at once:
 * the whole run holds the session advisory lock hashtext('schema_migrations'), so a second
 * runner waits and then finds everything applied.
 * (The audit sink applies them with this runner too.)
 *
 * Numbering: 001-009 rules, lists and model versions, 010-019 the audit trail, 020-029 identity and the console,
 * 030-039 review cases; a new file takes the next free
 * number of its range and is never edited once released.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type pg from 'pg';

const FILE_RE = /^(\d{3})_[A-Za-z0-9_-]+\.sql$/;

export const MIGRATION_LOCK_SQL = `SELECT pg_advisory_lock(hashtext('schema_migrations'))`;
export const MIGRATION_UNLOCK_SQL = `SELECT pg_advisory_unlock(hashtext('schema_migrations'))`;

/** The SQL files live in the source tree (tsc does not copy them): src/storage/migrations. */
export function migrationsDir(): string {
  const here = join(import.meta.dirname, 'migrations'); // running from src/ (tests)
  if (existsSync(here)) return here;
  return resolve(import.meta.dirname, '../../src/storage/migrations'); // running from dist/
}

/** The migration files of a directory, in the order they apply. */
export function migrationFiles(dir = migrationsDir()): string[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const bad = files.filter((f) => !FILE_RE.test(f));
  if (bad.length)
    throw new Error(`migrations: badly named file(s) in ${dir}: ${bad.join(', ')} (expected NNN_name.sql)`);
  const seen = new Map<string, string>();
  for (const f of files) {
    const n = FILE_RE.exec(f)![1]!;
    const prev = seen.get(n);
    if (prev) throw new Error(`migrations: ${prev} and ${f} share the number ${n}`);
    seen.set(n, f);
  }
  return files;
}

export interface MigrationResult {
  applied: string[];
  skipped: string[];
}

type Queryable = pg.Pool | pg.ClientBase;

/** Applies the migrations not yet recorded, in order. Throws naming the file that failed (its transaction is rolled back). */
export async function migrate(db: Queryable, opts: { dir?: string } = {}): Promise<MigrationResult> {
  const dir = opts.dir ?? migrationsDir();
  const files = migrationFiles(dir);
  const pooled = 'totalCount' in db;
  const client = pooled ? await (db as pg.Pool).connect() : (db as pg.ClientBase);
  const out: MigrationResult = { applied: [], skipped: [] };
  let broken: Error | undefined;
  try {
    const schema = (
      await client.query<{ s: string | null; p: string }>(
        "SELECT current_schema() AS s, current_setting('search_path') AS p",
      )
    ).rows[0]!;
    if (schema.s === null)
      throw new Error(`migrations: no schema to create tables in: search_path is '${schema.p}' and none of it exists`);
    await client.query(MIGRATION_LOCK_SQL);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const done = new Set(
        (await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
      );
      for (const file of files) {
        const version = file.replace(/\.sql$/, '');
        if (done.has(version)) {
          out.skipped.push(version);
          continue;
        }
        const sql = readFileSync(join(dir, file), 'utf8');
        await client.query('BEGIN');
        try {
          await client.query(sql);
          await client.query(
            'INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now()) ON CONFLICT (version) DO NOTHING',
            [version],
          );
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new Error(`migration ${file} failed: ${(err as Error).message}`);
        }
        out.applied.push(version);
      }
    } finally {
      await client.query(MIGRATION_UNLOCK_SQL).catch((err: Error) => {
        broken = err;
      });
    }
  } finally {
    // A client whose unlock failed may still hold the lock: destroy it rather than pool it.
    if (pooled) (client as pg.PoolClient).release(broken);
  }
  return out;
}
