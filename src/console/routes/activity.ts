/**
 * The activity page (`/activity`): the action log (src/identity/action-log.ts) filtered by user,
 * action and time, newest first, paged; and for admins the users (src/identity/users.ts): add
 * one, change roles, disable. Every change is a POST with the CSRF token, checked for the admin
 * role on the server, and recorded in the action log by the user store.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { listActions, type ActionQuery } from '../../identity/action-log.js';
import { IdentityError, ROLES, type Role } from '../../identity/users.js';
import { requireRole } from '../auth.js';
import type { ConsoleDeps } from '../deps.js';
import { ConsoleRefusal } from '../server.js';
import { activityBody, type ActivityFilters, type AddUserForm } from './activity-view.js';

const PAGE_SIZE = 50;

/** What a finished change says on the page after its redirect (PRG), by action. */
const DONE: Record<string, (subject: string) => string> = {
  'user.add': (u) => `User ${u} added.`,
  'user.roles': (u) => `Roles of ${u} changed.`,
  'user.disable': (u) => `User ${u} disabled; their sessions ended.`,
};

/** A `datetime-local` value (read as UTC), or undefined when empty; a refusal when malformed. */
export function parseUtcInput(name: string, v: string | undefined): Date | undefined {
  if (!v) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v))
    throw new ConsoleRefusal(400, `${name}: expected a date and time (YYYY-MM-DDTHH:MM, UTC), got '${v}'`);
  const d = new Date(`${v}Z`);
  if (Number.isNaN(d.getTime())) throw new ConsoleRefusal(400, `${name}: '${v}' is not a date and time`);
  return d;
}

export function filtersOf(q: Record<string, string | undefined>): ActivityFilters {
  const before = q.before && /^\d{1,18}$/.test(q.before) ? Number(q.before) : undefined;
  return {
    actor: (q.actor ?? '').trim(),
    action: (q.action ?? '').trim(),
    from: (q.from ?? '').trim(),
    to: (q.to ?? '').trim(),
    before,
  };
}

/** Roles ticked in a form: `roles` arrives as one value or several. */
export function rolesOf(v: unknown): Role[] {
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.map(String).filter((r): r is Role => (ROLES as readonly string[]).includes(r));
}

const isAdmin = (req: FastifyRequest) => Boolean(req.auth?.user.roles.includes('admin'));

export function activityRoutes(app: FastifyInstance, deps: ConsoleDeps): void {
  async function render(
    req: FastifyRequest,
    reply: FastifyReply,
    o: { status?: number; flash?: { kind: 'ok' | 'error'; text: string } | null; form?: AddUserForm } = {},
  ) {
    const q = req.query as Record<string, string | undefined>;
    const f = filtersOf(q);
    const query: ActionQuery = {
      actor: f.actor || undefined,
      action: f.action || undefined,
      since: parseUtcInput('From', f.from),
      until: parseUtcInput('To', f.to),
      beforeId: f.before,
      limit: PAGE_SIZE + 1,
    };
    const rows = await listActions(deps.pool, query);
    const admin = isAdmin(req);
    const done = q.done && DONE[q.done] ? { kind: 'ok' as const, text: DONE[q.done]!(q.subject ?? '') } : null;
    return reply
      .code(o.status ?? 200)
      .type('text/html')
      .send(
        activityBody({
          session: req.auth!,
          filters: f,
          actions: rows.slice(0, PAGE_SIZE),
          more: rows.length > PAGE_SIZE,
          users: admin ? await deps.users.list() : null,
          flash: o.flash ?? done,
          form: o.form,
        }).value,
      );
  }

  app.get('/activity', async (req, reply) => render(req, reply));

  const admin = { preHandler: requireRole('admin') };
  const back = (reply: FastifyReply, action: string, subject: string) =>
    reply.redirect(`/activity?done=${encodeURIComponent(action)}&subject=${encodeURIComponent(subject)}#users`, 303);

  app.post('/activity/users', admin, async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const form: AddUserForm = {
      username: String(b.username ?? '')
        .trim()
        .toLowerCase(),
      displayName: String(b.display_name ?? '').trim(),
      roles: rolesOf(b.roles),
    };
    try {
      const u = await deps.users.add(
        { ...form, displayName: form.displayName || undefined, password: String(b.password ?? '') },
        req.auth!.user.username,
      );
      return back(reply, 'user.add', u.username);
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      // Shown beside the form, with what was typed (but the password) kept.
      return render(req, reply, { status: 400, flash: { kind: 'error', text: err.message }, form });
    }
  });

  app.post('/activity/users/:username/roles', admin, async (req, reply) => {
    const { username } = req.params as { username: string };
    const roles = rolesOf((req.body as Record<string, unknown> | undefined)?.roles);
    if (username === req.auth!.user.username && !roles.includes('admin'))
      throw new ConsoleRefusal(
        409,
        'You cannot take the admin role from yourself; ask another admin. Nothing changed.',
      );
    try {
      await deps.users.setRoles(username, roles, req.auth!.user.username);
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      return render(req, reply, { status: 400, flash: { kind: 'error', text: `${username}: ${err.message}` } });
    }
    return back(reply, 'user.roles', username);
  });

  app.post('/activity/users/:username/disable', admin, async (req, reply) => {
    const { username } = req.params as { username: string };
    if (username === req.auth!.user.username)
      throw new ConsoleRefusal(409, 'You cannot disable yourself; ask another admin. Nothing changed.');
    try {
      await deps.users.disable(username, req.auth!.user.username);
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      return render(req, reply, { status: 404, flash: { kind: 'error', text: err.message } });
    }
    return back(reply, 'user.disable', username);
  });
}
