/**
 * Who may make or decide a four-eyes request (rulesets, lists, model versions): an enabled user,
 * holding the role asked for (admin holds every role). One check for every store that enforces
 * four eyes, each throwing its own error class with the message.
 */
import type { Queryable } from '../storage/pool.js';
import { UserStore, type Role } from './users.js';

/** Why `username` may not act (as `role` when given), or null when they may. Read on `db` (the caller's transaction). */
export async function actorRefusal(db: Queryable, username: string, role?: Role): Promise<string | null> {
  const u = await new UserStore(db).get(username);
  if (!u || u.disabled)
    return `'${username}' is not an enabled user: changes to rules, lists and models are made by identified people (fraud-engine users add)`;
  if (role && !u.roles.includes(role) && !u.roles.includes('admin'))
    return `${username} does not have the ${role} role`;
  return null;
}
