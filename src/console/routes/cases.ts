/**
 * A review case (/cases/:authId) and what analysts do with it: claim, release, assign (an
 * approver), a verdict (fraud / legitimate / escalate with a note), a bulk verdict on the card's
 * other open cases, and the assistant's explanation on demand. Every action is a POST with the
 * CSRF token, checked for its role here, and recorded in the action log by src/cases/ in the
 * same transaction as the change. Refusals (held by someone else, already decided) say why
 * and change nothing.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { explainAuthorization } from '../../assistant/explain.js';
import { bulkVerdict } from '../../cases/bulk.js';
import { claimCase, releaseClaim } from '../../cases/claims.js';
import { caseDetail } from '../../cases/detail.js';
import { CaseError } from '../../cases/errors.js';
import { giveVerdict, VERDICTS, type Verdict } from '../../cases/verdicts.js';
import { recordAction } from '../../identity/action-log.js';
import { hasRole } from '../../identity/users.js';
import { inTransaction } from '../../storage/pool.js';
import { requireRole, wantsJson } from '../auth.js';
import type { ConsoleDeps } from '../deps.js';
import { page } from '../layout.js';
import { ConsoleRefusal } from '../server.js';
import { ServerTiming } from '../timing.js';
import { decisionDetail } from '../views/decision-detail.js';

const STATUS: Record<CaseError['kind'], number> = { not_found: 404, conflict: 409, invalid: 400 };

/** A CaseError as the person's refusal (4xx with its message); anything else is rethrown. */
async function refusing<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CaseError) throw new ConsoleRefusal(STATUS[err.kind], err.message);
    throw err;
  }
}

const bodyOf = (req: FastifyRequest) => (req.body ?? {}) as Record<string, unknown>;
const authIdOf = (req: FastifyRequest) => (req.params as { authId: string }).authId;

function verdictOf(v: unknown): Verdict {
  if (typeof v === 'string' && (VERDICTS as readonly string[]).includes(v)) return v as Verdict;
  throw new ConsoleRefusal(400, 'Choose a verdict: fraud, legitimate or escalate. Nothing was saved.');
}

/** After a form post: back to a page (303); a script gets JSON instead. */
function done(req: FastifyRequest, reply: FastifyReply, to: string, json: Record<string, unknown>) {
  if (wantsJson(req)) return reply.send({ ok: true, ...json });
  return reply.redirect(to, 303);
}

export function casesRoutes(app: FastifyInstance, deps: ConsoleDeps): void {
  const analyst = { preHandler: requireRole('analyst') };

  /** The case page, also the body of /decisions/:authId (routes/decisions.ts). */
  app.get('/cases/:authId', async (req, reply) => {
    const timing = new ServerTiming();
    const authId = authIdOf(req);
    const d = await timing.time('db', () => caseDetail(deps.pool, authId));
    if (!d) throw new ConsoleRefusal(404, `There is no decision ${authId} in the audit trail.`);
    if (!d.isCase) return reply.redirect(`/decisions/${encodeURIComponent(authId)}`);
    const session = req.auth!;
    const body = await timing.time('render', () =>
      decisionDetail(d, {
        session,
        mode: 'case',
        nowMs: Date.now(),
        slaMs: deps.settings.reviewSlaMs,
        canAssign: hasRole(session.user, 'approver'),
        canExplain: deps.chat !== undefined,
      }),
    );
    return timing
      .apply(reply)
      .type('text/html')
      .send(page({ title: `Case ${authId}`, session, active: 'queue', body, scripts: ['cases.js'] }).value);
  });

  app.post('/cases/:authId/claim', analyst, async (req, reply) => {
    const authId = authIdOf(req);
    const claim = await refusing(() =>
      inTransaction(deps.pool, (db) =>
        claimCase(db, { authId, to: req.auth!.user.username, ttlMs: deps.settings.claimTtlMs }),
      ),
    );
    return done(req, reply, `/cases/${encodeURIComponent(authId)}`, { claim });
  });

  app.post('/cases/:authId/release', analyst, async (req, reply) => {
    const authId = authIdOf(req);
    const released = await inTransaction(deps.pool, (db) => releaseClaim(db, authId, req.auth!.user.username));
    if (!released) throw new ConsoleRefusal(409, `You hold no claim on case ${authId}; nothing was changed.`);
    return done(req, reply, '/queue?done=released', {});
  });

  app.post('/cases/:authId/assign', { preHandler: requireRole('approver') }, async (req, reply) => {
    const authId = authIdOf(req);
    const to = String(bodyOf(req).to ?? '')
      .trim()
      .toLowerCase();
    const user = to ? await deps.users.get(to) : null;
    if (!user || user.disabled || !hasRole(user, 'analyst'))
      throw new ConsoleRefusal(400, `There is no analyst '${to}' to assign the case to. Nothing was changed.`);
    const claim = await refusing(() =>
      inTransaction(deps.pool, (db) =>
        claimCase(db, {
          authId,
          to,
          ttlMs: deps.settings.claimTtlMs,
          assignedBy: req.auth!.user.username,
          force: true,
        }),
      ),
    );
    return done(req, reply, `/cases/${encodeURIComponent(authId)}`, { claim });
  });

  app.post('/cases/:authId/verdict', analyst, async (req, reply) => {
    const authId = authIdOf(req);
    const b = bodyOf(req);
    const verdict = verdictOf(b.verdict);
    const res = await refusing(() =>
      giveVerdict(deps.pool, {
        authId,
        by: req.auth!.user.username,
        verdict,
        note: String(b.note ?? '').trim(),
        topic: deps.cases.labelsTopic,
        claimTtlMs: deps.settings.claimTtlMs,
      }),
    );
    if (res.label) deps.cases.relay.kick();
    return done(req, reply, `/queue?done=${verdict === 'escalate' ? 'escalated' : 'verdict'}`, {
      verdict: res.verdict,
      label: res.label !== null,
      ...(res.noLabel ? { noLabel: res.noLabel } : {}),
    });
  });

  app.post('/cases/:authId/bulk', analyst, async (req, reply) => {
    const authId = authIdOf(req);
    const b = bodyOf(req);
    const verdict = verdictOf(b.verdict);
    const ids = (Array.isArray(b.case) ? b.case : b.case === undefined ? [] : [b.case]).map(String);
    const d = await caseDetail(deps.pool, authId);
    if (!d?.isCase) throw new ConsoleRefusal(404, `There is no review case ${authId}.`);
    const res = await refusing(() =>
      bulkVerdict(deps.pool, {
        cardToken: d.record.card_token,
        authIds: ids,
        by: req.auth!.user.username,
        verdict,
        note: String(b.note ?? '').trim(),
        topic: deps.cases.labelsTopic,
        claimTtlMs: deps.settings.claimTtlMs,
        bulkOf: authId,
      }),
    );
    if (res.decided.some((r) => r.label)) deps.cases.relay.kick();
    if (wantsJson(req))
      return reply.send({ ok: true, decided: res.decided.map((r) => r.verdict.authId), skipped: res.skipped });
    if (res.skipped.length === 0) return reply.redirect('/queue?done=bulk', 303);
    // Some were skipped: say which and why, on a page of its own.
    return reply.type('text/html').send(
      page({
        title: 'Bulk verdict',
        session: req.auth,
        active: 'queue',
        flash: {
          kind: 'error',
          text: `${res.decided.length} case(s) decided; ${res.skipped.length} skipped: ${res.skipped
            .map((s) => `${s.authId} (${s.reason})`)
            .join('; ')}`,
        },
        body: '',
      }).value,
    );
  });

  app.post('/cases/:authId/explain', analyst, async (req, reply) => {
    const authId = authIdOf(req);
    const chat = deps.chat;
    if (!chat) throw new ConsoleRefusal(503, 'The assistant is not configured on this console.');
    const res = await explainAuthorization({ pool: deps.pool, chat, authId, rulesDir: deps.cases.rulesDir }).catch(
      (err: Error) => {
        throw new ConsoleRefusal(502, `The assistant could not explain ${authId}: ${err.message}`);
      },
    );
    await recordAction(deps.pool, { actor: req.auth!.user.username, action: 'case.explain', subject: authId });
    return reply.send({ explanation: res.explanation, model: chat.model });
  });
}
