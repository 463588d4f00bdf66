/**
 * The model registry's tasks without the command line (`models …`, and any other front end): open
 * it from the configuration with the schema migrated, sign the acting person in, and publish a
 * file only once it passed every check an engine will make.
 */
import type { EngineConfig } from '../../config/config.js';
import { signInWithPassword, type Credentials } from '../../identity/password-sign-in.js';
import type { User } from '../../identity/users.js';
import { migrate } from '../../storage/migrate.js';
import { requiredPgPool } from '../../storage/pool.js';
import { inspectModelFile, type ModelCandidate } from './model-file.js';
import { ModelRegistry, ModelRegistryError, type ModelRole, type ModelVersionRow } from './pg-model-registry.js';

/** Runs `fn` on the registry of `cfg` (migrations applied first); the pool is closed after. */
export async function withModelRegistry<T>(cfg: EngineConfig, fn: (r: ModelRegistry) => Promise<T>): Promise<T> {
  const pool = requiredPgPool(
    cfg.postgres,
    { applicationName: 'fraud-engine-models-cli', max: 2, connectionTimeoutMillis: 3_000, queryTimeoutMillis: 30_000 },
    'the model registry needs PostgreSQL',
    ModelRegistryError,
  );
  pool.on('error', () => undefined);
  try {
    await migrate(pool);
    return await fn(new ModelRegistry(pool));
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** The user whose password `c` carries (throttled like the console's sign-in; failures in the action log). */
export function signInToRegistry(r: ModelRegistry, cfg: EngineConfig, c: Credentials): Promise<User> {
  return signInWithPassword(r.db, c, { maxFailures: cfg.console.max_failed_logins, via: 'cli' });
}

/**
 * Checks the file at `path` as the engines will (readable, metadata beside it, the engine's
 * features in order, a trial run) and publishes it for `role`: a pending request. A file that
 * fails is refused (ModelFileError) before anything is written.
 */
export async function publishModelFile(
  r: ModelRegistry,
  path: string,
  o: { role: ModelRole; by: string; comment: string },
): Promise<{ row: ModelVersionRow; candidate: ModelCandidate }> {
  const candidate = await inspectModelFile(path);
  return { row: await r.publish(candidate, o), candidate };
}
