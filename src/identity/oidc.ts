/**
 * Sign-in with an OpenID provider (openid-client): the authorization-code flow with PKCE, state
 * and nonce, and the verified identity claims at the end. The provider's metadata is discovered
 * on first use, not at start-up, so an unreachable provider breaks only this way in (the
 * password login keeps working) and a later attempt tries again.
 */
import * as oidc from 'openid-client';
import type { PendingLogin } from './oidc-logins.js';
import { namesSomeone, type IdentityClaims } from './oidc-users.js';

export interface OidcSettings {
  /** The issuer URL (console.oidc_issuer). */
  issuer: string;
  clientId: string;
  /** Empty for a public client (PKCE only). */
  clientSecret: string;
  /** Seconds for each request to the provider. */
  timeoutSeconds?: number;
}

/** The provider cannot be reached or described itself badly: nothing the person did. */
export class OidcUnavailable extends Error {}

/** The provider's answer was refused (an error from it, a wrong state, a bad token): start again. */
export class OidcFailed extends Error {}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const SCOPE = 'openid profile email';

export class OidcSignIn {
  /** The issuer's host, as the person knows the provider ("Sign in with <host>"). */
  readonly issuerHost: string;
  /** The issuer URL as configured, for the action log. */
  readonly issuerUrl: string;
  private readonly issuer: URL;
  private discovered: Promise<oidc.Configuration> | null = null;

  constructor(private readonly s: OidcSettings) {
    this.issuer = new URL(s.issuer);
    // Plain HTTP only for a provider on this machine (development, tests): tokens would travel in clear.
    if (this.issuer.protocol === 'http:' && !LOOPBACK.has(this.issuer.hostname))
      throw new Error('console.oidc_issuer: use https:// (http:// is accepted only for a loopback issuer)');
    if (!s.clientId) throw new Error('console.oidc_client_id is required when console.oidc_issuer is set');
    this.issuerHost = this.issuer.host;
    this.issuerUrl = s.issuer;
  }

  private config(): Promise<oidc.Configuration> {
    this.discovered ??= oidc
      .discovery(
        this.issuer,
        this.s.clientId,
        undefined,
        this.s.clientSecret ? oidc.ClientSecretBasic(this.s.clientSecret) : oidc.None(),
        {
          execute: this.issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
          timeout: this.s.timeoutSeconds ?? 10,
        },
      )
      .catch((err: unknown) => {
        this.discovered = null; // the next attempt asks again
        // fetch's "fetch failed" names no reason; its cause does (ECONNREFUSED, a timeout, a bad certificate).
        const cause = (err as Error).cause as { code?: string; message?: string } | undefined;
        const why = cause?.code ?? cause?.message ?? (err as Error).message;
        throw new OidcUnavailable(
          `The sign-in service at ${this.issuerHost} cannot be reached right now (${why}). ` +
            'Sign in with your username and password, or try again later.',
        );
      });
    return this.discovered;
  }

  /** The provider's URL to send the browser to, and what the callback must find again. */
  async begin(redirectUri: string): Promise<{ url: URL; pending: Omit<PendingLogin, 'next'> }> {
    const config = await this.config();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: SCOPE,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url, pending: { state, nonce, codeVerifier } };
  }

  /**
   * The verified claims of whoever signed in: the callback's state, the ID token (signature,
   * issuer, audience, expiry, nonce) and the PKCE verifier all checked by openid-client. A
   * provider that keeps profile claims out of the ID token (as conforming ones do for the code
   * flow) is asked at its UserInfo endpoint.
   */
  async finish(callbackUrl: URL, p: PendingLogin): Promise<IdentityClaims> {
    const config = await this.config();
    try {
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: p.codeVerifier,
        expectedState: p.state,
        expectedNonce: p.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      if (namesSomeone(claims)) return claims;
      const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      return { ...info, ...claims };
    } catch (err) {
      throw new OidcFailed(failureText(err, this.issuerHost));
    }
  }
}

/** What went wrong, in words for the person at the sign-in page. */
function failureText(err: unknown, host: string): string {
  if (err instanceof oidc.AuthorizationResponseError)
    return `${host} did not sign you in (${err.error_description ?? err.error}).`;
  // openid-client's errors name the kind; their cause names the check that failed.
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  const message = err instanceof Error ? `${err.message}${cause}` : String(err);
  if (/"state"/.test(message))
    return 'This sign-in answer does not belong to the sign-in this browser started (its state differs); nothing was done. Start again.';
  return `The sign-in with ${host} could not be verified (${message}); nothing was done. Start again.`;
}
