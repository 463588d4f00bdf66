/**
 * The review queue (/queue): every REVIEW decision is a case, oldest first, with its age
 * against the SLA (overdue marked), who holds it, and a claim button per row. Filters: open,
 * claimed, decided. Keyboard: j / k (or the arrow keys) move between cases, Enter opens one,
 * c claims it (assets/cases.js); without JavaScript the links and buttons work as they are.
 */
import type { FastifyInstance } from 'fastify';
import { listQueue, QUEUE_STATES, type QueueCase, type QueueState } from '../../cases/queue.js';
import type { Session } from '../../identity/sessions.js';
import type { ConsoleDeps } from '../deps.js';
import { html, type Html } from '../html.js';
import { csrfField, page } from '../layout.js';
import { ServerTiming } from '../timing.js';
import { age, money, score, verdictBadge, when } from '../views/format.js';

/** Confirmations after a redirect, by code: the page never echoes text from the URL. */
export const FLASH: Record<string, string> = {
  verdict: 'Verdict saved; its label is queued for fraud-labels.',
  escalated: 'Case escalated.',
  bulk: 'Bulk verdict saved.',
  released: 'Claim released.',
};

const STATE_LABEL: Record<QueueState, string> = { open: 'Open', claimed: 'Claimed', decided: 'Decided' };

function row(c: QueueCase, state: QueueState, session: Session): Html {
  const id = encodeURIComponent(c.authId);
  const me = session.user.username;
  return html`<tr class="${c.overdue ? 'overdue' : ''}" data-case="${c.authId}">
    <td><a href="/cases/${id}" data-case-link>${c.authId}</a></td>
    <td><time datetime="${c.eventTime}">${when(c.eventTime)}</time></td>
    <td class="num">${age(c.ageMs)} ${c.overdue ? html`<span class="badge bad">overdue</span>` : ''}</td>
    <td class="num">${score(c.score)}</td>
    <td class="num">${money(c.amountMinor, c.currency)}</td>
    <td>${c.reasons.join(', ') || '-'}</td>
    <td>${c.cardToken}</td>
    <td>
      ${
        state === 'decided'
          ? html`${verdictBadge(c.verdict)} ${c.decidedBy}`
          : html`${verdictBadge(c.verdict)}
            ${
              c.claimedBy && c.claimedBy !== me
                ? html`<span>claimed by ${c.claimedBy}</span>`
                : html`<form class="inline" method="post" action="/cases/${id}/claim">
                    ${csrfField(session)}
                    <button
                      type="submit"
                      data-claim
                      aria-label="${c.claimedBy === me ? 'Renew claim' : 'Claim'} ${c.authId}"
                    >
                      ${c.claimedBy === me ? 'Renew' : 'Claim'}
                    </button>
                  </form>`
            }`
      }
    </td>
  </tr>`;
}

export function queueRoutes(app: FastifyInstance, deps: ConsoleDeps): void {
  app.get('/queue', async (req, reply) => {
    const timing = new ServerTiming();
    const q = req.query as Record<string, string | undefined>;
    const state: QueueState = (QUEUE_STATES as readonly string[]).includes(q.state ?? '')
      ? (q.state as QueueState)
      : 'open';
    const data = await timing.time('db', () => listQueue(deps.pool, { state, slaMs: deps.settings.reviewSlaMs }));
    const session = req.auth!;
    const body = await timing.time('render', () => {
      const c = data.counts;
      return html`<section class="panel queue-summary" aria-label="Queue depth">
          <strong>${c.open}</strong> open · <strong class="${c.overdue ? 'error-text' : ''}">${c.overdue}</strong> past
          the ${age(deps.settings.reviewSlaMs)} SLA · <strong>${c.claimed}</strong> claimed · oldest
          ${c.oldestAgeMs === null ? '-' : age(c.oldestAgeMs)}
        </section>
        <nav aria-label="Queue filter" class="filters">
          ${QUEUE_STATES.map(
            (s) =>
              html`<a href="/queue?state=${s}" ${s === state ? html`aria-current="page"` : ''}>${STATE_LABEL[s]}</a>`,
          )}
        </nav>
        <p class="muted keys">
          Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous case, <kbd>Enter</kbd> open, <kbd>c</kbd> claim.
        </p>
        ${
          data.cases.length === 0
            ? html`<p class="muted">No ${state} cases.</p>`
            : html`<table class="queue">
                <caption class="muted">
                  ${STATE_LABEL[state]} cases, ${state === 'decided' ? 'latest verdict first' : 'oldest first'} (first
                  ${data.cases.length})
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Auth id</th>
                    <th scope="col">Time</th>
                    <th scope="col" class="num">Age</th>
                    <th scope="col" class="num">Score</th>
                    <th scope="col" class="num">Amount</th>
                    <th scope="col">Reasons</th>
                    <th scope="col">Card</th>
                    <th scope="col">${state === 'decided' ? 'Verdict' : 'Claim'}</th>
                  </tr>
                </thead>
                <tbody>
                  ${data.cases.map((c) => row(c, state, session))}
                </tbody>
              </table>`
        }`;
    });
    const flash = q.done && FLASH[q.done] ? { kind: 'ok' as const, text: FLASH[q.done]! } : null;
    return timing
      .apply(reply)
      .type('text/html')
      .send(page({ title: 'Review queue', session, active: 'queue', body, flash, scripts: ['cases.js'] }).value);
  });
}
