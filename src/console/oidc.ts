/**
 * Single sign-on routes, registered only when console.oidc_issuer is set: GET /login/oidc sends
 * the browser to the provider (the attempt kept in PostgreSQL, its key in a 10-minute HttpOnly
 * cookie), GET /login/oidc/callback verifies the answer and signs in the existing user the
 * identity names (src/identity/oidc-users.ts) with the same session as the password login.
 * Nobody is created here; a refusal says why and is in the action log.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { recordAction } from '../identity/action-log.js';
import { OidcFailed, OidcUnavailable } from '../identity/oidc.js';
import { userOfClaims, type OidcMatch } from '../identity/oidc-users.js';
import { loginPage, safeNext, startSession } from './auth.js';
import type { ConsoleDeps, ConsoleOidc } from './deps.js';
import { html } from './html.js';

export const OIDC_COOKIE = 'fe_oidc';
const CALLBACK = '/login/oidc/callback';
/** Time between "Sign in with …" and the provider's answer. */
export const OIDC_ATTEMPT_MS = 10 * 60_000;

/** Why an identity the provider vouched for does not get in, in words for the person. */
function refusedText(m: Extract<OidcMatch, { ok: false }>, host: string): string {
  if (m.reason === 'no-username')
    return `${host} signed you in but did not say who you are in a way the console reads (no usable preferred_username or email). Nothing was created.`;
  if (m.reason === 'disabled') return `The console user ${m.username} is disabled; ask an admin. Nothing was changed.`;
  return `${host} signed you in as ${m.username}, but the console has no user ${m.username}: ask an admin to add you (fraud-engine users add). Nothing was created.`;
}

/** Moves on to `next` from a page of this site (see the callback for why not a redirect). */
function continuePage(next: string): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="refresh" content="0;url=${next}" />
        <title>Signed in · Fraud console</title>
      </head>
      <body>
        <p role="status">Signed in. <a href="${next}">Continue</a></p>
      </body>
    </html>`.value;
}

export function oidcRoutes(app: FastifyInstance, deps: ConsoleDeps): void {
  const o: ConsoleOidc | undefined = deps.oidc;
  if (!o) return;
  const sso = o.signIn.issuerHost;
  const issuer = o.signIn.issuerUrl;
  // Lax, not Strict: the provider's answer is a cross-site navigation, and it must carry this cookie.
  const attemptCookie = {
    path: '/login/oidc',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: deps.settings.secureCookies,
  };
  const redirectUri = (req: FastifyRequest) => new URL(CALLBACK, o.publicUrl || `${req.protocol}://${req.host}`);
  const refuse = (reply: FastifyReply, status: number, next: string, message: string) =>
    reply.code(status).type('text/html').send(loginPage({ next, message, sso }));

  app.get('/login/oidc', async (req, reply) => {
    const next = safeNext((req.query as Record<string, unknown>).next);
    try {
      const { url, pending } = await o.signIn.begin(redirectUri(req).href);
      const token = await o.pending.begin({ ...pending, next });
      return reply
        .setCookie(OIDC_COOKIE, token, { ...attemptCookie, maxAge: OIDC_ATTEMPT_MS / 1000 })
        .redirect(url.href, 303);
    } catch (err) {
      if (!(err instanceof OidcUnavailable)) throw err;
      deps.log.warn({ err, issuer }, 'OIDC provider unavailable');
      return refuse(reply, 503, next, err.message);
    }
  });

  app.get(CALLBACK, async (req, reply) => {
    const pending = await o.pending.take(req.cookies[OIDC_COOKIE]);
    reply.clearCookie(OIDC_COOKIE, attemptCookie);
    const failed = async (status: number, next: string, reason: string) => {
      await recordAction(deps.pool, {
        actor: '?',
        action: 'login.oidc_failed',
        detail: { issuer, reason, ip: req.ip },
      });
      return refuse(reply, status, next, reason);
    };
    if (!pending)
      return failed(
        400,
        '/',
        'This sign-in was not started in this browser, or took longer than 10 minutes; nothing was done. Start again.',
      );
    const callbackUrl = redirectUri(req);
    callbackUrl.search = new URL(req.url, 'http://x').search;
    let claims;
    try {
      claims = await o.signIn.finish(callbackUrl, pending);
    } catch (err) {
      if (err instanceof OidcFailed || err instanceof OidcUnavailable) return failed(400, pending.next, err.message);
      throw err;
    }
    const match = await userOfClaims(deps.users, claims);
    if (!match.ok) {
      await recordAction(deps.pool, {
        actor: match.username ?? '?',
        action: 'login.oidc_refused',
        detail: { issuer, sub: claims.sub, reason: match.reason, ip: req.ip },
      });
      return refuse(reply, 403, pending.next, refusedText(match, sso));
    }
    await startSession(reply, deps, match.user.username, { method: 'oidc', issuer, ip: req.ip });
    // Not a redirect: this request came from the provider's site, and a browser does not send the
    // SameSite=Strict session cookie along a redirect chain that began cross-site. A page of this
    // site that moves on starts a same-site navigation, which carries it.
    return reply.type('text/html').send(continuePage(pending.next));
  });
}
