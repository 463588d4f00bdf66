/**
 * Four eyes on the rules store: every change to the rules or the lists is a request by one
 * identified person that takes effect only when a different person with the approver role
 * approves it (tables of src/storage/migrations/002_four_eyes.sql, which enforce the same).
 *
 * - A new version is a request from the moment it is published (PgRulesetStore.publish).
 * - A rollback (an older version in force again) is requested by one person and approved by
 *   another, like a new version: nobody activates anything alone, not even an approver.
 * - A list change (add or remove a value) is a request too.
 * - Approving a ruleset request makes the version active and NOTIFYs the engines (they reload as
 *   before); approving a list request applies it (list_changes, NOTIFY). Rejecting closes it.
 *
 * Every request and decision is written to the action log in the transaction that makes it.
 */
import type pg from 'pg';
import { recordAction } from '../identity/action-log.js';
import { validateRuleset } from './compile.js';
import {
  checkListName,
  FourEyesError,
  NOTIFY_CHANNEL,
  PublishError,
  requireActor,
  RulesetStoreError,
  type PgRulesetStore,
  type RulesetMeta,
} from './pg-store.js';
import type { ListName } from './types.js';

export type RequestStatus = 'pending' | 'approved' | 'rejected';

export interface RulesetRequest {
  id: number;
  version: string;
  /** publish: a new version; activate: an older version in force again (a rollback). */
  kind: 'publish' | 'activate';
  requested_by: string;
  requested_at: Date;
  comment: string;
  /** The active version when it was requested. */
  base_version: string | null;
  status: RequestStatus;
  decided_by: string | null;
  decided_at: Date | null;
  decision_comment: string;
}

export interface ListRequest {
  id: number;
  name: ListName;
  value: string;
  op: 'add' | 'remove';
  requested_by: string;
  requested_at: Date;
  comment: string;
  status: RequestStatus;
  decided_by: string | null;
  decided_at: Date | null;
  decision_comment: string;
}

export interface Approved {
  request: RulesetRequest;
  /** The version now active, and the one it replaced. */
  version: string;
  previous: string | null;
}

type Decision = { by: string; comment?: string };

const RS_COLS =
  'id, version, kind, requested_by, requested_at, comment, base_version, status, decided_by, decided_at, decision_comment';
const LIST_COLS =
  'id, name, value, op, requested_by, requested_at, comment, status, decided_by, decided_at, decision_comment';
const withId = <T extends { id: number }>(r: Omit<T, 'id'> & { id: string | number }): T =>
  ({ ...r, id: Number(r.id) }) as T;

/** The approver may not decide their own request. */
function notOwn(requestedBy: string, by: string, what: string): void {
  if (requestedBy === by)
    throw new FourEyesError(`${by} requested ${what}: another approver must decide it (four eyes)`);
}

export class RuleApprovals {
  constructor(readonly store: PgRulesetStore) {}

  private get db(): pg.Pool {
    return this.store.db;
  }

  /** The open ruleset requests, oldest first. */
  async pending(): Promise<RulesetRequest[]> {
    const r = await this.db.query(`SELECT ${RS_COLS} FROM ruleset_requests WHERE status = 'pending' ORDER BY id`);
    return r.rows.map(withId<RulesetRequest>);
  }

  /** The decided ruleset requests, newest decision first. */
  async decided(limit = 50): Promise<RulesetRequest[]> {
    const r = await this.db.query(
      `SELECT ${RS_COLS} FROM ruleset_requests WHERE status <> 'pending' ORDER BY decided_at DESC, id DESC LIMIT $1`,
      [limit],
    );
    return r.rows.map(withId<RulesetRequest>);
  }

  /**
   * Asks for `version` (an older, approved version, or a draft from before four eyes) to become
   * the active one again: the rollback, approved like a new version. Recorded as
   * `ruleset.request_activation`.
   */
  async requestActivation(version: string, o: { by: string; comment: string }): Promise<RulesetRequest> {
    if (!o.comment.trim()) throw new RulesetStoreError('a comment saying why is required to request an activation');
    const stored = await this.store.require(version);
    const errors = validateRuleset(stored.def, this.store.opts.limits);
    if (errors.length) throw new PublishError(version, errors);
    const why: Partial<Record<RulesetMeta['status'], string>> = {
      active: `${version} is already the active ruleset`,
      pending: `${version} is awaiting approval already: an approver approves it with \`rules approve ${version}\``,
      rejected: `${version} was rejected; publish the change again under a new version`,
    };
    const refusal = why[stored.meta.status];
    if (refusal) throw new RulesetStoreError(refusal);
    return this.store.tx(async (c) => {
      await requireActor(c, o.by);
      const open = await c.query(
        `SELECT requested_by FROM ruleset_requests WHERE version = $1 AND status = 'pending'`,
        [version],
      );
      if (open.rows[0])
        throw new RulesetStoreError(`an activation of ${version} is already requested by ${open.rows[0].requested_by}`);
      const base =
        (await c.query<{ version: string }>("SELECT version FROM rulesets WHERE status = 'active'")).rows[0]?.version ??
        null;
      const r = await c.query(
        `INSERT INTO ruleset_requests (version, kind, requested_by, comment, base_version) VALUES ($1, 'activate', $2, $3, $4) RETURNING ${RS_COLS}`,
        [version, o.by, o.comment, base],
      );
      const req = withId<RulesetRequest>(r.rows[0]);
      await recordAction(c, {
        actor: o.by,
        action: 'ruleset.request_activation',
        subject: version,
        detail: { request: req.id, base, comment: o.comment },
      });
      return req;
    });
  }

  /**
   * Approves the open request for `version`: by an approver who neither requested it nor (for a
   * version never approved) wrote it. The version becomes active, the previous one retired, the
   * engines are told (NOTIFY). The version is compiled again first: one that no longer compiles
   * is refused and the active one stays.
   */
  async approve(version: string, o: Decision): Promise<Approved> {
    const stored = await this.store.require(version);
    const errors = validateRuleset(stored.def, this.store.opts.limits);
    if (errors.length) throw new PublishError(version, errors);
    return this.store.tx(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext('rulesets_activate'))");
      await requireActor(c, o.by, 'approver');
      const req = await this.openRulesetRequest(c, version);
      notOwn(req.requested_by, o.by, `${req.kind === 'publish' ? 'version' : 'the activation of'} ${version}`);
      const rs = (
        await c.query<{ author: string; approved_by: string | null }>(
          'SELECT author, approved_by FROM rulesets WHERE version = $1 FOR UPDATE',
          [version],
        )
      ).rows[0]!;
      if (!rs.approved_by && rs.author === o.by)
        throw new FourEyesError(`${o.by} wrote version ${version}: another approver must approve it (four eyes)`);
      const previous =
        (await c.query<{ version: string }>("SELECT version FROM rulesets WHERE status = 'active'")).rows[0]?.version ??
        null;
      const decided = await c.query(
        `UPDATE ruleset_requests SET status = 'approved', decided_by = $2, decided_at = now(), decision_comment = $3
          WHERE id = $1 RETURNING ${RS_COLS}`,
        [req.id, o.by, o.comment ?? ''],
      );
      await c.query("UPDATE rulesets SET status = 'retired' WHERE status = 'active'");
      await c.query(
        `UPDATE rulesets SET status = 'active',
           approved_by = coalesce(approved_by, $2), approved_at = coalesce(approved_at, now()),
           decision_comment = CASE WHEN approved_by IS NULL THEN $3 ELSE decision_comment END
         WHERE version = $1`,
        [version, o.by, o.comment ?? ''],
      );
      await c.query(
        'INSERT INTO ruleset_activations (version, previous_version, activated_by, requested_by, comment) VALUES ($1, $2, $3, $4, $5)',
        [version, previous, o.by, req.requested_by, req.comment],
      );
      await recordAction(c, {
        actor: o.by,
        action: 'ruleset.approve',
        subject: version,
        detail: { request: req.id, kind: req.kind, requested_by: req.requested_by, previous, comment: o.comment ?? '' },
      });
      await c.query('SELECT pg_notify($1, $2)', [
        NOTIFY_CHANNEL,
        JSON.stringify({ event: 'activate', version, previous }),
      ]);
      return { request: withId<RulesetRequest>(decided.rows[0]), version, previous };
    });
  }

  /** Rejects the open request for `version` (with why): a new version becomes `rejected`; nothing else changes. */
  async reject(version: string, o: Decision): Promise<RulesetRequest> {
    if (!o.comment?.trim()) throw new RulesetStoreError('a comment saying why is required to reject a request');
    return this.store.tx(async (c) => {
      await requireActor(c, o.by, 'approver');
      const req = await this.openRulesetRequest(c, version);
      notOwn(req.requested_by, o.by, `${req.kind === 'publish' ? 'version' : 'the activation of'} ${version}`);
      const decided = await c.query(
        `UPDATE ruleset_requests SET status = 'rejected', decided_by = $2, decided_at = now(), decision_comment = $3
          WHERE id = $1 RETURNING ${RS_COLS}`,
        [req.id, o.by, o.comment],
      );
      if (req.kind === 'publish')
        await c.query(`UPDATE rulesets SET status = 'rejected', decision_comment = $2 WHERE version = $1`, [
          version,
          o.comment,
        ]);
      await recordAction(c, {
        actor: o.by,
        action: 'ruleset.reject',
        subject: version,
        detail: { request: req.id, kind: req.kind, requested_by: req.requested_by, comment: o.comment },
      });
      return withId<RulesetRequest>(decided.rows[0]);
    });
  }

  private async openRulesetRequest(c: pg.PoolClient, version: string): Promise<RulesetRequest> {
    const r = await c.query(
      `SELECT ${RS_COLS} FROM ruleset_requests WHERE version = $1 AND status = 'pending' FOR UPDATE`,
      [version],
    );
    if (!r.rows[0]) {
      const s = (await c.query<{ status: string }>('SELECT status FROM rulesets WHERE version = $1', [version]))
        .rows[0];
      throw new RulesetStoreError(
        s
          ? `no open request for ${version} (it is ${s.status}); see \`fraud-engine rules pending\``
          : `no ruleset version '${version}' (see \`fraud-engine rules list\`)`,
      );
    }
    return withId<RulesetRequest>(r.rows[0]);
  }

  /**
   * Asks for `value` to be added to or removed from list `name`. Refused when it would change
   * nothing (already there / not there) or when a request for the same value is open.
   */
  async requestListChange(
    name: string,
    value: string,
    op: 'add' | 'remove',
    o: { by: string; comment?: string },
  ): Promise<ListRequest> {
    const list = checkListName(name);
    if (value === '') throw new RulesetStoreError('a list value cannot be empty');
    return this.store.tx(async (c) => {
      await requireActor(c, o.by);
      const present =
        (await c.query('SELECT 1 FROM lists WHERE name = $1 AND value = $2', [list, value])).rowCount! > 0;
      if (op === 'add' && present) throw new RulesetStoreError(`${value} is already in ${list}`);
      if (op === 'remove' && !present) throw new RulesetStoreError(`${value} is not in ${list}`);
      const open = await c.query<{ id: string; requested_by: string; op: string }>(
        `SELECT id, requested_by, op FROM list_change_requests WHERE name = $1 AND value = $2 AND status = 'pending'`,
        [list, value],
      );
      const o2 = open.rows[0];
      if (o2)
        throw new RulesetStoreError(
          `request ${o2.id} by ${o2.requested_by} (${o2.op} ${value} in ${list}) is open already`,
        );
      const r = await c.query(
        `INSERT INTO list_change_requests (name, value, op, requested_by, comment) VALUES ($1, $2, $3, $4, $5) RETURNING ${LIST_COLS}`,
        [list, value, op, o.by, o.comment ?? ''],
      );
      const req = withId<ListRequest>(r.rows[0]);
      await recordAction(c, {
        actor: o.by,
        action: 'list.request',
        subject: `list:${list}/${value}`,
        detail: { request: req.id, op, comment: o.comment ?? '' },
      });
      return req;
    });
  }

  async pendingListChanges(): Promise<ListRequest[]> {
    const r = await this.db.query(`SELECT ${LIST_COLS} FROM list_change_requests WHERE status = 'pending' ORDER BY id`);
    return r.rows.map(withId<ListRequest>);
  }

  async decidedListChanges(limit = 50): Promise<ListRequest[]> {
    const r = await this.db.query(
      `SELECT ${LIST_COLS} FROM list_change_requests WHERE status <> 'pending' ORDER BY decided_at DESC, id DESC LIMIT $1`,
      [limit],
    );
    return r.rows.map(withId<ListRequest>);
  }

  /**
   * Approves list request `id` and applies it (list_changes, NOTIFY: the engines take it up).
   * `applied` is false when the list already was as asked (changed since the request).
   */
  async approveListChange(id: number, o: Decision): Promise<{ request: ListRequest; applied: boolean }> {
    return this.store.tx(async (c) => {
      await requireActor(c, o.by, 'approver');
      const req = await this.openListRequest(c, id);
      notOwn(req.requested_by, o.by, `list change ${id}`);
      const changed =
        req.op === 'add'
          ? await c.query(
              'INSERT INTO lists (name, value, added_by, comment, approved_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name, value) DO NOTHING',
              [req.name, req.value, req.requested_by, req.comment, o.by],
            )
          : await c.query('DELETE FROM lists WHERE name = $1 AND value = $2', [req.name, req.value]);
      const applied = (changed.rowCount ?? 0) > 0;
      if (applied) {
        await c.query(
          'INSERT INTO list_changes (name, value, op, changed_by, comment, approved_by, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [req.name, req.value, req.op, req.requested_by, req.comment, o.by, id],
        );
        await c.query('SELECT pg_notify($1, $2)', [
          NOTIFY_CHANNEL,
          JSON.stringify({ event: 'lists', name: req.name, op: req.op }),
        ]);
      }
      const decided = await this.decideList(c, id, 'approved', o);
      await recordAction(c, {
        actor: o.by,
        action: 'list.approve',
        subject: `list:${req.name}/${req.value}`,
        detail: { request: id, op: req.op, requested_by: req.requested_by, applied, comment: o.comment ?? '' },
      });
      return { request: decided, applied };
    });
  }

  async rejectListChange(id: number, o: Decision): Promise<ListRequest> {
    if (!o.comment?.trim()) throw new RulesetStoreError('a comment saying why is required to reject a request');
    return this.store.tx(async (c) => {
      await requireActor(c, o.by, 'approver');
      const req = await this.openListRequest(c, id);
      notOwn(req.requested_by, o.by, `list change ${id}`);
      const decided = await this.decideList(c, id, 'rejected', o);
      await recordAction(c, {
        actor: o.by,
        action: 'list.reject',
        subject: `list:${req.name}/${req.value}`,
        detail: { request: id, op: req.op, requested_by: req.requested_by, comment: o.comment },
      });
      return decided;
    });
  }

  private async decideList(c: pg.PoolClient, id: number, status: RequestStatus, o: Decision): Promise<ListRequest> {
    const r = await c.query(
      `UPDATE list_change_requests SET status = $2, decided_by = $3, decided_at = now(), decision_comment = $4
        WHERE id = $1 RETURNING ${LIST_COLS}`,
      [id, status, o.by, o.comment ?? ''],
    );
    return withId<ListRequest>(r.rows[0]);
  }

  private async openListRequest(c: pg.PoolClient, id: number): Promise<ListRequest> {
    const r = await c.query(`SELECT ${LIST_COLS} FROM list_change_requests WHERE id = $1 FOR UPDATE`, [id]);
    const req = r.rows[0] ? withId<ListRequest>(r.rows[0]) : null;
    if (!req) throw new RulesetStoreError(`no list change request ${id} (see \`fraud-engine lists pending\`)`);
    if (req.status !== 'pending')
      throw new RulesetStoreError(`list change request ${id} was ${req.status} by ${req.decided_by} already`);
    return req;
  }
}
