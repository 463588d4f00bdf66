/** `fraud-engine migrate`: applies the schema migrations (src/storage/migrations) to PostgreSQL. */
import { configOf, guarded, parseOrUsage } from '../cli/kit.js';
import { migrate } from '../storage/migrate.js';
import { pgPool } from '../storage/pool.js';

const HELP = `usage: fraud-engine migrate [--config FILE]
Applies the migrations not yet applied, in order, each in its own transaction (FRAUD_POSTGRES_URL:
a role that may change the schema; the engine's own role only reads rules and lists).`;

export default function migrateCommand(argv: string[]): Promise<number> {
  return guarded(async () => {
    const { values } = parseOrUsage(argv, { config: { type: 'string' } }, HELP);
    const cfg = configOf(values.config);
    if (!cfg.postgres.url) throw new Error('migrate: set FRAUD_POSTGRES_URL');
    const pool = pgPool(cfg.postgres, { applicationName: 'fraud-migrate', max: 1, connectionTimeoutMillis: 5_000 });
    try {
      const r = await migrate(pool);
      console.error(
        r.applied.length
          ? `applied: ${r.applied.join(', ')}`
          : `up to date (${r.skipped.length} migrations applied before)`,
      );
      return 0;
    } finally {
      await pool.end();
    }
  });
}
