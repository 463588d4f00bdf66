/**
 * The analysts' tasks on the PostgreSQL rules store, without the command line (`rules …`,
 * `lists …`, and any other front end): open the store from the configuration with the schema
 * migrated, publish a version (and activate it), and find the ruleset a backtest compares with.
 */
import { userInfo } from 'node:os';
import type pg from 'pg';
import type { EngineConfig } from '../config/config.js';
import { migrate } from '../storage/migrate.js';
import { compileRuleset, type CompiledRuleset } from './compile.js';
import { RuleLists } from './context.js';
import { ruleLimitsOf, type RuleLimits } from './cost.js';
import { diffRulesets, type RulesetDiff } from './diff.js';
import { isRulesetPath } from './files.js';
import { loadRulesetFiles } from './load.js';
import { PgRulesetStore, RulesetStoreError, rulesPool, type Activation, type RulesetMeta } from './pg-store.js';
import type { RulesetDef } from './types.js';

/** No PostgreSQL configured for a task that needs it. */
export class NoDatabaseError extends RulesetStoreError {
  constructor() {
    super('this command needs PostgreSQL: set FRAUD_POSTGRES_URL (postgres.url)');
  }
}

/** Who changes the rules when no --author is given: FRAUD_RULES_AUTHOR, else the system user. */
export function defaultAuthor(): string {
  try {
    return process.env.FRAUD_RULES_AUTHOR ?? userInfo().username;
  } catch {
    return 'unknown';
  }
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
  meta: RulesetMeta;
  /** The activation, when asked for. */
  activation: Activation | null;
  /** List values in the files: not part of a version (lists live in PostgreSQL). */
  listValuesIgnored: number;
}

/** Publishes `def` as a new version by `author` with `comment`, and activates it when `activate`. */
export async function publishRuleset(
  store: PgRulesetStore,
  def: RulesetDef,
  o: { comment: string; author: string; version?: string; source: string; activate: boolean },
): Promise<Published> {
  const meta = await store.publish(def, { comment: o.comment, author: o.author, version: o.version, source: o.source });
  const activation = o.activate ? await store.activate(meta.version, { by: o.author, comment: o.comment }) : null;
  return { meta, activation, listValuesIgnored: Object.values(def.lists).reduce((n, v) => n + (v?.length ?? 0), 0) };
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
