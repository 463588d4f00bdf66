/**
 * The engine's database role: it reads rules, lists and approved model versions, and nothing
 * else. The role itself is created by whoever administers the server (scripts/stack.d/engine-role.sql locally, a DBA or
 * the chart's secret in production); its grants are given by the schema's owner right after the
 * migrations (`fraud-engine migrate --engine-role NAME`), so a table a later migration creates
 * is granted the next time migrations run, and no other table ever is.
 */
import type { Queryable } from './pool.js';

/** What the engine reads: its ruleset source (src/rules/pg-source.ts through PgRulesetStore state, lists, show) and its model source. */
export const ENGINE_TABLES = [
  'rulesets',
  'rules',
  'ruleset_activations',
  'lists',
  'list_changes',
  // The model registry's approved versions (src/models/registry/model-source.ts); not its requests.
  'model_versions',
] as const;

const ROLE_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Grants `role` USAGE on the current schema and SELECT on ENGINE_TABLES, after revoking whatever
 * else it held on the schema's tables. Run by the tables' owner, after the migrations.
 */
export async function grantEngineRole(db: Queryable, role: string): Promise<void> {
  if (!ROLE_RE.test(role))
    throw new Error(`engine role '${role}' is not a plain PostgreSQL role name (lower-case letters, digits, '_')`);
  const exists = await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  if (!exists.rowCount)
    throw new Error(
      `engine role '${role}' does not exist: create it first (scripts/stack up creates fraud_engine; elsewhere CREATE ROLE ${role} LOGIN PASSWORD '…')`,
    );
  const schema = (await db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
  const q = (id: string) => `"${id.replace(/"/g, '""')}"`;
  await db.query(`GRANT USAGE ON SCHEMA ${q(schema)} TO ${role}`);
  await db.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${q(schema)} FROM ${role}`);
  await db.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${q(schema)} FROM ${role}`);
  await db.query(`GRANT SELECT ON ${ENGINE_TABLES.map((t) => `${q(schema)}.${t}`).join(', ')} TO ${role}`);
}
