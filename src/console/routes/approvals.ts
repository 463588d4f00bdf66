/**
 * The approvals page (`/approvals`): the open four-eyes requests — new ruleset versions and
 * rollbacks with their diff against the active version, list changes, model promotions and
 * retirements (src/models/registry/) — with Approve / Reject for
 * approvers, and the history of decided requests. The decisions are the rules library's
 * (src/rules/pg-approvals.ts: the approver role, never one's own request, the action log, the
 * engines told); this page only shows and forwards them.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Session } from '../../identity/sessions.js';
import { hasRole } from '../../identity/users.js';
import { diffRulesets, isEmptyDiff, type RulesetDiff } from '../../rules/diff.js';
import type { ListRequest, RuleApprovals, RulesetRequest } from '../../rules/pg-approvals.js';
import { FourEyesError, PublishError, RulesetStoreError } from '../../rules/pg-store.js';
import {
  ModelFourEyesError,
  ModelRegistry,
  ModelRegistryError,
  type ModelRequest,
} from '../../models/registry/pg-model-registry.js';
import type { RulesetDef } from '../../rules/types.js';
import { requireRole } from '../auth.js';
import type { ConsoleDeps } from '../deps.js';
import { html, type Html } from '../html.js';
import { csrfField, page } from '../layout.js';
import { ConsoleRefusal } from '../server.js';

const time = (d: Date | null): string =>
  d
    ? d
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replace('T', ' ')
    : '-';

/** What a request changes, against the active version (or nothing, when none is active). */
async function diffOf(a: RuleApprovals, r: RulesetRequest, active: RulesetDef | null): Promise<RulesetDiff> {
  const proposed = (await a.store.require(r.version)).def;
  const base = active ?? { ...proposed, version: '(none active)', rules: [], description: proposed.description };
  return diffRulesets(base, proposed);
}

function diffView(d: RulesetDiff): Html {
  if (isEmptyDiff(d)) return html`<p class="muted">No rule or threshold changes against ${d.from}.</p>`;
  const rows: Html[] = [];
  for (const k of ['review', 'decline'] as const) {
    const t = d.thresholds[k];
    if (t)
      rows.push(
        html`<tr>
          <td><span class="badge warn">threshold</span></td>
          <td>${k}</td>
          <td>${t.from} → ${t.to}</td>
        </tr>`,
      );
  }
  for (const [kind, badge, list] of [
    ['added', 'ok', d.added],
    ['removed', 'bad', d.removed],
  ] as const)
    for (const r of list)
      rows.push(
        html`<tr>
          <td><span class="badge ${badge}">${kind}</span></td>
          <td>${r.id}</td>
          <td>${r.mode} ${r.action}, priority ${r.priority}<br /><code>${r.expression}</code></td>
        </tr>`,
      );
  for (const c of d.changed)
    rows.push(
      html`<tr>
        <td><span class="badge warn">changed</span></td>
        <td>${c.id}</td>
        <td>
          ${Object.entries(c.changes).map(
            ([f, ch]) =>
              html`<div>
                ${f}: <del><code>${String(ch.from)}</code></del> → <ins><code>${String(ch.to)}</code></ins>
              </div>`,
          )}
        </td>
      </tr>`,
    );
  return html`<table class="diff">
    <caption>
      Changes from ${d.from} to ${d.to}
    </caption>
    <thead>
      <tr>
        <th scope="col">Change</th>
        <th scope="col">Rule</th>
        <th scope="col">Detail</th>
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}

/** Approve / Reject for an approver who did not ask; otherwise why not. */
function decisionForm(s: Session, requestedBy: string, action: string, name: string, key: string): Html {
  if (!hasRole(s.user, 'approver')) return html`<p class="muted">Approving or rejecting needs the approver role.</p>`;
  if (requestedBy === s.user.username)
    return html`<p class="own-request">
      You requested this change: another approver must approve or reject it (four eyes).
    </p>`;
  return html`<form class="decide" method="post" action="${action}/approve">
    ${csrfField(s)}
    <label for="comment-${key}">Comment (required to reject)</label>
    <textarea id="comment-${key}" name="comment" rows="2"></textarea>
    <p class="buttons">
      <button type="submit">Approve ${name}</button>
      <button type="submit" class="secondary" formaction="${action}/reject">Reject ${name}</button>
    </p>
  </form>`;
}

async function rulesetRequestView(a: RuleApprovals, s: Session, r: RulesetRequest, active: RulesetDef | null) {
  const title = r.kind === 'publish' ? `New version ${r.version}` : `Rollback to ${r.version}`;
  return html`<article class="panel request" aria-labelledby="rs-${r.id}">
    <h3 id="rs-${r.id}">${title}</h3>
    <p>
      Request ${r.id} by <strong>${r.requested_by}</strong> at ${time(r.requested_at)}: “${r.comment}”. Active now:
      ${active?.version ?? 'none (engines use the ruleset files)'}.
    </p>
    ${diffView(await diffOf(a, r, active))}
    ${decisionForm(s, r.requested_by, `/approvals/rulesets/${encodeURIComponent(r.version)}`, r.version, `rs-${r.id}`)}
  </article>`;
}

function listRequestsView(s: Session, rows: ListRequest[]): Html {
  if (!rows.length) return html`<p class="muted">No list change is waiting.</p>`;
  return html`${rows.map(
    (r) =>
      html`<article class="panel request" aria-labelledby="ls-${r.id}">
        <h3 id="ls-${r.id}">
          Request ${r.id}: ${r.op === 'add' ? 'add' : 'remove'}
          <code>${r.value}</code> ${r.op === 'add' ? 'to' : 'from'} ${r.name}
        </h3>
        <p>
          By <strong>${r.requested_by}</strong> at ${time(r.requested_at)}${r.comment ? html`: “${r.comment}”` : ''}.
        </p>
        ${decisionForm(s, r.requested_by, `/approvals/lists/${r.id}`, `request ${r.id}`, `ls-${r.id}`)}
      </article>`,
  )}`;
}

const modelTitle = (r: ModelRequest): string =>
  r.kind === 'publish' ? `Model ${r.version} as ${r.role}` : `Retire ${r.role} ${r.version}`;

function modelRequestsView(s: Session, rows: ModelRequest[]): Html {
  if (!rows.length) return html`<p class="muted">No model request is waiting.</p>`;
  return html`${rows.map(
    (r) =>
      html`<article class="panel request" aria-labelledby="md-${r.id}">
        <h3 id="md-${r.id}">${modelTitle(r)}</h3>
        <p>
          Request ${r.id} by <strong>${r.requested_by}</strong> at
          ${time(r.requested_at)}${r.comment ? html`: “${r.comment}”` : ''}.
          ${r.role === 'champion' ? 'Champion' : 'Challenger'} now: ${r.base_version ?? 'none in the registry'}.
        </p>
        <p class="muted">File <code>${r.onnx_path}</code>, sha256 <code>${r.sha256}</code></p>
        ${decisionForm(s, r.requested_by, `/approvals/models/${encodeURIComponent(r.version)}`, r.version, `md-${r.id}`)}
      </article>`,
  )}`;
}

function historyView(rs: RulesetRequest[], ls: ListRequest[], ms: ModelRequest[]): Html {
  const rows = [
    ...ms.map((r) => ({ at: r.decided_at, what: modelTitle(r).toLowerCase(), r })),
    ...rs.map((r) => ({
      at: r.decided_at,
      what: r.kind === 'publish' ? `new version ${r.version}` : `rollback to ${r.version}`,
      r,
    })),
    ...ls.map((r) => ({ at: r.decided_at, what: `${r.op} ${r.value} ${r.op === 'add' ? 'to' : 'from'} ${r.name}`, r })),
  ].sort((x, y) => (y.at?.getTime() ?? 0) - (x.at?.getTime() ?? 0));
  if (!rows.length) return html`<p class="muted">Nothing decided yet.</p>`;
  return html`<table>
    <thead>
      <tr>
        <th scope="col">Decided</th>
        <th scope="col">Change</th>
        <th scope="col">Requested by</th>
        <th scope="col">Decision</th>
        <th scope="col">Decided by</th>
        <th scope="col">Comment</th>
      </tr>
    </thead>
    <tbody>
      ${rows.slice(0, 50).map(
        ({ at, what, r }) =>
          html`<tr>
            <td>${time(at)}</td>
            <td>${what}</td>
            <td>${r.requested_by}</td>
            <td><span class="badge ${r.status === 'approved' ? 'ok' : 'bad'}">${r.status}</span></td>
            <td>${r.decided_by}</td>
            <td>${r.decision_comment}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** The confirmation after a decision (from the redirect's query: codes, never free text). */
function flashOf(q: Record<string, string | undefined>): { kind: 'ok'; text: string } | null {
  const subject = q.subject ?? '';
  switch (q.done) {
    case 'approved-ruleset':
      return {
        kind: 'ok',
        text: `Approved: ${subject} is the active ruleset; running engines take it up within a second.`,
      };
    case 'rejected-ruleset':
      return { kind: 'ok', text: `Rejected the request for ${subject}; nothing changed.` };
    case 'approved-list':
      return { kind: 'ok', text: `Approved list change ${subject}; running engines take it up within a second.` };
    case 'rejected-list':
      return { kind: 'ok', text: `Rejected list change ${subject}; nothing changed.` };
    case 'approved-model':
      return { kind: 'ok', text: `Approved model ${subject}; running engines swap it in within a second.` };
    case 'rejected-model':
      return { kind: 'ok', text: `Rejected the request for model ${subject}; nothing changed.` };
    default:
      return null;
  }
}

/** The library's refusals as the person's: four eyes and roles 403, the rest (stale, no longer compiles) 409. */
async function decide<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FourEyesError || err instanceof ModelFourEyesError)
      throw new ConsoleRefusal(403, `${err.message}. Nothing was changed.`);
    if (err instanceof PublishError)
      throw new ConsoleRefusal(409, `${err.message.split('\n')[0]}. Nothing was changed.`);
    if (err instanceof RulesetStoreError || err instanceof ModelRegistryError)
      throw new ConsoleRefusal(409, `${err.message}. Nothing was changed.`);
    throw err;
  }
}

const commentOf = (req: FastifyRequest): string =>
  String((req.body as Record<string, unknown> | undefined)?.comment ?? '');

export function approvalsRoutes(app: FastifyInstance, deps: ConsoleDeps): void {
  const a = deps.ruleApprovals;
  // Model promotions (src/models/registry/): the same four eyes, on the console's database.
  const models = new ModelRegistry(deps.pool);
  const approver = { preHandler: requireRole('approver') };

  app.get('/approvals', async (req, reply) => {
    const s = req.auth!;
    const [pending, lists, decided, decidedLists, activeVersion, modelRequests, decidedModels] = await Promise.all([
      a.pending(),
      a.pendingListChanges(),
      a.decided(50),
      a.decidedListChanges(50),
      a.store.activeVersion(),
      models.pending(),
      models.decided(50),
    ]);
    const active = activeVersion ? (await a.store.require(activeVersion)).def : null;
    const rulesets = await Promise.all(pending.map((r) => rulesetRequestView(a, s, r, active)));
    const body = html`<p class="muted">
        Changes to rules, lists and models are proposed by one person and take effect only when another approver
        approves them.
      </p>
      <section aria-labelledby="h-rulesets">
        <h2 id="h-rulesets">Rulesets waiting (${pending.length})</h2>
        ${rulesets.length ? rulesets : html`<p class="muted">No ruleset request is waiting.</p>`}
      </section>
      <section aria-labelledby="h-lists">
        <h2 id="h-lists">List changes waiting (${lists.length})</h2>
        ${listRequestsView(s, lists)}
      </section>
      <section aria-labelledby="h-models">
        <h2 id="h-models">Models waiting (${modelRequests.length})</h2>
        ${modelRequestsView(s, modelRequests)}
      </section>
      <section aria-labelledby="h-history">
        <h2 id="h-history">Decided</h2>
        ${historyView(decided, decidedLists, decidedModels)}
      </section>`;
    const flash = flashOf(req.query as Record<string, string | undefined>);
    return reply
      .type('text/html')
      .send(page({ title: 'Approvals', session: s, active: 'approvals', body, flash }).value);
  });

  app.post('/approvals/rulesets/:version/approve', approver, async (req, reply) => {
    const { version } = req.params as { version: string };
    const by = req.auth!.user.username;
    await decide(() => a.approve(version, { by, comment: commentOf(req) }));
    return reply.redirect(`/approvals?done=approved-ruleset&subject=${encodeURIComponent(version)}`, 303);
  });

  app.post('/approvals/rulesets/:version/reject', approver, async (req, reply) => {
    const { version } = req.params as { version: string };
    const comment = commentOf(req);
    if (!comment.trim())
      throw new ConsoleRefusal(400, 'Say why in the comment to reject a request. Nothing was changed.');
    await decide(() => a.reject(version, { by: req.auth!.user.username, comment }));
    return reply.redirect(`/approvals?done=rejected-ruleset&subject=${encodeURIComponent(version)}`, 303);
  });

  app.post('/approvals/models/:version/approve', approver, async (req, reply) => {
    const { version } = req.params as { version: string };
    await decide(() => models.approve(version, { by: req.auth!.user.username, comment: commentOf(req) }));
    return reply.redirect(`/approvals?done=approved-model&subject=${encodeURIComponent(version)}`, 303);
  });

  app.post('/approvals/models/:version/reject', approver, async (req, reply) => {
    const { version } = req.params as { version: string };
    const comment = commentOf(req);
    if (!comment.trim())
      throw new ConsoleRefusal(400, 'Say why in the comment to reject a request. Nothing was changed.');
    await decide(() => models.reject(version, { by: req.auth!.user.username, comment }));
    return reply.redirect(`/approvals?done=rejected-model&subject=${encodeURIComponent(version)}`, 303);
  });

  const listId = (req: FastifyRequest): number => {
    const id = Number((req.params as { id: string }).id);
    if (!Number.isInteger(id) || id <= 0) throw new ConsoleRefusal(404, 'No such list change request.');
    return id;
  };

  app.post('/approvals/lists/:id/approve', approver, async (req, reply) => {
    const id = listId(req);
    await decide(() => a.approveListChange(id, { by: req.auth!.user.username, comment: commentOf(req) }));
    return reply.redirect(`/approvals?done=approved-list&subject=${id}`, 303);
  });

  app.post('/approvals/lists/:id/reject', approver, async (req, reply) => {
    const id = listId(req);
    const comment = commentOf(req);
    if (!comment.trim())
      throw new ConsoleRefusal(400, 'Say why in the comment to reject a request. Nothing was changed.');
    await decide(() => a.rejectListChange(id, { by: req.auth!.user.username, comment }));
    return reply.redirect(`/approvals?done=rejected-list&subject=${id}`, 303);
  });
}
