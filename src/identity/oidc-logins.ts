/**
 * Single sign-on attempts in flight (table console_oidc_logins, migration 021): the state, nonce
 * and PKCE verifier of an authorization request, kept in PostgreSQL under the SHA-256 of a random
 * cookie value, so that any console instance can finish what another began. Taken once.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../storage/pool.js';

export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Where to go once signed in (a path of the console). */
  next: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');

export class PendingLogins {
  constructor(
    private readonly db: Queryable,
    private readonly ttlMs: number,
  ) {}

  /** Stores `p`; the returned token goes in the browser's cookie and is not kept anywhere else. */
  async begin(p: PendingLogin): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.db.query(
      `INSERT INTO console_oidc_logins (id_hash, state, nonce, code_verifier, next_path, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond')`,
      [sha256(token), p.state, p.nonce, p.codeVerifier, p.next, this.ttlMs],
    );
    // Abandoned attempts of anyone go at each new one: the table stays the size of those in flight.
    await this.db.query('DELETE FROM console_oidc_logins WHERE expires_at < now()');
    return token;
  }

  /** The attempt of a cookie token, removed so it cannot be used twice; null when unknown or expired. */
  async take(token: string | undefined): Promise<PendingLogin | null> {
    if (!token || token.length > 100) return null;
    const { rows } = await this.db.query<{
      state: string;
      nonce: string;
      code_verifier: string;
      next_path: string;
      live: boolean;
    }>(
      `DELETE FROM console_oidc_logins WHERE id_hash = $1
       RETURNING state, nonce, code_verifier, next_path, expires_at > now() AS live`,
      [sha256(token)],
    );
    const r = rows[0];
    if (!r?.live) return null;
    return { state: r.state, nonce: r.nonce, codeVerifier: r.code_verifier, next: r.next_path };
  }
}
