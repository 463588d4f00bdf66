/**
 * A console against the local stack for tests: the database migrated, two fresh users of each
 * test file (an analyst and an approver, unique names), the server listening on a free port.
 */
import { randomBytes } from 'node:crypto';
import type { EngineConfig } from '../../src/config/config.js';
import { consoleDepsOf, startConsole, type ConsoleHandle } from '../../src/console/start.js';
import type { ConsoleDeps } from '../../src/console/deps.js';
import type { Role } from '../../src/identity/users.js';
import { createLogger } from '../../src/observability/logger.js';
import { migrate } from '../../src/storage/migrate.js';
import { testConfig } from './engine.js';
import { freshSchema } from './stack.js';

export interface TestUser {
  username: string;
  password: string;
}

export interface TestConsole extends ConsoleHandle {
  cfg: EngineConfig;
  analyst: TestUser;
  approver: TestUser;
  /** Another user with `roles`, created now. */
  addUser(roles: Role[]): Promise<TestUser>;
}

export async function startTestConsole(
  o: { cfg?: EngineConfig; deps?: (d: ConsoleDeps) => ConsoleDeps } = {},
): Promise<TestConsole> {
  // Each console test file in its own schema: what it activates (rulesets) and seeds must not
  // reach the engines of other test files, which read the default schema's active ruleset.
  const schema = await freshSchema('it_console');
  const given = o.cfg ?? testConfig();
  const cfg: EngineConfig = { ...given, postgres: { ...given.postgres, url: schema.url } };
  const base = consoleDepsOf(cfg, createLogger('warn'));
  await migrate(base.pool);
  const deps = o.deps ? o.deps(base) : base;
  const tag = randomBytes(3).toString('hex');
  let n = 0;
  const addUser = async (roles: Role[]): Promise<TestUser> => {
    const u = { username: `t${tag}-${roles[0]}${++n}`, password: `pw-${randomBytes(9).toString('hex')}` };
    await deps.users.add({ ...u, roles, displayName: `Test ${roles[0]} ${n}` }, 'test');
    return u;
  };
  const analyst = await addUser(['analyst']);
  const approver = await addUser(['analyst', 'approver']);
  const handle = await startConsole(cfg, { deps, host: '127.0.0.1', port: 0 });
  return {
    ...handle,
    cfg,
    analyst,
    approver,
    addUser,
    async close() {
      await handle.close();
      await schema.drop();
    },
  };
}
