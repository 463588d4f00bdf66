/** `fraud-engine migrate`: applies the schema migrations (src/storage/migrations) to PostgreSQL. */
import { configOf, guarded, parseOrUsage } from '../cli/kit.js';
import { grantEngineRole } from '../storage/engine-role.js';
import { migrate } from '../storage/migrate.js';
import { pgPool } from '../storage/pool.js';

const HELP = `usage: fraud-engine migrate [--config FILE] [--engine-role ROLE]
Applies the migrations not yet applied, in order, each in its own transaction (FRAUD_POSTGRES_URL:
the role that owns the schema). The engine never migrates: run this before starting engines.
--engine-role ROLE: then grant ROLE (which must exist) read access to the rules and lists tables
and nothing else: the engine's own role (FRAUD_POSTGRES_URL of the engines).`;

export default function migrateCommand(argv: string[]): Promise<number> {
  return guarded(async () => {
    const { values } = parseOrUsage(argv, { config: { type: 'string' }, 'engine-role': { type: 'string' } }, HELP);
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
      const role = values['engine-role'];
      if (role) {
        await grantEngineRole(pool, role);
        console.error(`granted ${role}: read rules and lists`);
      }
      return 0;
    } finally {
      await pool.end();
    }
  });
}
