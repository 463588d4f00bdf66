/**
 * The model registry in PostgreSQL (tables of src/storage/migrations/004_model_versions.sql): a
 * promotion is a versioned change under four eyes, as a ruleset is.
 *
 * - publish: a model file (checked first: ./model-file.ts) for a role (champion or challenger), by
 *   an identified user, with why: a pending row and its request. A version names one file: the
 *   same version with other bytes is refused.
 * - approve: by an approver who did not request it, after the file is hashed again (other bytes
 *   than published: refused). The row becomes active for its role, the one before retired; a
 *   champion that was the active challenger leaves the challenger's role (it was promoted). The
 *   engines are told (NOTIFY fraud_models) and swap between two batches (./model-source.ts).
 * - retire: the challenger leaves its role; a request too. A champion is replaced, never retired.
 * - reject: closes a request.
 *
 * Every request and decision is written to the action log in the transaction that makes it.
 */
import type pg from 'pg';
import { actorRefusal } from '../../identity/actor.js';
import { recordAction } from '../../identity/action-log.js';
import type { Role as UserRole } from '../../identity/users.js';
import { inTransaction, type Queryable } from '../../storage/pool.js';
import { ModelFileError, sha256OfFile, type ModelCandidate } from './model-file.js';

/** The channel engines LISTEN on; payload: JSON {event: 'activate' | 'retire', role, version}. */
export const MODELS_NOTIFY_CHANNEL = 'fraud_models';

export const MODEL_ROLES = ['champion', 'challenger'] as const;
export type ModelRole = (typeof MODEL_ROLES)[number];
export type ModelState = 'pending' | 'active' | 'rejected' | 'retired';

export interface ModelVersionRow {
  id: number;
  version: string;
  role: ModelRole;
  onnx_path: string;
  sha256: string;
  features: number;
  author: string;
  comment: string;
  created_at: Date;
  state: ModelState;
  approved_by: string | null;
  approved_at: Date | null;
  retired_at: Date | null;
  decision_comment: string;
}

export interface ModelRequest {
  id: number;
  model_id: number;
  version: string;
  role: ModelRole;
  /** The published file and its hash (of the row the request is about). */
  onnx_path: string;
  sha256: string;
  /** publish: the version active for its role once approved; retire: the challenger leaves its role. */
  kind: 'publish' | 'retire';
  requested_by: string;
  requested_at: Date;
  comment: string;
  /** The version active in the role when requested. */
  base_version: string | null;
  status: 'pending' | 'approved' | 'rejected';
  decided_by: string | null;
  decided_at: Date | null;
  decision_comment: string;
}

/** What the engines read: per role, the approved version in force, and whether the registry governs the role at all. */
export interface RegistryState {
  role: ModelRole;
  /** Null: no version active (none ever approved, or the challenger retired). */
  active: Pick<ModelVersionRow, 'id' | 'version' | 'onnx_path' | 'sha256'> | null;
  /**
   * True once a version was ever approved for the role: from then on the registry decides (a
   * retired challenger means none), not the configuration's model.path / model.challenger_path.
   */
  governed: boolean;
}

/** A refusal the user can act on (unknown version, nothing to approve, a file that changed). */
export class ModelRegistryError extends Error {
  override name = 'ModelRegistryError';
}

/** A refusal of four eyes: an unknown or disabled user, a missing role, deciding one's own request. */
export class ModelFourEyesError extends ModelRegistryError {
  override name = 'ModelFourEyesError';
}

const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ROW_COLS =
  'id, version, role, onnx_path, sha256, features, author, comment, created_at, state, approved_by, approved_at, retired_at, decision_comment';
const REQ_COLS = `r.id, r.model_id, m.version, m.role, m.onnx_path, m.sha256, r.kind, r.requested_by, r.requested_at, r.comment, r.base_version,
  r.status, r.decided_by, r.decided_at, r.decision_comment`;
const REQ_FROM = 'model_requests r JOIN model_versions m ON m.id = r.model_id';

type Decision = { by: string; comment?: string };

const num = <T extends { id: number }>(r: Omit<T, 'id' | 'model_id'> & { id: string | number }): T => {
  const o = { ...r, id: Number(r.id) } as Record<string, unknown>;
  if ('model_id' in o) o.model_id = Number(o.model_id);
  return o as unknown as T;
};

export function checkRole(role: string): ModelRole {
  if (!(MODEL_ROLES as readonly string[]).includes(role))
    throw new ModelRegistryError(`unknown model role '${role}' (${MODEL_ROLES.join(' or ')})`);
  return role as ModelRole;
}

async function requireActor(db: Queryable, username: string, role?: UserRole): Promise<void> {
  const refusal = await actorRefusal(db, username, role);
  if (refusal) throw new ModelFourEyesError(refusal);
}

/** The registry's state per role, in one round trip (the engine's poll; its role reads model_versions only). */
export async function registryState(db: Queryable): Promise<RegistryState[]> {
  const r = await db.query<{ role: ModelRole; active: RegistryState['active']; governed: boolean }>(
    `SELECT r.role,
            (SELECT json_build_object('id', m.id, 'version', m.version, 'onnx_path', m.onnx_path, 'sha256', m.sha256)
               FROM model_versions m WHERE m.role = r.role AND m.state = 'active') AS active,
            EXISTS (SELECT 1 FROM model_versions m WHERE m.role = r.role AND m.state IN ('active', 'retired')) AS governed
       FROM (VALUES ('champion'), ('challenger')) AS r(role)`,
  );
  return r.rows.map((x) => ({ ...x, active: x.active ? { ...x.active, id: Number(x.active.id) } : null }));
}

export class ModelRegistry {
  constructor(readonly db: pg.Pool) {}

  /**
   * Publishes a checked file (./model-file.ts inspectModelFile) for `role`: a pending version
   * and its request by `by`, an enabled user. Recorded as `model.submit`.
   */
  async publish(c: ModelCandidate, o: { role: ModelRole; by: string; comment: string }): Promise<ModelVersionRow> {
    const role = checkRole(o.role);
    if (!VERSION_RE.test(c.version))
      throw new ModelRegistryError(
        `model version '${c.version}' (its metadata's model_version) is not a valid id (letters, digits, '.', '_', '-'; at most 128)`,
      );
    if (!o.comment.trim()) throw new ModelRegistryError('a comment saying why is required to publish a model');
    return inTransaction(this.db, async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('model_versions'))");
      await requireActor(tx, o.by);
      const same = await tx.query<{ sha256: string; role: string; state: string }>(
        'SELECT sha256, role, state FROM model_versions WHERE version = $1 ORDER BY id',
        [c.version],
      );
      const other = same.rows.find((r) => r.sha256 !== c.sha256);
      if (other)
        throw new ModelRegistryError(
          `model version ${c.version} was published with another file (sha256 ${other.sha256}): a version names one file; give the new model its own model_version in its metadata`,
        );
      const open = await openRequestsOf(tx, c.version);
      if (open)
        throw new ModelRegistryError(
          `model version ${c.version} has an open request already (${open}): an approver decides it first (\`fraud-engine models list\`)`,
        );
      if (same.rows.some((r) => r.role === role && r.state === 'active'))
        throw new ModelRegistryError(`model version ${c.version} is the active ${role} already`);
      const base = await activeVersion(tx, role);
      const row = await tx.query(
        `INSERT INTO model_versions (version, role, onnx_path, sha256, features, author, comment)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${ROW_COLS}`,
        [c.version, role, c.path, c.sha256, c.features, o.by, o.comment],
      );
      const published = num<ModelVersionRow>(row.rows[0]);
      const req = await tx.query<{ id: string }>(
        `INSERT INTO model_requests (model_id, kind, requested_by, comment, base_version) VALUES ($1, 'publish', $2, $3, $4) RETURNING id`,
        [published.id, o.by, o.comment, base],
      );
      await recordAction(tx, {
        actor: o.by,
        action: 'model.submit',
        subject: `model:${c.version}`,
        detail: { request: Number(req.rows[0]!.id), role, sha256: c.sha256, path: c.path, base, comment: o.comment },
      });
      return published;
    });
  }

  /** Asks for the active challenger to leave its role (no challenger scored any more). Recorded as `model.request_retire`. */
  async requestRetire(role: string, o: { by: string; comment: string }): Promise<ModelRequest> {
    if (checkRole(role) !== 'challenger')
      throw new ModelRegistryError(
        'a champion is not retired (the engine always decides with one): publish its successor as champion instead',
      );
    if (!o.comment.trim()) throw new ModelRegistryError('a comment saying why is required to retire a model');
    return inTransaction(this.db, async (tx) => {
      await requireActor(tx, o.by);
      const active = (
        await tx.query<{ id: string; version: string }>(
          "SELECT id, version FROM model_versions WHERE role = 'challenger' AND state = 'active'",
        )
      ).rows[0];
      if (!active)
        throw new ModelRegistryError(
          'no challenger is active in the registry (one set by model.challenger_path is removed from the configuration)',
        );
      const open = await openRequestsOf(tx, active.version);
      if (open)
        throw new ModelRegistryError(
          `model version ${active.version} has an open request already (${open}): an approver decides it first`,
        );
      const r = await tx.query<{ id: string }>(
        `INSERT INTO model_requests (model_id, kind, requested_by, comment, base_version) VALUES ($1, 'retire', $2, $3, $4) RETURNING id`,
        [active.id, o.by, o.comment, active.version],
      );
      const id = Number(r.rows[0]!.id);
      await recordAction(tx, {
        actor: o.by,
        action: 'model.request_retire',
        subject: `model:${active.version}`,
        detail: { request: id, role: 'challenger', comment: o.comment },
      });
      return (await this.request(tx, id))!;
    });
  }

  /**
   * Approves the open request for `version` (an approver who did not request it). A publication
   * is approved only while the file still has the published bytes; the version becomes active
   * for its role and the engines are told.
   */
  async approve(version: string, o: Decision): Promise<{ request: ModelRequest; previous: string | null }> {
    const pending = await this.openRequest(this.db, version);
    if (pending.kind === 'publish') {
      // Hashed outside the transaction (a file read); the row's hash is immutable once published.
      const row = (
        await this.db.query<{ onnx_path: string; sha256: string }>(
          'SELECT onnx_path, sha256 FROM model_versions WHERE id = $1',
          [pending.model_id],
        )
      ).rows[0]!;
      let now: string;
      try {
        now = await sha256OfFile(row.onnx_path);
      } catch (err) {
        throw new ModelRegistryError(`${(err as ModelFileError).message}: nothing approved`);
      }
      if (now !== row.sha256)
        throw new ModelRegistryError(
          `model file ${row.onnx_path} changed since ${version} was published (sha256 ${now}, published ${row.sha256}): nothing approved; publish the new file under a new version`,
        );
    }
    return inTransaction(this.db, async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('model_versions'))");
      await requireActor(tx, o.by, 'approver');
      const req = await this.openRequest(tx, version, true);
      if (req.id !== pending.id)
        throw new ModelRegistryError(`the request for ${version} changed meanwhile: try again`);
      if (req.requested_by === o.by)
        throw new ModelFourEyesError(
          `${o.by} requested ${req.kind === 'publish' ? `model ${version} as ${req.role}` : `retiring ${version}`}: another approver must decide it (four eyes)`,
        );
      const previous = await activeVersion(tx, req.role);
      if (req.kind === 'publish') {
        await tx.query(
          "UPDATE model_versions SET state = 'retired', retired_at = now() WHERE role = $1 AND state = 'active'",
          [req.role],
        );
        // The challenger promoted: it no longer challenges itself.
        if (req.role === 'champion')
          await tx.query(
            "UPDATE model_versions SET state = 'retired', retired_at = now() WHERE role = 'challenger' AND state = 'active' AND version = $1",
            [version],
          );
        await tx.query(
          "UPDATE model_versions SET state = 'active', approved_by = $2, approved_at = now(), decision_comment = $3 WHERE id = $1",
          [req.model_id, o.by, o.comment ?? ''],
        );
      } else {
        await tx.query("UPDATE model_versions SET state = 'retired', retired_at = now() WHERE id = $1", [req.model_id]);
      }
      await tx.query(
        "UPDATE model_requests SET status = 'approved', decided_by = $2, decided_at = now(), decision_comment = $3 WHERE id = $1",
        [req.id, o.by, o.comment ?? ''],
      );
      await recordAction(tx, {
        actor: o.by,
        action: 'model.approve',
        subject: `model:${version}`,
        detail: {
          request: req.id,
          kind: req.kind,
          role: req.role,
          requested_by: req.requested_by,
          previous,
          comment: o.comment ?? '',
        },
      });
      await tx.query('SELECT pg_notify($1, $2)', [
        MODELS_NOTIFY_CHANNEL,
        JSON.stringify({ event: req.kind === 'publish' ? 'activate' : 'retire', role: req.role, version, previous }),
      ]);
      return { request: (await this.request(tx, req.id))!, previous };
    });
  }

  /** Rejects the open request for `version` (with why): a publication becomes `rejected`; a retirement leaves the challenger as it is. */
  async reject(version: string, o: Decision): Promise<ModelRequest> {
    if (!o.comment?.trim()) throw new ModelRegistryError('a comment saying why is required to reject a request');
    return inTransaction(this.db, async (tx) => {
      await requireActor(tx, o.by, 'approver');
      const req = await this.openRequest(tx, version, true);
      if (req.requested_by === o.by)
        throw new ModelFourEyesError(`${o.by} requested it: another approver must decide it (four eyes)`);
      if (req.kind === 'publish')
        await tx.query("UPDATE model_versions SET state = 'rejected', decision_comment = $2 WHERE id = $1", [
          req.model_id,
          o.comment,
        ]);
      await tx.query(
        "UPDATE model_requests SET status = 'rejected', decided_by = $2, decided_at = now(), decision_comment = $3 WHERE id = $1",
        [req.id, o.by, o.comment],
      );
      await recordAction(tx, {
        actor: o.by,
        action: 'model.reject',
        subject: `model:${version}`,
        detail: { request: req.id, kind: req.kind, role: req.role, requested_by: req.requested_by, comment: o.comment },
      });
      return (await this.request(tx, req.id))!;
    });
  }

  /** Every published row, newest first. */
  async versions(limit = 100): Promise<ModelVersionRow[]> {
    const r = await this.db.query(`SELECT ${ROW_COLS} FROM model_versions ORDER BY id DESC LIMIT $1`, [limit]);
    return r.rows.map(num<ModelVersionRow>);
  }

  /** The open requests, oldest first. */
  async pending(): Promise<ModelRequest[]> {
    const r = await this.db.query(`SELECT ${REQ_COLS} FROM ${REQ_FROM} WHERE r.status = 'pending' ORDER BY r.id`);
    return r.rows.map(num<ModelRequest>);
  }

  /** The decided requests, newest decision first. */
  async decided(limit = 50): Promise<ModelRequest[]> {
    const r = await this.db.query(
      `SELECT ${REQ_COLS} FROM ${REQ_FROM} WHERE r.status <> 'pending' ORDER BY r.decided_at DESC, r.id DESC LIMIT $1`,
      [limit],
    );
    return r.rows.map(num<ModelRequest>);
  }

  state(): Promise<RegistryState[]> {
    return registryState(this.db);
  }

  private async request(db: Queryable, id: number): Promise<ModelRequest | null> {
    const r = await db.query(`SELECT ${REQ_COLS} FROM ${REQ_FROM} WHERE r.id = $1`, [id]);
    return r.rows[0] ? num<ModelRequest>(r.rows[0]) : null;
  }

  private async openRequest(db: Queryable, version: string, lock = false): Promise<ModelRequest> {
    const r = await db.query(
      `SELECT ${REQ_COLS} FROM ${REQ_FROM} WHERE m.version = $1 AND r.status = 'pending' ORDER BY r.id${lock ? ' FOR UPDATE OF r' : ''}`,
      [version],
    );
    if (!r.rows[0]) {
      const known = await db.query<{ role: string; state: string }>(
        'SELECT role, state FROM model_versions WHERE version = $1 ORDER BY id',
        [version],
      );
      throw new ModelRegistryError(
        known.rows.length
          ? `no open request for model ${version} (${known.rows.map((k) => `${k.role}: ${k.state}`).join(', ')}); see \`fraud-engine models list\``
          : `no model version '${version}' (see \`fraud-engine models list\`)`,
      );
    }
    return num<ModelRequest>(r.rows[0]);
  }
}

async function activeVersion(db: Queryable, role: ModelRole): Promise<string | null> {
  const r = await db.query<{ version: string }>(
    "SELECT version FROM model_versions WHERE role = $1 AND state = 'active'",
    [role],
  );
  return r.rows[0]?.version ?? null;
}

/** The open requests touching `version`, as text (null: none): one at a time, so `approve V` names one request. */
async function openRequestsOf(db: Queryable, version: string): Promise<string | null> {
  const r = await db.query<{ kind: string; role: string; requested_by: string }>(
    `SELECT r.kind, m.role, r.requested_by FROM ${REQ_FROM} WHERE m.version = $1 AND r.status = 'pending'`,
    [version],
  );
  return r.rows.length ? r.rows.map((x) => `${x.kind} as ${x.role} by ${x.requested_by}`).join('; ') : null;
}
