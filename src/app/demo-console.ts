/**
 * The demo's workspace: what `npm run demo` starts beside the engine so that a person can open
 * the console while the load runs. The database migrated, the two demo users (`ana`, analyst;
 * `bob`, analyst and approver) given fresh random passwords (printed once, never stored in the
 * repository), a transaction history for the console's rule backtests (console.history_file,
 * written once), the audit sink (decisions → PostgreSQL, which fills the review queue) and the
 * console itself. The caller (src/bench/demo.ts) owns the lifecycle.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ROOT } from '../cli/child-engine.js';
import type { EngineConfig } from '../config/config.js';
import { startConsole, type ConsoleHandle } from '../console/start.js';
import { UserStore, type Role } from '../identity/users.js';
import { migrate } from '../storage/migrate.js';
import { pgPool } from '../storage/pool.js';
import { simulate, writeSimulation } from '../simulator/index.js';
import { startAuditSink, type AuditSinkHandle } from './audit-sink.js';

export const DEMO_USERS: readonly { username: string; roles: Role[]; displayName: string }[] = [
  { username: 'ana', roles: ['analyst'], displayName: 'Ana (analyst)' },
  { username: 'bob', roles: ['analyst', 'approver'], displayName: 'Bob (analyst, approver)' },
];

/** The history the demo writes for backtests: a month of a smaller population (~110k transactions). */
export const DEMO_HISTORY = { customers: 2000, terminals: 4000, days: 30, seed: 7 } as const;

export interface DemoLogin {
  username: string;
  password: string;
  roles: Role[];
}

export interface DemoConsole {
  url: string;
  logins: DemoLogin[];
  historyFile: string;
  console: ConsoleHandle;
  sink: AuditSinkHandle;
  stop(): Promise<void>;
}

/** A password of 20 URL-safe characters (120 bits), for one demo run. */
export function demoPassword(): string {
  return randomBytes(15).toString('base64url');
}

/** Applies the migrations and (re)sets the demo users with fresh passwords. */
export async function prepareDemoDatabase(cfg: EngineConfig): Promise<DemoLogin[]> {
  if (!cfg.postgres.url) throw new Error('the demo console needs PostgreSQL: set FRAUD_POSTGRES_URL');
  const pool = pgPool(cfg.postgres, { applicationName: 'fraud-demo', max: 1, connectionTimeoutMillis: 5_000 });
  try {
    await migrate(pool);
    const users = new UserStore(pool);
    const logins: DemoLogin[] = [];
    for (const u of DEMO_USERS) {
      const password = demoPassword();
      // Reset on every run: the passwords printed now are the only ones that work.
      await users.add({ ...u, password }, 'demo', { replace: true });
      logins.push({ username: u.username, password, roles: u.roles });
    }
    return logins;
  } finally {
    await pool.end();
  }
}

/** Writes the simulated history to `file` unless it exists (deterministic: the same seed gives the same file). */
export async function ensureHistoryFile(file: string): Promise<boolean> {
  if (existsSync(file)) return false;
  mkdirSync(dirname(file), { recursive: true });
  const sim = simulate({ ...DEMO_HISTORY });
  const tmp = `${file}.${process.pid}.tmp`;
  const out = createWriteStream(tmp);
  await once(out, 'open');
  await writeSimulation(sim, out, 'csv');
  out.end();
  await finished(out);
  renameSync(tmp, file);
  return true;
}

/**
 * Starts the audit sink and the console for the demo. `engineMetricsUrl`: the demo engine's
 * /metrics, shown on the overview. The console listens on console.http_port, or on a free port
 * when that one is taken (said in the log).
 */
export async function startDemoConsole(
  cfg: EngineConfig,
  o: { log: Logger; engineMetricsUrl: string },
): Promise<DemoConsole> {
  const logins = await prepareDemoDatabase(cfg);
  const historyFile = isAbsolute(cfg.console.history_file)
    ? cfg.console.history_file
    : resolve(ROOT, cfg.console.history_file);
  if (await ensureHistoryFile(historyFile)) o.log.info({ file: historyFile }, 'demo history written');
  const consoleCfg: EngineConfig = {
    ...cfg,
    console: { ...cfg.console, history_file: historyFile, engine_metrics_url: o.engineMetricsUrl },
  };
  // The sink's own HTTP port stays off: the demo reads nothing from it, and it could clash.
  const sink = await startAuditSink(cfg, { log: o.log, httpPort: 0 });
  let c: ConsoleHandle;
  try {
    c = await startConsole(consoleCfg, { log: o.log }).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') throw err;
      o.log.warn({ port: cfg.console.http_port }, 'console port taken; listening on a free port instead');
      return startConsole(consoleCfg, { log: o.log, port: 0 });
    });
  } catch (err) {
    await sink.stop();
    throw err;
  }
  return {
    url: c.url,
    logins,
    historyFile,
    console: c,
    sink,
    async stop() {
      await c.close().catch((err: unknown) => o.log.warn({ err }, 'console close failed'));
      await sink.stop();
    },
  };
}
