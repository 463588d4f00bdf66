/**
 * Login throttling per username, in PostgreSQL so that every console instance sees the same
 * count: after `maxFailures` failed logins within the window, further attempts are refused
 * (without checking the password) until the oldest failure leaves the window.
 */
import type { Queryable } from '../storage/pool.js';

export const THROTTLE_WINDOW_MS = 15 * 60_000;

export class LoginThrottle {
  constructor(
    private readonly db: Queryable,
    private readonly maxFailures: number,
    private readonly windowMs = THROTTLE_WINDOW_MS,
  ) {}

  /** Milliseconds until `username` may try again; 0 when it may try now. */
  async retryAfterMs(username: string): Promise<number> {
    const { rows } = await this.db.query<{ n: string; oldest: Date | null }>(
      `SELECT count(*) AS n, min(at) AS oldest FROM login_failures
        WHERE username = $1 AND at > now() - $2 * interval '1 millisecond'`,
      [username, this.windowMs],
    );
    const r = rows[0]!;
    if (Number(r.n) < this.maxFailures || !r.oldest) return 0;
    return Math.max(1, r.oldest.getTime() + this.windowMs - Date.now());
  }

  async failed(username: string): Promise<void> {
    await this.db.query('INSERT INTO login_failures (username) VALUES ($1)', [username.slice(0, 64)]);
    await this.db.query(`DELETE FROM login_failures WHERE at < now() - $1 * interval '1 millisecond'`, [this.windowMs]);
  }

  /** A successful login clears the user's failures. */
  async succeeded(username: string): Promise<void> {
    await this.db.query('DELETE FROM login_failures WHERE username = $1', [username]);
  }
}
