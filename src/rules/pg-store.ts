/**
 * Rulesets and lists in PostgreSQL (tables of src/storage/migrations/001_rules.sql).
 *
 * - publish: a new immutable version, status pending: a change request by an identified user
 *   (a row of `users`), with why; refused, with every compiler error, when a rule does not
 *   compile or is over the compile limits (cost, sizes: config rules.*), and refused when the
 *   version id is taken.
 * - approving, rejecting, rollbacks and list changes are four-eyes requests: ./pg-approvals.ts.
 * - lists: read by the engines (changed only through an approved request).
 *
 * Nothing here runs in the decision path: engines read through ./pg-source.ts.
 */
import pg from 'pg';
import { recordAction } from '../identity/action-log.js';
import { actorRefusal } from '../identity/actor.js';
import type { Role } from '../identity/users.js';
import { requiredPgPool, type Queryable } from '../storage/pool.js';
import type { EngineConfig } from '../config/config.js';
import { validateRuleset } from './compile.js';
import type { RuleLimits } from './cost.js';
import { diffRulesets, type RulesetDiff } from './diff.js';
import {
  LIST_NAMES,
  RuleError,
  type ListName,
  type RuleAction,
  type RuleDef,
  type RulesetDef,
  type Thresholds,
} from './types.js';

/** The channel engines LISTEN on; payload: JSON {event: 'activate' | 'lists', ...}. */
export const NOTIFY_CHANNEL = 'fraud_rules';

export const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * pending: a change request (published, awaiting a second person's approval); active: approved
 * and in force; retired: was active; rejected: closed by an approver; draft: published before
 * four eyes, never active (activating it is a request like a rollback).
 */
export type RulesetStatus = 'pending' | 'draft' | 'active' | 'retired' | 'rejected';

export interface RulesetMeta {
  version: string;
  status: RulesetStatus;
  author: string;
  created_at: Date;
  comment: string;
  description: string;
  thresholds: Thresholds;
  source: string;
  rules: number;
  /** Last time it became active, if ever. */
  activated_at: Date | null;
  /** Who approved it first (never the author), when, and what they said. */
  approved_by: string | null;
  approved_at: Date | null;
  decision_comment: string;
}

export interface StoredRuleset {
  meta: RulesetMeta;
  def: RulesetDef;
}

export interface ListEntry {
  name: ListName;
  value: string;
  added_by: string;
  added_at: Date;
  comment: string;
  /** Null for values added before four eyes. */
  approved_by: string | null;
}

/** A refusal the user can act on (unknown version, version taken, bad input). */
export class RulesetStoreError extends Error {}

/** A refusal of four eyes: an unknown or disabled user, a missing role, approving one's own request. */
export class FourEyesError extends RulesetStoreError {}

/**
 * Throws FourEyesError unless `username` is an enabled user (holding `role` when given; admin
 * holds every role). Read in the caller's transaction, so the check and the change agree.
 */
export async function requireActor(db: Queryable, username: string, role?: Role): Promise<void> {
  const refusal = await actorRefusal(db, username, role);
  if (refusal) throw new FourEyesError(refusal);
}

/** A ruleset refused because rules do not compile; `errors` has every one of them. */
export class PublishError extends RulesetStoreError {
  constructor(
    readonly version: string,
    readonly errors: RuleError[],
  ) {
    super(
      `ruleset ${version} refused: ${errors.length} rule error(s); the active ruleset is unchanged\n${errors.map((e) => `  ${e.message}`).join('\n')}`,
    );
  }
}

/** A pool for the rules tooling and the engines' ruleset source. */
export function rulesPool(
  cfg: EngineConfig['postgres'],
  opts: { max?: number; applicationName?: string } = {},
): pg.Pool {
  // A hung database must not hang the engine's reload loop: it keeps the last good ruleset.
  const bounds = { connectionTimeoutMillis: 3_000, queryTimeoutMillis: 5_000 };
  const pool = { max: opts.max ?? 2, applicationName: opts.applicationName ?? 'fraud-engine-rules', ...bounds };
  return requiredPgPool(cfg, pool, 'rulesets and lists need PostgreSQL', RulesetStoreError);
}

/** A row of META_SQL: the metadata, with the rule count as PostgreSQL's bigint text. */
type RulesetRow = Omit<RulesetMeta, 'rules'> & { rules: string | number };
interface RuleRow {
  id: string;
  description: string;
  expression: string;
  action: string;
  priority: number;
  mode: 'active' | 'shadow';
  owner: string;
  position: number;
}

const META_SQL = `
  SELECT r.version, r.status, r.author, r.created_at, r.comment, r.description, r.thresholds, r.source,
         (SELECT count(*) FROM rules x WHERE x.ruleset_version = r.version) AS rules,
         (SELECT max(a.activated_at) FROM ruleset_activations a WHERE a.version = r.version) AS activated_at,
         r.approved_by, r.approved_at, r.decision_comment
    FROM rulesets r`;

const toMeta = (r: RulesetRow): RulesetMeta => ({
  ...r,
  rules: Number(r.rules),
  thresholds: { review: Number(r.thresholds.review), decline: Number(r.thresholds.decline) },
});

export function checkListName(name: string): ListName {
  if (!(LIST_NAMES as readonly string[]).includes(name))
    throw new RulesetStoreError(`unknown list '${name}' (known: ${LIST_NAMES.join(', ')})`);
  return name as ListName;
}

export class PgRulesetStore {
  /** `limits`: the compile limits (config rules.*) publish and activate check a version against. */
  constructor(
    readonly db: pg.Pool,
    readonly opts: { limits?: RuleLimits } = {},
  ) {}

  /** `fn` in one transaction of the store's pool (for ./pg-approvals.ts too). */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.db.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  /**
   * Publishes `def` as a new version: `opts.version` or the files' `version`, status pending (a
   * change request by `author`, an enabled user; ./pg-approvals.ts approves it). Recorded as
   * `ruleset.submit` in the action log. Throws PublishError (every compiler error), FourEyesError
   * (unknown author) or RulesetStoreError (version taken, bad id).
   */
  async publish(
    def: RulesetDef,
    opts: { comment: string; author: string; version?: string; source?: string },
  ): Promise<RulesetMeta> {
    const version = opts.version ?? def.version;
    if (!VERSION_RE.test(version))
      throw new RulesetStoreError(
        `ruleset version '${version}' is not a valid id (letters, digits, '.', '_', '-'; at most 64)`,
      );
    if (!opts.comment.trim()) throw new RulesetStoreError('a comment saying why is required to publish a ruleset');
    if (!opts.author.trim()) throw new RulesetStoreError('an author is required to publish a ruleset');
    const errors = validateRuleset({ ...def, version }, this.opts.limits);
    if (errors.length) throw new PublishError(version, errors);
    try {
      await this.tx(async (c) => {
        const taken = await c.query<{ author: string; created_at: Date; status: string }>(
          'SELECT author, created_at, status FROM rulesets WHERE version = $1',
          [version],
        );
        if (taken.rows[0]) throw this.taken(version, taken.rows[0]);
        await requireActor(c, opts.author);
        await c.query(
          "INSERT INTO rulesets (version, status, author, comment, description, thresholds, source) VALUES ($1, 'pending', $2, $3, $4, $5, $6)",
          [version, opts.author, opts.comment, def.description, JSON.stringify(def.thresholds), opts.source ?? ''],
        );
        if (def.rules.length) {
          const col = <K extends keyof RuleDef>(k: K) => def.rules.map((r) => r[k]);
          await c.query(
            `INSERT INTO rules (ruleset_version, id, description, expression, action, priority, mode, owner, position)
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[], $9::int[])`,
            [
              version,
              col('id'),
              col('description'),
              col('expression'),
              col('action'),
              col('priority'),
              col('mode'),
              col('owner'),
              def.rules.map((_, i) => i),
            ],
          );
        }
        const base = (await c.query<{ version: string }>("SELECT version FROM rulesets WHERE status = 'active'"))
          .rows[0]?.version;
        const req = await c.query<{ id: string }>(
          "INSERT INTO ruleset_requests (version, kind, requested_by, comment, base_version) VALUES ($1, 'publish', $2, $3, $4) RETURNING id",
          [version, opts.author, opts.comment, base ?? null],
        );
        await recordAction(c, {
          actor: opts.author,
          action: 'ruleset.submit',
          subject: version,
          detail: {
            request: Number(req.rows[0]!.id),
            rules: def.rules.length,
            base: base ?? null,
            comment: opts.comment,
          },
        });
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505') {
        const row = (
          await this.db.query<{ author: string; created_at: Date; status: string }>(
            'SELECT author, created_at, status FROM rulesets WHERE version = $1',
            [version],
          )
        ).rows[0];
        throw this.taken(version, row);
      }
      throw err;
    }
    return (await this.meta(version))!;
  }

  private taken(version: string, row?: { author: string; created_at: Date; status: string }): RulesetStoreError {
    const who = row ? ` (${row.status}, published ${row.created_at.toISOString()} by ${row.author})` : '';
    return new RulesetStoreError(
      `ruleset version '${version}' already exists${who}: versions are immutable; publish under a new id with --version <id> or bump \`version\` in the files`,
    );
  }

  async list(): Promise<RulesetMeta[]> {
    const r = await this.db.query<RulesetRow>(`${META_SQL} ORDER BY r.created_at DESC, r.version`);
    return r.rows.map(toMeta);
  }

  async meta(version: string): Promise<RulesetMeta | null> {
    const r = await this.db.query<RulesetRow>(`${META_SQL} WHERE r.version = $1`, [version]);
    return r.rows[0] ? toMeta(r.rows[0]) : null;
  }

  /** A version with its rules (lists are not versioned: see lists()). */
  async show(version: string): Promise<StoredRuleset | null> {
    const meta = await this.meta(version);
    if (!meta) return null;
    const rules = await this.db.query<RuleRow>(
      'SELECT id, description, expression, action, priority, mode, owner, position FROM rules WHERE ruleset_version = $1 ORDER BY position, id',
      [version],
    );
    const def: RulesetDef = {
      version: meta.version,
      description: meta.description,
      thresholds: meta.thresholds,
      rules: rules.rows.map((r) => ({
        id: r.id,
        description: r.description,
        expression: r.expression,
        action: r.action as RuleAction,
        priority: r.priority,
        mode: r.mode,
        owner: r.owner,
        source: { file: `postgres:ruleset ${meta.version}`, line: r.position + 1 },
      })),
      lists: {},
    };
    return { meta, def };
  }

  async require(version: string): Promise<StoredRuleset> {
    const s = await this.show(version);
    if (!s) throw new RulesetStoreError(`no ruleset version '${version}' (see \`fraud-engine rules list\`)`);
    return s;
  }

  async diff(a: string, b: string): Promise<RulesetDiff> {
    const [x, y] = await Promise.all([this.require(a), this.require(b)]);
    return diffRulesets(x.def, y.def);
  }

  async activeVersion(): Promise<string | null> {
    const r = await this.db.query<{ version: string }>("SELECT version FROM rulesets WHERE status = 'active'");
    return r.rows[0]?.version ?? null;
  }

  /** The last activations: `activated_by` approved, `requested_by` asked (null before four eyes). */
  async activations(limit = 20): Promise<
    {
      version: string;
      previous_version: string | null;
      activated_by: string;
      requested_by: string | null;
      activated_at: Date;
      comment: string;
    }[]
  > {
    return (
      await this.db.query(
        'SELECT version, previous_version, activated_by, requested_by, activated_at, comment FROM ruleset_activations ORDER BY id DESC LIMIT $1',
        [limit],
      )
    ).rows;
  }

  async listEntries(name?: string): Promise<ListEntry[]> {
    if (name !== undefined) checkListName(name);
    const r = await this.db.query<ListEntry>(
      `SELECT name, value, added_by, added_at, comment, approved_by FROM lists ${name ? 'WHERE name = $1' : ''} ORDER BY name, value`,
      name ? [name] : [],
    );
    return r.rows;
  }

  /** Every list's values, as the engines use them. */
  async lists(): Promise<Partial<Record<ListName, string[]>>> {
    const r = await this.db.query<{ name: string; value: string }>(
      'SELECT name, value FROM lists ORDER BY name, value',
    );
    const out: Partial<Record<ListName, string[]>> = {};
    for (const row of r.rows) {
      if (!(LIST_NAMES as readonly string[]).includes(row.name)) continue;
      (out[row.name as ListName] ??= []).push(row.value);
    }
    return out;
  }

  /** What the engines poll, in one round trip: the active version and the lists' change stamp. */
  async state(): Promise<{ active: string | null; listsStamp: string }> {
    const r = await this.db.query<{ active: string | null; stamp: string }>(
      "SELECT (SELECT version FROM rulesets WHERE status = 'active') AS active, (SELECT coalesce(max(id), 0)::text FROM list_changes) AS stamp",
    );
    return { active: r.rows[0]!.active, listsStamp: r.rows[0]!.stamp };
  }
}
