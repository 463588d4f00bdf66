/**
 * Sign-in, sign-out and the guard in front of every other page: a session cookie (HttpOnly,
 * SameSite=Strict, Secure unless configured off), a CSRF token on every state-changing request,
 * throttled logins, and every login (and failed one) in the action log.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { recordAction } from '../identity/action-log.js';
import { csrfMatches, type Session } from '../identity/sessions.js';
import { hasRole, type Role } from '../identity/users.js';
import type { ConsoleDeps } from './deps.js';
import { html } from './html.js';
import { page } from './layout.js';

export const SESSION_COOKIE = 'fe_session';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in session; set by the guard on every page but the public ones. */
    auth: Session | null;
  }
}

/** Paths served without a session (the single sign-on ones exist only when configured). */
const PUBLIC = [/^\/login$/, /^\/login\/oidc(\/callback)?$/, /^\/healthz$/, /^\/assets\//];

/** An error page (or JSON for a script) with `status`; nothing was changed. */
export function refuse(req: FastifyRequest, reply: FastifyReply, status: number, text: string) {
  if (wantsJson(req)) return reply.code(status).send({ error: text });
  return reply
    .code(status)
    .type('text/html')
    .send(
      page({
        title: status === 403 ? 'Not allowed' : 'Could not do that',
        session: req.auth,
        body: '',
        flash: { kind: 'error', text },
      }).value,
    );
}

export function wantsJson(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('application/json') && !(req.headers.accept ?? '').includes('text/html');
}

/** A preHandler that refuses (403) anyone without `role` (admin has every role). */
export function requireRole(role: Role) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.auth || !hasRole(req.auth.user, role))
      return refuse(
        req,
        reply,
        403,
        `This needs the ${role} role; ${req.auth?.user.username ?? 'you'} does not have it.`,
      );
  };
}

/** Only a path of this site (not //host or a scheme) is followed after sign-in. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) ? next : '/';
}

/** The sign-in page: the password form, and the single sign-on link when `sso` (the provider's host) is set. */
export function loginPage(o: {
  next: string;
  message?: string;
  kind?: 'ok' | 'error';
  username?: string;
  sso?: string | undefined;
}) {
  return page({
    title: 'Sign in',
    session: null,
    flash: o.message ? { kind: o.kind ?? 'error', text: o.message } : null,
    body: html`<form class="login" method="post" action="/login">
        <input type="hidden" name="next" value="${o.next}" />
        <label for="username">Username</label>
        <input
          id="username"
          name="username"
          type="text"
          autocomplete="username"
          required
          autofocus
          value="${o.username ?? ''}"
        />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <p><button type="submit">Sign in</button></p>
      </form>
      ${
        o.sso
          ? html`<p class="sso">
              <a class="button" href="/login/oidc?next=${encodeURIComponent(o.next)}">Sign in with ${o.sso}</a>
            </p>`
          : ''
      }`,
  }).value;
}

/** The session cookie's attributes: HttpOnly, SameSite=Strict, Secure unless configured off. */
export function sessionCookieOptions(deps: ConsoleDeps) {
  return { path: '/', httpOnly: true, sameSite: 'strict' as const, secure: deps.settings.secureCookies };
}

/** A new session of `user` in the reply's cookie, and `login` in the action log with `detail`. */
export async function startSession(
  reply: FastifyReply,
  deps: ConsoleDeps,
  username: string,
  detail: Record<string, unknown>,
): Promise<void> {
  const s = await deps.sessions.create(username);
  await recordAction(deps.pool, { actor: username, action: 'login', detail });
  reply.setCookie(SESSION_COOKIE, s.token, { ...sessionCookieOptions(deps), expires: s.expiresAt });
}

export function registerAuth(app: FastifyInstance, deps: ConsoleDeps): void {
  const cookieOptions = sessionCookieOptions(deps);
  const sso = deps.oidc?.signIn.issuerHost;
  app.decorateRequest('auth', null);

  app.addHook('preHandler', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (PUBLIC.some((re) => re.test(path))) return;
    const token = req.cookies[SESSION_COOKIE];
    req.auth = await deps.sessions.lookup(token);
    if (!req.auth) {
      const text = token ? 'Your session has expired; sign in again.' : 'Sign in to continue.';
      if (req.method === 'GET' && !wantsJson(req))
        return reply.redirect(`/login?next=${encodeURIComponent(req.url)}${token ? '&expired=1' : ''}`);
      return refuse(req, reply, 401, text);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const body = req.body as Record<string, unknown> | undefined;
      const given = req.headers['x-csrf-token'] ?? body?._csrf;
      if (!csrfMatches(req.auth, given))
        return refuse(
          req,
          reply,
          403,
          'The form was missing its security token (CSRF) or it was stale: reload the page and try again. Nothing was changed.',
        );
    }
  });

  app.get('/login', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const message = q.expired ? 'Your session has expired; sign in again.' : q.out ? 'You are signed out.' : undefined;
    return reply
      .type('text/html')
      .send(loginPage({ next: safeNext(q.next), message, kind: q.out ? 'ok' : 'error', sso }));
  });

  app.post('/login', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const username = String(b.username ?? '')
      .trim()
      .toLowerCase();
    const password = String(b.password ?? '');
    const next = safeNext(b.next);
    const wait = await deps.throttle.retryAfterMs(username);
    if (wait > 0) {
      await recordAction(deps.pool, { actor: username || '?', action: 'login.throttled', detail: { ip: req.ip } });
      const minutes = Math.ceil(wait / 60_000);
      return reply
        .code(429)
        .type('text/html')
        .send(
          loginPage({
            next,
            username,
            sso,
            message: `Too many failed sign-ins for ${username}: try again in ${minutes} minute(s).`,
          }),
        );
    }
    const user = await deps.users.authenticate(username, password);
    if (!user) {
      await deps.throttle.failed(username);
      await recordAction(deps.pool, { actor: username || '?', action: 'login.failed', detail: { ip: req.ip } });
      return reply
        .code(401)
        .type('text/html')
        .send(loginPage({ next, username, sso, message: 'Wrong username or password.' }));
    }
    await deps.throttle.succeeded(username);
    await startSession(reply, deps, user.username, { ip: req.ip });
    return reply.redirect(next, 303);
  });

  app.post('/logout', async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token) await deps.sessions.destroy(token);
    await recordAction(deps.pool, { actor: req.auth!.user.username, action: 'logout' });
    return reply.clearCookie(SESSION_COOKIE, cookieOptions).redirect('/login?out=1', 303);
  });
}
