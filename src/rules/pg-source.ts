/**
 * The ruleset of `run` when PostgreSQL is configured: the active version and the lists, read
 * from the database, compiled once per version, swapped in between two batches.
 *
 * - LISTEN fraud_rules: an activation or a list change is taken up within milliseconds; a poll
 *   every `rules.poll_interval_ms` is the backstop (a lost connection, a missed notification).
 * - PostgreSQL down: the last good ruleset stays in force; each failed attempt is counted
 *   (fraud_ruleset_reloads_total{result="error"}) and the outage is logged once.
 * - A stored version that does not compile (it compiled when published: a library upgrade, a
 *   renamed feature) is refused: the running one stays, result="compile_error", logged once.
 * - No active version yet (a fresh install), or no database at start-up: the files of
 *   `rules.dir` (config/rules) decide until a version is activated.
 * - The engine never changes the schema (its role only reads rules and lists): `fraud-engine
 *   migrate` creates the tables. Tables missing: an error naming that command, and the files
 *   decide until they appear (the poll takes them up).
 *
 * Lists come from PostgreSQL (they take over from lists.yaml) as soon as it answers.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import type { EngineConfig } from '../config/config.js';
import { setInfo, type Metrics } from '../observability/metrics.js';
import { listenWithRetry, type Listener } from '../storage/listen.js';
import { compileRuleset, type CompiledRuleset } from './compile.js';
import { RuleLists } from './context.js';
import { ruleLimitsOf, type RuleLimits } from './cost.js';
import { StaticRulesetSource } from './file-source.js';
import { loadRulesetFiles } from './load.js';
import { NOTIFY_CHANNEL, PgRulesetStore, rulesPool } from './pg-store.js';
import { RuleError } from './types.js';
import { CoalescedRefresh } from '../storage/coalesced-refresh.js';

export interface PgRulesetSourceOptions {
  postgres: EngineConfig['postgres'];
  pollIntervalMs: number;
  /** The ruleset files used while the database has no active version (config/rules). */
  fallbackDir: string;
  log: Logger;
  metrics?: Metrics;
  /** LISTEN for notifications (default true); false behind a transaction-mode pooler (PgBouncer), polling only. */
  listen?: boolean;
  /** Compile limits (config rules.*; defaults: DEFAULT_RULE_LIMITS): a version over them is refused like one that does not compile. */
  limits?: RuleLimits;
}

type Origin = 'postgres' | 'files';

/** SQLSTATE undefined_table: the schema has not been migrated. */
const UNDEFINED_TABLE = '42P01';
/** SQLSTATE insufficient_privilege: the engine's role was not granted its reads. */
const NOT_GRANTED = '42501';
const NOT_GRANTED_MSG =
  "the engine's PostgreSQL role may not read the rules tables: run `fraud-engine migrate --engine-role ROLE` with the owner's role";

export class PgRulesetSource {
  /** Set by start(): never null once the source is handed out. */
  private rs: CompiledRuleset | null = null;
  private origin: Origin = 'files';
  private fileRuleset: CompiledRuleset | null = null;
  /** Compiled rules by version (without lists), so that a lists change never recompiles. */
  private readonly compiled = new Map<string, CompiledRuleset>();
  private lists: RuleLists | null = null;
  private listsStamp: string | null = null;
  private refused: string | null = null;
  private down = false;
  /** True while the last attempt found no rules tables (SQLSTATE 42P01): the schema is not migrated. */
  private tablesMissing = false;
  /** True while the last attempt was refused for want of a grant (SQLSTATE 42501). */
  private notGranted = false;
  private readonly refresher = new CoalescedRefresh(
    () => this.refreshOnce(),
    () => this.stopped,
  );
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private listener: Listener | null = null;
  private readonly store: PgRulesetStore;

  private constructor(
    private readonly opts: PgRulesetSourceOptions,
    private readonly pool: pg.Pool,
  ) {
    this.store = new PgRulesetStore(pool, { limits: opts.limits });
  }

  /** Connects, loads the active version (or the files), LISTENs and starts polling. Never fails on the database. */
  static async start(opts: PgRulesetSourceOptions): Promise<PgRulesetSource> {
    const pool = rulesPool(opts.postgres, { applicationName: 'fraud-engine-rules-source' });
    pool.on('error', (err) => opts.log.warn({ err }, 'postgres pool error (rules)'));
    const src = new PgRulesetSource(opts, pool);
    await src.refresh();
    if (!src.rs) {
      // PostgreSQL unreachable (or not migrated) at start: decide with the files until it answers.
      src.rs = src.files();
      opts.metrics?.rulesetReloads.inc({ result: 'fallback' });
      if (src.unmigrated)
        opts.log.error(
          { ruleset: src.rs.version, dir: opts.fallbackDir },
          'the rules tables do not exist in PostgreSQL (or are not visible to this role): run `fraud-engine migrate`; deciding with the ruleset files meanwhile',
        );
      else if (src.notGranted)
        opts.log.error(
          { ruleset: src.rs.version, dir: opts.fallbackDir },
          `${NOT_GRANTED_MSG}; deciding with the ruleset files meanwhile`,
        );
      else
        opts.log.warn(
          { ruleset: src.rs.version, dir: opts.fallbackDir },
          'PostgreSQL unavailable at start: deciding with the ruleset files until it answers',
        );
    }
    if (opts.listen !== false) await src.listen();
    // 0: LISTEN alone (no backstop; a lost notification waits for the next one or a restart).
    if (opts.pollIntervalMs > 0) {
      src.timer = setInterval(
        () => {
          void src.refresh();
        },
        Math.max(50, opts.pollIntervalMs),
      );
      src.timer.unref();
    }
    return src;
  }

  /** The ruleset in force (read once per batch by the engine). */
  current(): CompiledRuleset {
    return this.rs!;
  }

  /** Where the ruleset in force comes from: an active version in PostgreSQL, or the files. */
  get source(): Origin {
    return this.origin;
  }

  /** True while the last attempt found no rules tables: the database needs `fraud-engine migrate`. */
  get unmigrated(): boolean {
    return this.tablesMissing;
  }

  /** True while the last attempt to read PostgreSQL failed. */
  get databaseDown(): boolean {
    return this.down;
  }

  /** Checks the database now (also run by the poll and on every notification); never throws. */
  refresh(): Promise<void> {
    return this.refresher.run();
  }

  private files(): CompiledRuleset {
    if (!this.fileRuleset)
      this.fileRuleset = compileRuleset(loadRulesetFiles(this.opts.fallbackDir), undefined, this.opts.limits);
    return this.lists ? { ...this.fileRuleset, lists: this.lists } : this.fileRuleset;
  }

  private async refreshOnce(): Promise<void> {
    const { log, metrics } = this.opts;
    let state: Awaited<ReturnType<PgRulesetStore['state']>>;
    let lists = this.lists;
    try {
      state = await this.store.state();
      if (state.listsStamp !== this.listsStamp) lists = new RuleLists(await this.store.lists());
    } catch (err) {
      metrics?.rulesetReloads.inc({ result: 'error' });
      const code = (err as { code?: string }).code;
      if (!this.down && this.rs)
        if (code === UNDEFINED_TABLE)
          log.error(
            { err, ruleset: this.rs.version },
            'the rules tables do not exist in PostgreSQL (or are not visible to this role): run `fraud-engine migrate`; keeping the ruleset in force',
          );
        else if (code === NOT_GRANTED)
          log.error({ err, ruleset: this.rs.version }, `${NOT_GRANTED_MSG}; keeping the ruleset in force`);
        else log.warn({ err, ruleset: this.rs.version }, 'PostgreSQL unavailable: keeping the ruleset in force');
      this.down = true;
      this.tablesMissing = code === UNDEFINED_TABLE;
      this.notGranted = code === NOT_GRANTED;
      return;
    }
    if (this.down) log.info({ ruleset: this.rs?.version }, 'PostgreSQL available again');
    this.down = false;
    this.tablesMissing = false;
    this.notGranted = false;
    const listsChanged = state.listsStamp !== this.listsStamp;

    let base: CompiledRuleset | null = null;
    let origin: Origin = 'postgres';
    if (state.active === null) {
      origin = 'files';
      this.lists = lists;
      base = this.files();
    } else if (state.active === this.refused) {
      base = null; // already refused: keep what runs
    } else {
      base = this.compiled.get(state.active) ?? null;
      if (!base) {
        try {
          const stored = await this.store.require(state.active);
          base = compileRuleset(stored.def, undefined, this.opts.limits);
          this.compiled.clear(); // keep one version: the active one
          this.compiled.set(state.active, base);
        } catch (err) {
          if (err instanceof RuleError) {
            metrics?.rulesetReloads.inc({ result: 'compile_error' });
            log.error(
              { version: state.active, err, ruleset: this.rs?.version ?? null },
              'active ruleset version does not compile: keeping the ruleset in force',
            );
            this.refused = state.active;
          } else {
            metrics?.rulesetReloads.inc({ result: 'error' });
            log.warn(
              { version: state.active, err },
              'could not load the active ruleset version: keeping the ruleset in force',
            );
          }
          base = null;
        }
      }
    }

    // Nothing in force yet and the active version refused: the files decide.
    if (!this.rs && !base) {
      this.lists = lists;
      base = this.files();
      origin = 'files';
    }
    const prev = this.rs;
    const versionChanged = base !== null && (!prev || base.version !== prev.version || origin !== this.origin);
    if (!versionChanged && !listsChanged) return;
    this.lists = lists;
    this.listsStamp = state.listsStamp;
    const next = (base ?? prev)!;
    this.rs = lists ? { ...next, lists } : next;
    if (versionChanged) this.origin = origin;
    if (versionChanged) {
      metrics?.rulesetReloads.inc({ result: 'ok' });
      if (metrics) setInfo(metrics.rulesetInfo, this.rs.version);
      log.info({ version: this.rs.version, previous: prev?.version ?? null, source: this.origin }, 'ruleset loaded');
    } else {
      metrics?.rulesetReloads.inc({ result: 'lists' });
      log.info({ version: this.rs.version }, 'lists reloaded');
    }
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    this.listener = await listenWithRetry(this.opts.postgres, {
      channel: NOTIFY_CHANNEL,
      applicationName: 'fraud-engine-rules-listen',
      log: this.opts.log,
      // Also after every (re)connection: whatever happened while not listening.
      onNotify: () => void this.refresh(),
    });
    if (this.stopped) await this.listener.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.refresher.settled();
    await this.listener?.stop();
    await this.pool.end().catch(() => undefined);
  }
}

/**
 * The engine's rulesets: PostgreSQL configured, its active version, hot-reloaded (the files of
 * `dir` while none is active); else the files of `dir`.
 */
export async function rulesetSourceOf(
  cfg: EngineConfig,
  o: { dir: string; log: Logger; metrics?: Metrics },
): Promise<PgRulesetSource | StaticRulesetSource> {
  if (!cfg.postgres.url) return StaticRulesetSource.fromFiles(o.dir, ruleLimitsOf(cfg.rules));
  return PgRulesetSource.start({
    postgres: cfg.postgres,
    pollIntervalMs: cfg.rules.poll_interval_ms,
    fallbackDir: o.dir,
    log: o.log,
    metrics: o.metrics,
    limits: ruleLimitsOf(cfg.rules),
  });
}
