/**
 * Rule drafts in PostgreSQL (table rule_drafts, migration 003): the YAML text of a ruleset as it
 * is being edited, who owns it, who saved it last and when, and the version it was submitted as.
 */
import type { Queryable } from '../../storage/pool.js';

export interface RuleDraft {
  id: number;
  owner: string;
  based_on: string | null;
  content: string;
  created_at: Date;
  updated_at: Date;
  updated_by: string;
  submitted_version: string | null;
  submitted_at: Date | null;
}

const COLUMNS =
  'id::int AS id, owner, based_on, content, created_at, updated_at, updated_by, submitted_version, submitted_at';

export class DraftStore {
  constructor(private readonly db: Queryable) {}

  async create(o: { owner: string; basedOn: string | null; content: string }): Promise<RuleDraft> {
    const r = await this.db.query<RuleDraft>(
      `INSERT INTO rule_drafts (owner, based_on, content, updated_by) VALUES ($1, $2, $3, $1) RETURNING ${COLUMNS}`,
      [o.owner, o.basedOn, o.content],
    );
    return r.rows[0]!;
  }

  async get(id: number): Promise<RuleDraft | null> {
    if (!Number.isSafeInteger(id) || id < 1) return null;
    const r = await this.db.query<RuleDraft>(`SELECT ${COLUMNS} FROM rule_drafts WHERE id = $1`, [id]);
    return r.rows[0] ?? null;
  }

  /** Saves `content` as typed (it need not compile); false when there is no such draft. */
  async save(id: number, content: string, by: string): Promise<boolean> {
    const r = await this.db.query(
      'UPDATE rule_drafts SET content = $2, updated_by = $3, updated_at = now() WHERE id = $1',
      [id, content, by],
    );
    return r.rowCount === 1;
  }

  async markSubmitted(id: number, version: string): Promise<void> {
    await this.db.query('UPDATE rule_drafts SET submitted_version = $2, submitted_at = now() WHERE id = $1', [
      id,
      version,
    ]);
  }

  /** The most recently edited drafts first. */
  async list(limit = 50): Promise<RuleDraft[]> {
    const r = await this.db.query<RuleDraft>(`SELECT ${COLUMNS} FROM rule_drafts ORDER BY updated_at DESC LIMIT $1`, [
      limit,
    ]);
    return r.rows;
  }
}
