/**
 * Who is acting, for the tools that change rules and lists outside the console (`rules …`,
 * `lists …`): a user of the console's `users` table proven by their password, throttled and
 * logged like a console sign-in, so the name written to the rules store is a person, not text.
 */
import type { Queryable } from '../storage/pool.js';
import { recordAction } from './action-log.js';
import { LoginThrottle } from './login-throttle.js';
import { IdentityError, UserStore, type User } from './users.js';

export interface Credentials {
  username: string;
  password: string;
}

/** The user `c` names when the password is theirs (and they are enabled and not throttled); else IdentityError. */
export async function signInWithPassword(
  db: Queryable,
  c: Credentials,
  o: { maxFailures: number; via: string },
): Promise<User> {
  const username = c.username.trim().toLowerCase();
  const throttle = new LoginThrottle(db, o.maxFailures);
  const wait = await throttle.retryAfterMs(username);
  if (wait > 0) {
    await recordAction(db, { actor: username || '?', action: 'login.throttled', detail: { via: o.via } });
    throw new IdentityError(
      `too many failed sign-ins for ${username}: try again in ${Math.ceil(wait / 60_000)} minute(s)`,
    );
  }
  const user = await new UserStore(db).authenticate(username, c.password);
  if (!user) {
    await throttle.failed(username);
    await recordAction(db, { actor: username || '?', action: 'login.failed', detail: { via: o.via } });
    throw new IdentityError(`wrong username or password for ${username}`);
  }
  await throttle.succeeded(username);
  return user;
}
