/** The rule that maps an OpenID provider's claims to a console username (src/identity/oidc-users.ts). */
import { describe, expect, it } from 'vitest';
import { namesSomeone, usernameOfClaims } from '../../src/identity/oidc-users.js';

describe('usernameOfClaims', () => {
  it('takes preferred_username, lower-cased, before the email', () => {
    expect(usernameOfClaims({ sub: '1', preferred_username: 'Ana.Lyst', email: 'other@example.test' })).toBe(
      'ana.lyst',
    );
  });

  it('falls back to the local part of the email', () => {
    expect(usernameOfClaims({ sub: '1', email: 'Bo.Approver@example.test', email_verified: true })).toBe('bo.approver');
    expect(usernameOfClaims({ sub: '1', email: 'a@b@example.test' })).toBeNull(); // local part 'a@b' is no username
  });

  it('ignores an email the provider says is unverified', () => {
    expect(usernameOfClaims({ sub: '1', email: 'mallory@example.test', email_verified: false })).toBeNull();
  });

  it('refuses what could not be a username rather than reshaping it', () => {
    expect(usernameOfClaims({ sub: '1', preferred_username: 'ana lyst' })).toBeNull();
    expect(usernameOfClaims({ sub: '1', preferred_username: '1abc' })).toBeNull();
    expect(usernameOfClaims({ sub: '1', email: '@example.test' })).toBeNull();
    expect(usernameOfClaims({ sub: '1' })).toBeNull();
  });

  it('namesSomeone says when the UserInfo endpoint must be asked', () => {
    expect(namesSomeone({ sub: '1' })).toBe(false);
    expect(namesSomeone({ sub: '1', email: 'x@example.test' })).toBe(true);
    expect(namesSomeone({ sub: '1', preferred_username: 'x' })).toBe(true);
  });
});
