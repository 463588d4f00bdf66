/**
 * Decisions (/decisions): the search of the audit trail by card token, auth id, time range
 * (UTC), outcome and rule (the same search as `fraud-engine decisions search`), and one
 * decision's detail (/decisions/:authId), as on a case page but read only.
 */
import type { FastifyInstance } from 'fastify';
import { caseDetail } from '../../cases/detail.js';
import { OUTCOMES, searchDecisions, type DecisionQuery } from '../../cases/search.js';
import type { Outcome } from '../../events/types.js';
import type { AuditRecord } from '../../sinks/audit/queries.js';
import type { ConsoleDeps } from '../deps.js';
import { html, type Html } from '../html.js';
import { page } from '../layout.js';
import { ConsoleRefusal } from '../server.js';
import { ServerTiming } from '../timing.js';
import { decisionDetail } from '../views/decision-detail.js';
import { money, outcomeBadge, score, when } from '../views/format.js';

type Form = Record<'card' | 'auth' | 'from' | 'to' | 'outcome' | 'rule' | 'limit', string>;

const LIMITS = ['50', '100', '500'];

/** `2026-12-01T09:30` (a datetime-local field, read as UTC) or a full ISO time → epoch ms. */
function timeOf(name: string, v: string): number | undefined {
  if (!v) return undefined;
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v) ? `${v}Z` : v;
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new ConsoleRefusal(400, `The ${name} time '${v}' is not a date and time.`);
  return ms;
}

export function queryOf(f: Form): DecisionQuery {
  const q: DecisionQuery = { limit: Number(LIMITS.includes(f.limit) ? f.limit : 100) };
  if (f.card) q.card = f.card;
  if (f.auth) q.authId = f.auth;
  if (f.rule) q.rule = f.rule;
  if (f.outcome) {
    if (!(OUTCOMES as readonly string[]).includes(f.outcome))
      throw new ConsoleRefusal(400, `Unknown outcome '${f.outcome}'.`);
    q.outcome = f.outcome as Outcome;
  }
  const from = timeOf('from', f.from);
  const to = timeOf('to', f.to);
  if (from !== undefined) q.from = from;
  if (to !== undefined) q.to = to;
  if (from !== undefined && to !== undefined && from >= to)
    throw new ConsoleRefusal(400, 'The time range is empty: "from" must be before "to".');
  return q;
}

function searchForm(f: Form): Html {
  const field = (name: keyof Form, label: string, type = 'search', hint = '') =>
    html`<div>
      <label for="f-${name}">${label}</label>
      <input
        id="f-${name}"
        name="${name}"
        type="${type}"
        value="${f[name]}"
        ${hint ? html`aria-describedby="f-${name}-hint"` : ''}
      />
      ${hint ? html`<small id="f-${name}-hint" class="muted">${hint}</small>` : ''}
    </div>`;
  return html`<form method="get" action="/decisions" class="search panel" role="search">
    <div class="search-fields">
      ${field('card', 'Card token')} ${field('auth', 'Auth id')}
      ${field('rule', 'Rule id', 'search', 'active or shadow hit')} ${field('from', 'From (UTC)', 'datetime-local')}
      ${field('to', 'To (UTC)', 'datetime-local')}
      <div>
        <label for="f-outcome">Outcome</label>
        <select id="f-outcome" name="outcome">
          <option value="">any</option>
          ${OUTCOMES.map((o) => html`<option value="${o}" ${f.outcome === o ? html`selected` : ''}>${o}</option>`)}
        </select>
      </div>
      <div>
        <label for="f-limit">At most</label>
        <select id="f-limit" name="limit">
          ${LIMITS.map((l) => html`<option value="${l}" ${(f.limit || '100') === l ? html`selected` : ''}>${l}</option>`)}
        </select>
      </div>
    </div>
    <p><button type="submit">Search</button></p>
  </form>`;
}

function results(rows: AuditRecord[]): Html {
  if (rows.length === 0) return html`<p class="muted" role="status">No decisions match.</p>`;
  return html`<table class="results">
    <caption class="muted">
      ${rows.length} decision(s), newest first; shadow rule hits in parentheses
    </caption>
    <thead>
      <tr>
        <th scope="col">Time</th>
        <th scope="col">Auth id</th>
        <th scope="col">Outcome</th>
        <th scope="col" class="num">Score</th>
        <th scope="col" class="num">Amount</th>
        <th scope="col">Card</th>
        <th scope="col">Rule hits</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (r) =>
          html`<tr>
            <td><time datetime="${r.event_time}">${when(r.event_time)}</time></td>
            <td><a href="/decisions/${encodeURIComponent(r.auth_id)}">${r.auth_id}</a></td>
            <td>${outcomeBadge(r.outcome)}</td>
            <td class="num">${score(r.score)}</td>
            <td class="num">${money(r.context?.amount_minor ?? null, r.context?.currency)}</td>
            <td>${r.card_token}</td>
            <td>${r.rule_hits.map((h) => (h.mode === 'SHADOW' ? `(${h.rule_id})` : h.rule_id)).join(', ') || '-'}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function decisionsRoutes(app: FastifyInstance, deps: ConsoleDeps): void {
  app.get('/decisions', async (req, reply) => {
    const timing = new ServerTiming();
    const raw = req.query as Record<string, unknown>;
    const s = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string).trim() : '');
    const f: Form = {
      card: s('card'),
      auth: s('auth'),
      from: s('from'),
      to: s('to'),
      outcome: s('outcome'),
      rule: s('rule'),
      limit: s('limit'),
    };
    const asked = Object.entries(f).some(([k, v]) => k !== 'limit' && v !== '');
    let body: Html;
    let status = 200;
    let flash: { kind: 'error'; text: string } | null = null;
    try {
      const rows = asked ? await timing.time('db', () => searchDecisions(deps.pool, queryOf(f))) : null;
      body = await timing.time('render', () => html`${searchForm(f)} ${rows ? results(rows) : ''}`);
    } catch (err) {
      if (!(err instanceof ConsoleRefusal)) throw err;
      status = err.status;
      flash = { kind: 'error', text: `${err.message} Nothing was searched.` };
      body = searchForm(f);
    }
    return timing
      .apply(reply)
      .code(status)
      .type('text/html')
      .send(page({ title: 'Decisions', session: req.auth, active: 'decisions', body, flash }).value);
  });

  app.get('/decisions/:authId', async (req, reply) => {
    const timing = new ServerTiming();
    const authId = (req.params as { authId: string }).authId;
    const d = await timing.time('db', () => caseDetail(deps.pool, authId));
    if (!d) throw new ConsoleRefusal(404, `There is no decision ${authId} in the audit trail.`);
    const session = req.auth!;
    const body = await timing.time('render', () =>
      decisionDetail(d, {
        session,
        mode: 'decision',
        nowMs: Date.now(),
        slaMs: deps.settings.reviewSlaMs,
        canAssign: false,
        canExplain: deps.chat !== undefined,
      }),
    );
    return timing
      .apply(reply)
      .type('text/html')
      .send(page({ title: `Decision ${authId}`, session, active: 'decisions', body, scripts: ['cases.js'] }).value);
  });
}
