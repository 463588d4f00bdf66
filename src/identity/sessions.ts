/**
 * Console sessions (table console_sessions, migration 020): a random 256-bit token in an
 * HttpOnly cookie, stored only as its SHA-256; a CSRF token per session (synchronizer token:
 * every state-changing request must carry it); sliding expiry after `ttlMs` idle.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../storage/pool.js';
import type { Role, User } from './users.js';

export interface Session {
  user: User;
  csrf: string;
  expiresAt: Date;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');
const token = () => randomBytes(32).toString('base64url');

/** Whether `given` is the session's CSRF token; constant time. */
export function csrfMatches(session: Pick<Session, 'csrf'>, given: unknown): boolean {
  if (typeof given !== 'string' || given.length !== session.csrf.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(session.csrf));
}

export class SessionStore {
  constructor(
    private readonly db: Queryable,
    private readonly ttlMs: number,
  ) {}

  /** A new session; the returned token goes in the cookie and is not kept anywhere else. */
  async create(username: string): Promise<{ token: string; csrf: string; expiresAt: Date }> {
    const t = token();
    const csrf = token();
    const expiresAt = new Date(Date.now() + this.ttlMs);
    await this.db.query(
      'INSERT INTO console_sessions (id_hash, username, csrf_token, expires_at) VALUES ($1, $2, $3, $4)',
      [sha256(t), username, csrf, expiresAt],
    );
    // Expired sessions of anyone go at each login: the table stays the size of the active ones.
    await this.db.query('DELETE FROM console_sessions WHERE expires_at < now()');
    return { token: t, csrf, expiresAt };
  }

  /** The live session of a cookie token, its expiry pushed out; null when unknown, expired or the user disabled. */
  async lookup(cookieToken: string | undefined): Promise<Session | null> {
    if (!cookieToken || cookieToken.length > 100) return null;
    const { rows } = await this.db.query<{
      username: string;
      display_name: string;
      roles: Role[];
      disabled: boolean;
      csrf_token: string;
      expires_at: Date;
    }>(
      `UPDATE console_sessions s SET expires_at = now() + $2 * interval '1 millisecond'
         FROM users u
        WHERE s.id_hash = $1 AND s.expires_at > now() AND u.username = s.username AND NOT u.disabled
       RETURNING u.username, u.display_name, u.roles, u.disabled, s.csrf_token, s.expires_at`,
      [sha256(cookieToken), this.ttlMs],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      user: { username: r.username, displayName: r.display_name, roles: r.roles, disabled: r.disabled },
      csrf: r.csrf_token,
      expiresAt: r.expires_at,
    };
  }

  async destroy(cookieToken: string): Promise<void> {
    await this.db.query('DELETE FROM console_sessions WHERE id_hash = $1', [sha256(cookieToken)]);
  }
}
