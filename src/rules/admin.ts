/**
 * The analysts' tasks on the PostgreSQL rules store, without the command line (`rules …`,
 * `lists …`, and any other front end): open the store from the configuration with the schema
 * migrated, sign the acting person in, publish a version (a change request: four eyes, see
 * ./pg-approvals.ts), and find the ruleset a backtest compares with.
 */
import type pg from 'pg';
import type { EngineConfig } from '../config/config.js';
import { migrate } from '../storage/migrate.js';
import { compileRuleset, type CompiledRuleset } from './compile.js';
import { RuleLists } from './context.js';
import { ruleLimitsOf, type RuleLimits } from './cost.js';
import { diffRulesets, type RulesetDiff } from './diff.js';
import { isRulesetPath } from './files.js';
import { loadRulesetFiles } from './load.js';
import { signInWithPassword, type Credentials } from '../identity/password-sign-in.js';
import type { User } from '../identity/users.js';
import { PgRulesetStore, RulesetStoreError, rulesPool, type RulesetMeta } from './pg-store.js';
import type { RulesetDef } from './types.js';

/** No PostgreSQL configured for a task that needs it. */
export class NoDatabaseError extends RulesetStoreError {
  constructor() {
    super('this command needs PostgreSQL: set FRAUD_POSTGRES_URL (postgres.url)');
  }
}

/** The user whose password `c` carries (throttled like the console's sign-in; failures in the action log). */
export function signInTo(store: PgRulesetStore, cfg: EngineConfig, c: Credentials): Promise<User> {
  return signInWithPassword(store.db, c, { maxFailures: cfg.console.max_failed_logins, via: 'cli' });
}

/** Runs `fn` on the rules store of `cfg` (migrations applied first); the pool is closed after. */
export async function withRulesStore<T>(
  cfg: EngineConfig,
  fn: (store: PgRulesetStore) => Promise<T>,
  applicationName = 'fraud-engine-rules-cli',
): Promise<T> {
  if (!cfg.postgres.url) throw new NoDatabaseError();
  const pool: pg.Pool = rulesPool(cfg.postgres, { applicationName });
  pool.on('error', () => undefined);
  try {
    await migrate(pool);
    return await fn(new PgRulesetStore(pool, { limits: ruleLimitsOf(cfg.rules) }));
  } finally {
    await pool.end().catch(() => undefined);
  }
}

export interface Published {
  /** The new version, status pending: a change request awaiting another person's approval. */
  meta: RulesetMeta;
  /** List values in the files: not part of a version (lists live in PostgreSQL). */
  listValuesIgnored: number;
}

/**
 * Publishes `def` as a new version by `author` (an enabled user) with `comment`: a pending
 * change request. Nobody activates their own change: `activate: true` is refused (a second
 * person approves it, ./pg-approvals.ts).
 */
export async function publishRuleset(
  store: PgRulesetStore,
  def: RulesetDef,
  o: { comment: string; author: string; version?: string; source: string; activate?: false },
): Promise<Published> {
  if ((o.activate as boolean | undefined) === true)
    throw new RulesetStoreError('a published version is activated only by another approver (four eyes)');
  const meta = await store.publish(def, { comment: o.comment, author: o.author, version: o.version, source: o.source });
  return { meta, listValuesIgnored: Object.values(def.lists).reduce((n, v) => n + (v?.length ?? 0), 0) };
}

export interface Baseline {
  ruleset: CompiledRuleset;
  /** Where it came from, for the report. */
  source: string;
  /** PostgreSQL's lists (not versioned), for the proposal too; null: each side's files. */
  lists: RuleLists | null;
}

/**
 * The ruleset a proposal is backtested against. PostgreSQL configured and `against` not a path:
 * the version `against`, else the active version (the files of rules.dir when none is active).
 * Otherwise the files of `against`, else of rules.dir.
 */
export async function backtestBaseline(
  cfg: EngineConfig,
  limits: RuleLimits,
  o: { against?: string },
): Promise<Baseline> {
  if (!cfg.postgres.url || (o.against !== undefined && isRulesetPath(o.against))) {
    const dir = o.against ?? cfg.rules.dir;
    return { ruleset: compileRuleset(loadRulesetFiles(dir), undefined, limits), source: dir, lists: null };
  }
  return withRulesStore(cfg, async (store) => {
    const lists = new RuleLists(await store.lists());
    const version = o.against ?? (await store.activeVersion());
    if (version) {
      return {
        ruleset: compileRuleset((await store.require(version)).def, lists, limits),
        source: o.against ? `PostgreSQL ${version}` : 'PostgreSQL, active',
        lists,
      };
    }
    return {
      ruleset: compileRuleset(loadRulesetFiles(cfg.rules.dir), lists, limits),
      source: `${cfg.rules.dir}: no active version in PostgreSQL`,
      lists,
    };
  });
}

/**
 * `a` and `b` compared, each a ruleset's files (`load`ed: it throws when they do not compile) or
 * a version in the rules store (`open`ed only then).
 */
export async function diffOf(
  a: string,
  b: string,
  load: (path: string) => RulesetDef,
  open: <T>(fn: (store: PgRulesetStore) => Promise<T>) => Promise<T>,
): Promise<RulesetDiff> {
  const both = async (s: PgRulesetStore | null) => {
    const get = async (x: string): Promise<RulesetDef> => (isRulesetPath(x) ? load(x) : (await s!.require(x)).def);
    return diffRulesets(await get(a), await get(b));
  };
  return isRulesetPath(a) && isRulesetPath(b) ? both(null) : open(both);
}
