/**
 * One authorization in full, as a case (/cases/:authId, with the claim, verdict and bulk forms)
 * or as a decision (/decisions/:authId, read only): the authorization and its context, the
 * model score (and the challenger's, when one ran) and the model's top factors, the rule hits (active and shadow), the features beside the customer's usual
 * behaviour, the card's / customer's / terminal's decisions as timelines, the assistant's
 * explanation on demand, and the verdicts given.
 */
import type { CaseDetail, FeatureBaseline, TimelineEntry } from '../../cases/detail.js';
import { VERDICTS, type VerdictRecord } from '../../cases/verdicts.js';
import type { Session } from '../../identity/sessions.js';
import { html, type Html } from '../html.js';
import { csrfField } from '../layout.js';
import { age, money, num, outcomeBadge, score, verdictBadge, when } from './format.js';

export interface DetailOptions {
  session: Session;
  mode: 'case' | 'decision';
  nowMs: number;
  slaMs: number;
  /** An approver may assign a case to someone else. */
  canAssign: boolean;
  /** The assistant is configured. */
  canExplain: boolean;
}

/** A feature stands out when it is at least twice (or at most half) the usual value. */
function standsOut(b: FeatureBaseline): boolean {
  if (b.value === null || b.median === null) return false;
  if (b.median === 0) return b.value !== 0;
  const r = b.value / b.median;
  return r >= 2 || r <= 0.5;
}

function facts(rows: [string, Html | string][]): Html {
  return html`<dl class="facts">
    ${rows.map(
      ([k, v]) =>
        html`<dt>${k}</dt>
          <dd>${v}</dd>`,
    )}
  </dl>`;
}

/** The challenger's score beside the champion's (docs/model.md §8), when one was configured: it never decided. */
function challengerFacts(d: CaseDetail): [string, Html][] {
  const { challenger_score: s, challenger_version: v } = d.record;
  if ((s === null || s === undefined) && !v) return [];
  const note = s === null || s === undefined ? 'failed or timed out; ' : '';
  return [
    [
      'Challenger score',
      html`<strong>${score(s)}</strong> <span class="muted">(${v ?? 'version unknown'}; ${note}never decides)</span>`,
    ],
  ];
}

function authorization(d: CaseDetail): Html {
  const r = d.record;
  const c = r.context;
  return html`<section class="panel" aria-labelledby="h-auth">
    <h2 id="h-auth">Authorization</h2>
    ${facts([
      ['Outcome', outcomeBadge(r.outcome)],
      ['Model score', html`<strong>${score(r.score)}</strong> <span class="muted">(${r.model_version})</span>`],
      ...challengerFacts(d),
      ['Amount', money(c?.amount_minor ?? null, c?.currency)],
      ['Card token', html`<a href="/decisions?card=${encodeURIComponent(r.card_token)}">${r.card_token}</a>`],
      ['Customer', c?.customer_id ?? '-'],
      ['Terminal', c?.terminal_id ?? '-'],
      ['Merchant / MCC', `${c?.merchant_id ?? '-'} / ${c?.mcc ?? '-'}`],
      ['Channel / country', `${c?.channel ?? '-'} / ${c?.country ?? '-'}`],
      ['Device', c?.device_id ?? '-'],
      ['Event time', when(r.event_time)],
      ['Decided', `${when(r.decided_time)} (${num(r.engine_latency_ms)} ms in the engine)`],
      ['Ruleset', r.ruleset_version],
      ['Reasons', r.reasons.join(', ') || '-'],
      ['Degraded', r.degraded.length ? html`<span class="error-text">${r.degraded.join(', ')}</span>` : 'no'],
    ])}
  </section>`;
}

function ruleHits(d: CaseDetail): Html {
  const hits = d.record.rule_hits;
  return html`<section class="panel" aria-labelledby="h-rules">
    <h2 id="h-rules">Rule hits</h2>
    ${
      hits.length === 0
        ? html`<p class="muted">No rule hit.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Action</th>
                <th scope="col">Mode</th>
              </tr>
            </thead>
            <tbody>
              ${hits.map(
                (h) =>
                  html`<tr>
                    <td><a href="/decisions?rule=${encodeURIComponent(h.rule_id)}">${h.rule_id}</a></td>
                    <td>${h.action}</td>
                    <td>${h.mode === 'SHADOW' ? html`<span class="muted">shadow</span>` : 'active'}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
  </section>`;
}

/** The model's top factors (REVIEW and DECLINE decisions of a model with a trees file; docs/model.md §6). */
function modelFactors(d: CaseDetail): Html {
  const fs = d.record.factors ?? [];
  return html`<section class="panel" aria-labelledby="h-factors">
    <h2 id="h-factors">Model factors</h2>
    ${
      fs.length === 0
        ? html`<p class="muted">Not computed for this decision (an APPROVE, or a model without its trees file).</p>`
        : html`<p class="muted">
              What moved the model's score most: each feature's exact contribution to the model's log-odds (TreeSHAP);
              positive raises the fraud risk.
            </p>
            <table class="factors">
              <thead>
                <tr>
                  <th scope="col">Feature</th>
                  <th scope="col" class="num">Value</th>
                  <th scope="col" class="num">Contribution</th>
                  <th scope="col">Effect</th>
                </tr>
              </thead>
              <tbody>
                ${fs.map(
                  (f) =>
                    html`<tr>
                      <th scope="row">${f.feature}</th>
                      <td class="num">${f.value === null ? 'missing' : num(f.value)}</td>
                      <td class="num">${(f.contribution > 0 ? '+' : '') + f.contribution.toFixed(3)}</td>
                      <td>${f.contribution > 0 ? 'raises risk' : 'lowers risk'}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
    }
  </section>`;
}

function features(d: CaseDetail): Html {
  return html`<section aria-labelledby="h-features">
    <h2 id="h-features">Features beside the ${d.baselineOf}'s usual behaviour</h2>
    <p class="muted">
      Usual = the median over the ${d.baselineOf}'s earlier audited decisions (up to 50). Marked rows are at least twice
      or at most half the usual value.
    </p>
    <table class="features">
      <thead>
        <tr>
          <th scope="col">Feature</th>
          <th scope="col" class="num">This authorization</th>
          <th scope="col" class="num">Usual (median)</th>
          <th scope="col" class="num">Decisions</th>
        </tr>
      </thead>
      <tbody>
        ${d.baseline.map((b) => {
          const out = standsOut(b);
          return html`<tr class="${out ? 'stands-out' : ''}">
            <th scope="row">${b.feature}${out ? html` <span class="badge warn">unusual</span>` : ''}</th>
            <td class="num">${num(b.value)}</td>
            <td class="num">${num(b.median)}</td>
            <td class="num">${b.n}</td>
          </tr>`;
        })}
      </tbody>
    </table>
  </section>`;
}

function timelineList(authId: string, entries: TimelineEntry[]): Html {
  if (entries.length === 0) return html`<p class="muted">No decisions.</p>`;
  return html`<ol class="timeline">
    ${entries.map(
      (e) =>
        html`<li${e.authId === authId ? html` class="current" aria-current="true"` : ''}>
          <time datetime="${e.eventTime}">${when(e.eventTime)}</time>
          ${outcomeBadge(e.outcome)} <span class="num">${score(e.score)}</span> ${money(e.amountMinor, e.currency)}
          ${verdictBadge(e.verdict)}
          ${e.authId === authId ? html`<strong>this one</strong>` : html`<a href="/decisions/${encodeURIComponent(e.authId)}">${e.authId}</a>`}
        </li>`,
    )}
  </ol>`;
}

function timelines(d: CaseDetail): Html {
  return html`<section aria-labelledby="h-timelines">
    <h2 id="h-timelines">Recent decisions</h2>
    <div class="grid">
      ${d.timelines.map(
        (t) =>
          html`<div class="panel">
            <h3>${t.entity} <span class="muted">${t.id}</span></h3>
            ${timelineList(d.record.auth_id, t.entries)}
          </div>`,
      )}
    </div>
  </section>`;
}

function explain(d: CaseDetail, o: DetailOptions): Html {
  const r = d.record;
  return html`<section class="panel" aria-labelledby="h-explain">
    <h2 id="h-explain">Explanation</h2>
    ${
      o.canExplain
        ? html`<button
            type="button"
            class="secondary"
            id="explain"
            data-url="/cases/${encodeURIComponent(r.auth_id)}/explain"
          >
            Explain
          </button>`
        : html`<p class="muted">
            The assistant is not configured (FRAUD_ASSISTANT_MODEL and FRAUD_ASSISTANT_BASE_URL or API key).
          </p>`
    }
    <div id="explanation" class="explanation" aria-live="polite">
      ${
        r.explanation
          ? html`<p>${r.explanation}</p>
              <p class="muted">${r.explanation_model} at ${when(r.explained_at)}</p>`
          : ''
      }
    </div>
  </section>`;
}

function verdictHistory(vs: VerdictRecord[]): Html {
  if (vs.length === 0) return html``;
  return html`<section aria-labelledby="h-verdicts">
    <h2 id="h-verdicts">Verdicts</h2>
    <ul class="verdicts">
      ${vs.map(
        (v) =>
          html`<li>
            ${verdictBadge(v.verdict)} by <strong>${v.decidedBy}</strong> at ${when(v.decidedAt)}
            ${v.bulkOf ? html`(bulk, from <a href="/cases/${encodeURIComponent(v.bulkOf)}">${v.bulkOf}</a>)` : ''}
            ${v.note ? html`<blockquote>${v.note}</blockquote>` : ''}
          </li>`,
      )}
    </ul>
  </section>`;
}

function verdictChoices(name: string, prefix: string): Html {
  return html`<fieldset>
    <legend>Verdict</legend>
    ${VERDICTS.map(
      (v) =>
        html`<span class="choice"
          ><input type="radio" id="${prefix}-${v}" name="${name}" value="${v}" required />
          <label for="${prefix}-${v}">${v}</label></span
        >`,
    )}
  </fieldset>`;
}

function claimPanel(d: CaseDetail, o: DetailOptions): Html {
  const id = encodeURIComponent(d.record.auth_id);
  const me = o.session.user.username;
  const claim = d.claim;
  const ageMs = o.nowMs - Date.parse(d.record.event_time);
  const overdue = ageMs > o.slaMs;
  return html`<section class="panel case-status" aria-labelledby="h-status">
    <h2 id="h-status">Case</h2>
    <p>
      Age <strong>${age(ageMs)}</strong>
      ${overdue ? html`<span class="badge bad">overdue</span>` : html`<span class="badge ok">within SLA</span>`}
      <span class="muted">(SLA ${age(o.slaMs)})</span>
    </p>
    <p id="claim-state">
      ${claim ? html`Claimed by <strong>${claim.claimedBy}</strong> until ${when(claim.expiresAt)}${claim.assignedBy ? ` (assigned by ${claim.assignedBy})` : ''}.` : 'Not claimed.'}
    </p>
    ${
      !claim || claim.claimedBy === me
        ? html`<form class="inline" method="post" action="/cases/${id}/claim">
            ${csrfField(o.session)}
            <button type="submit">${claim ? 'Renew my claim' : 'Claim'}</button>
          </form>`
        : ''
    }
    ${
      claim?.claimedBy === me
        ? html`<form class="inline" method="post" action="/cases/${id}/release">
            ${csrfField(o.session)}
            <button type="submit" class="secondary">Release</button>
          </form>`
        : ''
    }
    ${
      o.canAssign
        ? html`<form class="assign" method="post" action="/cases/${id}/assign">
            ${csrfField(o.session)}
            <label for="assign-to">Assign to (username)</label>
            <input id="assign-to" name="to" type="text" required autocomplete="off" />
            <button type="submit" class="secondary">Assign</button>
          </form>`
        : ''
    }
  </section>`;
}

function verdictForms(d: CaseDetail, o: DetailOptions): Html {
  const id = encodeURIComponent(d.record.auth_id);
  const closed = d.verdicts.some((v) => v.verdict !== 'escalate');
  if (closed) return html`<p class="flash ok" role="status">This case is decided.</p>`;
  const heldByOther = d.claim && d.claim.claimedBy !== o.session.user.username;
  if (heldByOther)
    return html`<p class="muted">
      ${d.claim!.claimedBy} is working this case: verdicts are theirs until the claim lapses.
    </p>`;
  return html`<section class="panel" aria-labelledby="h-verdict">
      <h2 id="h-verdict">Verdict</h2>
      <form method="post" action="/cases/${id}/verdict" class="verdict">
        ${csrfField(o.session)} ${verdictChoices('verdict', 'v')}
        <label for="note">Note</label>
        <textarea id="note" name="note" rows="3" maxlength="2000"></textarea>
        <p><button type="submit">Submit verdict</button></p>
      </form>
    </section>
    ${
      d.related.length
        ? html`<section class="panel" aria-labelledby="h-bulk">
            <h2 id="h-bulk">Bulk verdict for this card's open cases</h2>
            <form method="post" action="/cases/${id}/bulk" class="bulk">
              ${csrfField(o.session)}
              <fieldset>
                <legend>Cases (this one included)</legend>
                <span class="choice"
                  ><input type="checkbox" id="bulk-self" name="case" value="${d.record.auth_id}" checked />
                  <label for="bulk-self">${d.record.auth_id} (this case)</label></span
                >
                ${d.related.map(
                  (r, i) =>
                    html`<span class="choice"
                      ><input
                        type="checkbox"
                        id="bulk-${i}"
                        name="case"
                        value="${r.authId}"
                        ${r.claimedBy && r.claimedBy !== o.session.user.username ? html`disabled` : html`checked`}
                      />
                      <label for="bulk-${i}"
                        >${r.authId} · ${when(r.eventTime)} · score
                        ${score(r.score)}${r.claimedBy ? ` · claimed by ${r.claimedBy}` : ''}</label
                      ></span
                    >`,
                )}
              </fieldset>
              ${verdictChoices('verdict', 'b')}
              <label for="bulk-note">Note</label>
              <textarea id="bulk-note" name="note" rows="2" maxlength="2000"></textarea>
              <p><button type="submit">Apply to selected cases</button></p>
            </form>
          </section>`
        : ''
    }`;
}

export function decisionDetail(d: CaseDetail, o: DetailOptions): Html {
  const caseMode = o.mode === 'case' && d.isCase;
  return html`${
      o.mode === 'decision' && d.isCase
        ? html`<p><a class="button" href="/cases/${encodeURIComponent(d.record.auth_id)}">Open as a review case</a></p>`
        : ''
    }
    ${caseMode ? claimPanel(d, o) : ''}
    <div class="grid">${authorization(d)} ${ruleHits(d)}</div>
    ${modelFactors(d)} ${explain(d, o)} ${caseMode ? verdictForms(d, o) : ''} ${verdictHistory(d.verdicts)}
    ${features(d)} ${timelines(d)}`;
}
