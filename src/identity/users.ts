/**
 * Users and their roles (table users, migration 020). Roles: `analyst` works the review queue
 * and writes drafts; `approver` approves what someone else submitted; `admin` manages users.
 * Four-eyes is enforced where a change is approved (the rules store), not here: here is who is who.
 */
import type { Queryable } from '../storage/pool.js';
import { recordAction } from './action-log.js';
import { DUMMY_HASH, hashPassword, passwordProblem, verifyPassword } from './passwords.js';

export const ROLES = ['analyst', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  username: string;
  displayName: string;
  roles: Role[];
  disabled: boolean;
}

/** A refusal the person can act on (bad name, weak password, unknown user, missing role). */
export class IdentityError extends Error {}

export const USERNAME_RE = /^[a-z][a-z0-9._-]{1,63}$/;

interface UserRow {
  username: string;
  display_name: string;
  roles: Role[];
  disabled: boolean;
  password_hash: string | null;
}

const toUser = (r: UserRow): User => ({
  username: r.username,
  displayName: r.display_name,
  roles: r.roles,
  disabled: r.disabled,
});

export function hasRole(user: Pick<User, 'roles'>, role: Role): boolean {
  return user.roles.includes(role) || user.roles.includes('admin');
}

/** Throws IdentityError unless `user` holds `role` (admin holds every role). */
export function requireRole(user: Pick<User, 'username' | 'roles'>, role: Role): void {
  if (!hasRole(user, role)) throw new IdentityError(`${user.username} does not have the ${role} role`);
}

export class UserStore {
  constructor(private readonly db: Queryable) {}

  async get(username: string): Promise<User | null> {
    const { rows } = await this.db.query<UserRow>('SELECT * FROM users WHERE username = $1', [username]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async list(): Promise<User[]> {
    const { rows } = await this.db.query<UserRow>('SELECT * FROM users ORDER BY username');
    return rows.map(toUser);
  }

  /** Creates a user, or (with `replace`) resets an existing one's roles and password. Logged as `user.add`. */
  async add(
    u: { username: string; displayName?: string; roles: Role[]; password?: string },
    by: string,
    opts: { replace?: boolean } = {},
  ): Promise<User> {
    if (!USERNAME_RE.test(u.username))
      throw new IdentityError(`username '${u.username}': lower-case letters, digits, . _ - (2-64, a letter first)`);
    const bad = u.roles.filter((r) => !ROLES.includes(r));
    if (bad.length || u.roles.length === 0)
      throw new IdentityError(`roles: one or more of ${ROLES.join(', ')} (got '${u.roles.join(',')}')`);
    const problem = u.password === undefined ? null : passwordProblem(u.password);
    if (problem) throw new IdentityError(problem);
    const hash = u.password === undefined ? null : await hashPassword(u.password);
    const { rows } = await this.db.query<UserRow>(
      `INSERT INTO users (username, display_name, roles, password_hash, created_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (username) DO ${opts.replace ? 'UPDATE SET display_name = EXCLUDED.display_name, roles = EXCLUDED.roles, password_hash = EXCLUDED.password_hash, disabled = false' : 'NOTHING'}
       RETURNING *`,
      [u.username, u.displayName ?? u.username, u.roles, hash, by],
    );
    if (!rows[0]) throw new IdentityError(`user ${u.username} exists already`);
    await recordAction(this.db, { actor: by, action: 'user.add', subject: u.username, detail: { roles: u.roles } });
    return toUser(rows[0]);
  }

  /**
   * The user when the password is theirs and they are enabled, else null. An unknown user costs
   * the same scrypt as a known one, so the answer's timing does not say which usernames exist.
   */
  async authenticate(username: string, password: string): Promise<User | null> {
    const { rows } = await this.db.query<UserRow>('SELECT * FROM users WHERE username = $1', [username]);
    const row = rows[0];
    const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_HASH);
    return ok && row && !row.disabled && row.password_hash ? toUser(row) : null;
  }

  /** Replaces a user's roles. Logged as `user.roles` with the roles before and after. */
  async setRoles(username: string, roles: Role[], by: string): Promise<User> {
    const bad = roles.filter((r) => !ROLES.includes(r));
    if (bad.length || roles.length === 0)
      throw new IdentityError(`roles: one or more of ${ROLES.join(', ')} (got '${roles.join(',')}')`);
    const before = await this.get(username);
    if (!before) throw new IdentityError(`no user ${username}`);
    const { rows } = await this.db.query<UserRow>('UPDATE users SET roles = $2 WHERE username = $1 RETURNING *', [
      username,
      [...new Set(roles)],
    ]);
    await recordAction(this.db, {
      actor: by,
      action: 'user.roles',
      subject: username,
      detail: { from: before.roles, to: rows[0]!.roles },
    });
    return toUser(rows[0]!);
  }

  async disable(username: string, by: string): Promise<void> {
    const { rowCount } = await this.db.query('UPDATE users SET disabled = true WHERE username = $1', [username]);
    if (!rowCount) throw new IdentityError(`no user ${username}`);
    await this.db.query('DELETE FROM console_sessions WHERE username = $1', [username]);
    await recordAction(this.db, { actor: by, action: 'user.disable', subject: username });
  }
}
