/**
 * The engine's database role reads rules and lists and nothing else, and the engine never
 * migrates: against the real PostgreSQL, in a schema of this file migrated and granted as
 * `fraud-engine migrate --engine-role` does, a ruleset source connected as the role
 * (FRAUD_ENGINE_POSTGRES_URL, created by scripts/stack) loads the active version, and every
 * write, and every read of another table, is refused (SQLSTATE 42501). A source on a schema
 * not migrated says so and decides with the files until the tables appear.
 */
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRulesetFiles } from '../../src/rules/load.js';
import { PgRulesetSource } from '../../src/rules/pg-source.js';
import { PgRulesetStore } from '../../src/rules/pg-store.js';
import { ENGINE_TABLES, grantEngineRole } from '../../src/storage/engine-role.js';
import { migrate } from '../../src/storage/migrate.js';
import { fourEyes } from '../helpers/four-eyes.js';
import { freshSchema, schemaUrl, stack, uniqueName } from '../helpers/stack.js';

const PLAIN = { ssl: false, ssl_ca_file: '', ssl_cert_file: '', ssl_key_file: '' };
const silent = pino({ level: 'silent' });
const defaults = loadRulesetFiles('config/rules');

/** The engine role's URL on the owner's database (the tests' database may not be the stack's `fraud`), schema first. */
function engineUrlFor(schema: string): { url: string; role: string } {
  if (!stack.enginePostgresUrl)
    throw new Error(
      'FRAUD_ENGINE_POSTGRES_URL is not set and not in stack.env: run `scripts/stack roles` (or `scripts/stack up`) to create the engine role',
    );
  const u = new URL(stack.enginePostgresUrl);
  u.pathname = new URL(stack.postgresUrl).pathname;
  return { url: schemaUrl(schema, u.toString()), role: decodeURIComponent(u.username) };
}

describe("the engine's database role", () => {
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let owner: pg.Pool;
  let engine: pg.Pool;
  let version: string;
  let eyes: Awaited<ReturnType<typeof fourEyes>>;

  beforeAll(async () => {
    schema = await freshSchema('it_engine_role');
    const { url, role } = engineUrlFor(schema.name);
    owner = new pg.Pool({ connectionString: schema.url, max: 2 });
    await migrate(owner);
    await grantEngineRole(owner, role);
    const store = new PgRulesetStore(owner);
    eyes = await fourEyes(owner, store);
    version = uniqueName('it-role').slice(0, 60);
    await eyes.publishActive({ ...defaults, version });
    await eyes.listChange('block_card', 'tok_engine_role', 'add');
    engine = new pg.Pool({ connectionString: url, max: 2 });
  });

  afterAll(async () => {
    await engine?.end();
    await owner?.end();
    await schema?.drop();
  });

  it('loads the active version and the lists through a ruleset source, and takes up the next approval', async () => {
    const src = await PgRulesetSource.start({
      postgres: { url: engineUrlFor(schema.name).url, ...PLAIN },
      pollIntervalMs: 0, // LISTEN as the role, as the engine does
      fallbackDir: 'config/rules',
      log: silent,
    });
    try {
      expect([src.source, src.databaseDown, src.current().version]).toEqual(['postgres', false, version]);
      expect(src.current().lists.block_card.has('tok_engine_role')).toBe(true);
      // LISTEN as the role: an approval by the owner's tooling reaches it (no polling here).
      const next = uniqueName('it-role-next').slice(0, 60);
      await eyes.publishActive({ ...defaults, version: next });
      const until = Date.now() + 5_000;
      while (src.current().version !== next && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(src.current().version).toBe(next);
    } finally {
      await src.stop();
    }
  });

  it('reads exactly the rules and lists tables', async () => {
    const who = (await engine.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
    expect(who).toBe(engineUrlFor(schema.name).role);
    for (const t of ENGINE_TABLES) await expect(engine.query(`SELECT * FROM ${t} LIMIT 1`), t).resolves.toBeTruthy();
  });

  const refusals: [string, string][] = [
    [
      'INSERT INTO rulesets',
      "INSERT INTO rulesets (version, status, author, comment, description, thresholds, source) VALUES ('x', 'pending', 'x', 'x', '', '{}', '')",
    ],
    ['UPDATE rulesets', "UPDATE rulesets SET comment = 'changed'"],
    ['DELETE FROM rulesets', 'DELETE FROM rulesets'],
    ['INSERT INTO lists', "INSERT INTO lists (name, value, added_by) VALUES ('block_card', 'x', 'x')"],
    ['SELECT decision_audit', 'SELECT * FROM decision_audit LIMIT 1'],
    ['SELECT users', 'SELECT * FROM users LIMIT 1'],
    ['SELECT console_sessions', 'SELECT * FROM console_sessions LIMIT 1'],
    ['SELECT action_log', 'SELECT * FROM action_log LIMIT 1'],
    ['CREATE TABLE', 'CREATE TABLE engine_was_here (x int)'],
  ];
  it.each(refusals)('refuses %s (42501)', async (_what, sql) => {
    await expect(engine.query(sql)).rejects.toMatchObject({ code: '42501' });
  });

  it('a source on a schema not migrated decides with the files, then takes up the tables once migrated', async () => {
    const bare = await freshSchema('it_unmigrated');
    const src = await PgRulesetSource.start({
      postgres: { url: bare.url, ...PLAIN },
      pollIntervalMs: 0,
      listen: false,
      fallbackDir: 'config/rules',
      log: silent,
    });
    const pool = new pg.Pool({ connectionString: bare.url, max: 1 });
    try {
      expect([src.source, src.unmigrated, src.current().version]).toEqual(['files', true, defaults.version]);
      // The engine created nothing.
      const tables = await pool.query('SELECT 1 FROM pg_tables WHERE schemaname = $1', [bare.name]);
      expect(tables.rowCount).toBe(0);
      await migrate(pool);
      await src.refresh();
      expect([src.source, src.unmigrated, src.databaseDown]).toEqual(['files', false, false]);
    } finally {
      await src.stop();
      await pool.end();
      await bare.drop();
    }
  });
});
