/**
 * Who an OpenID provider's identity is in the console: the mapping of ID token (or UserInfo)
 * claims to an existing, enabled user of the users table. Nobody is created here: a person must
 * be added with `fraud-engine users add` (roles are ours, not the provider's) before signing in.
 *
 * The rule: the `preferred_username` claim, lower-cased; when the provider sends none, the local
 * part of `email` (before the @), lower-cased, unless the provider says the address is
 * unverified (`email_verified: false`). The result must be a valid username (USERNAME_RE).
 */
import { USERNAME_RE, type User, type UserStore } from './users.js';

export type IdentityClaims = Record<string, unknown>;

/** The console username the claims name, or null when they name none that could be one. */
export function usernameOfClaims(claims: IdentityClaims): string | null {
  const preferred = typeof claims.preferred_username === 'string' ? claims.preferred_username.trim() : '';
  const email = typeof claims.email === 'string' && claims.email_verified !== false ? claims.email.trim() : '';
  const at = email.lastIndexOf('@');
  const name = (preferred || (at > 0 ? email.slice(0, at) : '')).toLowerCase();
  return USERNAME_RE.test(name) ? name : null;
}

/** Whether the claims carry anything the rule above reads (else ask the UserInfo endpoint). */
export function namesSomeone(claims: IdentityClaims): boolean {
  return typeof claims.preferred_username === 'string' || typeof claims.email === 'string';
}

export type OidcMatch =
  { ok: true; user: User } | { ok: false; username: string | null; reason: 'no-username' | 'unknown' | 'disabled' };

/** The enabled user the claims name, or why there is none. */
export async function userOfClaims(users: UserStore, claims: IdentityClaims): Promise<OidcMatch> {
  const username = usernameOfClaims(claims);
  if (!username) return { ok: false, username: null, reason: 'no-username' };
  const user = await users.get(username);
  if (!user) return { ok: false, username, reason: 'unknown' };
  if (user.disabled) return { ok: false, username, reason: 'disabled' };
  return { ok: true, user };
}
