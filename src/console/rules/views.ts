/** The rules area's markup: versions, one version, the draft editor, a backtest's results. */
import type { BacktestReport } from '../../pipelines/replay/backtest.js';
import type { RulesetMeta } from '../../rules/pg-store.js';
import type { RulesetDef } from '../../rules/types.js';
import { escapeHtml, html, raw, type Html } from '../html.js';
import { barChart } from './chart.js';
import type { RuleDraft } from './drafts.js';
import type { ShadowRate } from './shadow-rates.js';
import type { DraftCheck } from './validate.js';

// Whitespace-exact elements, built outside html`` templates so that no formatter re-indents their text
// (the newline after the start tag is dropped by HTML parsers, so text starting with one survives).
const editorArea = (content: string, invalid: boolean): Html =>
  raw(
    `<textarea id="draft-content" name="content" rows="24" spellcheck="false" autocomplete="off" aria-describedby="draft-status"${invalid ? ' aria-invalid="true"' : ''}>\n${escapeHtml(content)}</textarea>`,
  );
export const preformatted = (id: string, text: string): Html =>
  raw(`<pre id="${id}" aria-labelledby="diff-heading">\n${escapeHtml(text)}</pre>`);

const when = (d: Date | null): string => (d ? d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '');
const pct = (x: number | null): string => (x === null ? '–' : `${(100 * x).toFixed(2)} %`);

export function versionsTable(versions: readonly RulesetMeta[]): Html {
  if (!versions.length)
    return html`<p class="muted">No version published yet: the engines run the default files (rules.dir).</p>`;
  return html`<table class="versions">
    <caption>
      Ruleset versions, newest first
    </caption>
    <thead>
      <tr>
        <th scope="col">Version</th>
        <th scope="col">Status</th>
        <th scope="col">Author</th>
        <th scope="col">Created</th>
        <th scope="col" class="num">Rules</th>
        <th scope="col">Comment</th>
      </tr>
    </thead>
    <tbody>
      ${versions.map(
        (v) =>
          html`<tr data-version="${v.version}" ${v.status === 'active' ? html`class="active-version"` : ''}>
            <th scope="row"><a href="/rules/${encodeURIComponent(v.version)}">${v.version}</a></th>
            <td>
              <span class="badge ${v.status === 'active' ? 'ok' : v.status === 'retired' ? '' : 'warn'}"
                >${v.status}</span
              >${v.status === 'active' ? html` <span class="visually-hidden">(in force)</span>` : ''}
            </td>
            <td>${v.author}</td>
            <td>${when(v.created_at)}</td>
            <td class="num">${v.rules}</td>
            <td>${v.comment}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function draftsTable(drafts: readonly RuleDraft[]): Html {
  if (!drafts.length) return html`<p class="muted">No drafts yet.</p>`;
  return html`<table class="drafts">
    <caption>
      Drafts, last edited first
    </caption>
    <thead>
      <tr>
        <th scope="col">Draft</th>
        <th scope="col">Owner</th>
        <th scope="col">Started from</th>
        <th scope="col">Last saved</th>
        <th scope="col">Submitted as</th>
      </tr>
    </thead>
    <tbody>
      ${drafts.map(
        (d) =>
          html`<tr>
            <th scope="row"><a href="/rules/drafts/${d.id}">Draft #${d.id}</a></th>
            <td>${d.owner}</td>
            <td>${d.based_on ?? 'default files'}</td>
            <td>${when(d.updated_at)} by ${d.updated_by}</td>
            <td>${d.submitted_version ?? '–'}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function shadowTable(rates: readonly ShadowRate[]): Html {
  if (!rates.length) return html`<p class="muted">The active ruleset has no shadow rules, and none fired.</p>`;
  return html`<table class="shadow-rates">
    <caption>
      Shadow rules on live traffic, last 24 hours (decision audit trail)
    </caption>
    <thead>
      <tr>
        <th scope="col">Rule</th>
        <th scope="col" class="num">Hits</th>
        <th scope="col" class="num">Decisions</th>
        <th scope="col" class="num">Hit rate</th>
      </tr>
    </thead>
    <tbody>
      ${rates.map(
        (r) =>
          html`<tr data-rule="${r.rule_id}">
            <th scope="row">${r.rule_id}</th>
            <td class="num">${r.hits}</td>
            <td class="num">${r.decisions}</td>
            <td class="num">${pct(r.rate)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function rulesTable(def: RulesetDef): Html {
  const rules = [...def.rules].sort((a, b) => b.priority - a.priority);
  return html`<p>
      Thresholds: review at score ≥ <strong>${def.thresholds.review}</strong>, decline at score ≥
      <strong>${def.thresholds.decline}</strong>.
    </p>
    <table class="rules">
      <caption>
        Rules by priority, highest first
      </caption>
      <thead>
        <tr>
          <th scope="col">Rule</th>
          <th scope="col">Expression</th>
          <th scope="col">Action</th>
          <th scope="col">Mode</th>
          <th scope="col" class="num">Priority</th>
        </tr>
      </thead>
      <tbody>
        ${rules.map(
          (r) =>
            html`<tr data-rule="${r.id}">
              <th scope="row">
                ${r.id}${r.description ? html`<br /><small class="muted">${r.description}</small>` : ''}
              </th>
              <td><code>${r.expression}</code></td>
              <td>${r.action}</td>
              <td><span class="badge ${r.mode === 'shadow' ? 'warn' : 'ok'}">${r.mode}</span></td>
              <td class="num">${r.priority}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

/** The validation result under the editor (also rebuilt by rules.js from the JSON of /rules/validate). */
export function checkView(check: DraftCheck): Html {
  return html`<div id="draft-status" class="draft-status" role="status" aria-live="polite">
      ${
        check.ok
          ? html`<p class="ok-text">Compiles: ${check.summary}.</p>`
          : html`<ul class="error-text">
              ${check.errors.map((e) => html`<li data-line="${e.line ?? ''}" data-offset="${e.offset}">${e.message}</li>`)}
            </ul>`
      }
    </div>
    <h2 id="diff-heading">Changes against the active version</h2>
    ${preformatted('draft-diff', check.ok ? check.diffLines.join('\n') : '(fix the errors to see the changes)')}`;
}

export interface EditorView {
  draft: RuleDraft | null;
  content: string;
  check: DraftCheck;
  csrf: Html;
  window: { from: string; to: string };
  maxDays: number;
  historyFile: string;
  /** The dates the history covers (its first and last rows); null: no readable history file. */
  historySpan: string | null;
  results?: Html;
  basedOn: string | null;
}

export function editorView(v: EditorView): Html {
  const id = v.draft?.id;
  const action = id ? `/rules/drafts/${id}` : '/rules/drafts';
  return html`<p class="muted">
      ${
        v.draft
          ? html`Draft #${v.draft.id} by ${v.draft.owner}, started from ${v.draft.based_on ?? 'the default files'}; last
            saved ${when(v.draft.updated_at)} by
            ${v.draft.updated_by}.${
              v.draft.submitted_version
                ? html` Submitted as version
                    <a href="/rules/${v.draft.submitted_version}">${v.draft.submitted_version}</a>.`
                : ''
            }`
          : html`A new draft from ${v.basedOn ?? 'the default files'}; it is stored when you save it.`
      }
    </p>
    <form method="post" action="${action}" class="editor" id="draft-form" data-draft="${id ?? ''}">
      ${v.csrf}
      <label for="draft-content">Ruleset (YAML, as <code>fraud-engine rules validate</code> reads it)</label>
      ${editorArea(v.content, !v.check.ok)}
      <p id="draft-pointer" class="pointer" hidden>
        <button type="button" class="secondary" id="goto-error">Go to the error</button>
        <code id="draft-pointer-line"></code>
      </p>
      ${checkView(v.check)}
      <p><button type="submit">Save draft</button></p>
      ${
        id
          ? html`<fieldset class="backtest">
              <legend>Backtest on history</legend>
              <p class="muted">
                Replays ${v.historyFile} in [from, to) with the active ruleset and with this draft (saved first), by the
                same library as <code>fraud-engine rules backtest --from --to</code>. At most ${v.maxDays} days.
                ${
                  v.historySpan
                    ? html`The history covers ${v.historySpan}.`
                    : html`<strong>There is no history file there yet</strong> (console.history_file).`
                }
              </p>
              <label for="bt-from">From (UTC, included)</label>
              <input id="bt-from" name="from" type="date" required value="${v.window.from}" />
              <label for="bt-to">To (UTC, not included)</label>
              <input id="bt-to" name="to" type="date" required value="${v.window.to}" />
              <p>
                <button type="submit" formaction="/rules/drafts/${id}/backtest" id="run-backtest">Run backtest</button>
              </p>
            </fieldset>`
          : ''
      }
    </form>
    <section id="backtest-results" aria-live="polite" aria-label="Backtest results">${v.results ?? ''}</section>
    ${
      id
        ? html`<form method="post" action="/rules/drafts/${id}/submit" class="submit-draft">
            ${v.csrf}
            <h2>Submit for approval</h2>
            <p class="muted">
              Publishes the saved draft as a new ruleset version authored by you; another person approves it before it
              becomes active.
            </p>
            <label for="submit-version">Version id</label>
            <input id="submit-version" name="version" type="text" required value="${v.check.def?.version ?? ''}" />
            <label for="submit-comment">Why (kept with the version)</label>
            <input id="submit-comment" name="comment" type="text" required />
            <p><button type="submit">Submit for approval</button></p>
          </form>`
        : ''
    }`;
}

const num = (n: number) => html`${n}`;

/** A backtest's results: the totals, the rules, two charts. */
export function backtestView(r: BacktestReport): Html {
  const totals: [string, string, number, number][] = [
    ['Frauds caught (review or decline)', 'frauds_stopped', r.frauds_stopped.base, r.frauds_stopped.new],
    ['Good payments stopped', 'false_positives', r.false_positives.base, r.false_positives.new],
    ['Approved', 'approve', r.outcomes.base.APPROVE, r.outcomes.new.APPROVE],
    ['Reviewed', 'review', r.outcomes.base.REVIEW, r.outcomes.new.REVIEW],
    ['Declined', 'decline', r.outcomes.base.DECLINE, r.outcomes.new.DECLINE],
  ];
  const ruleRows = r.rules.filter((x) => x.hits.base || x.hits.new || x.change !== 'same');
  return html`<h2>Backtest results</h2>
    <p class="backtest-summary" data-metric="summary">
      ${r.input}: <strong data-metric="transactions">${r.transactions}</strong> transactions,
      <span data-metric="labelled">${r.labelled}</span> labelled, <span data-metric="frauds">${r.frauds}</span> frauds;
      <strong data-metric="outcome_changes">${r.outcome_changes}</strong> outcome changes; model ${r.model}; labels
      after ${r.label_delay_days} days; ${r.elapsed_s} s.
    </p>
    <table class="backtest-totals">
      <caption>
        Baseline ${r.baseline.version} against the draft ${r.proposed.version}
      </caption>
      <thead>
        <tr>
          <th scope="col"></th>
          <th scope="col" class="num">Baseline</th>
          <th scope="col" class="num">Draft</th>
          <th scope="col" class="num">Change</th>
        </tr>
      </thead>
      <tbody>
        ${totals.map(
          ([label, key, base, now]) =>
            html`<tr>
              <th scope="row">${label}</th>
              <td class="num" data-metric="${key}.base">${num(base)}</td>
              <td class="num" data-metric="${key}.new">${num(now)}</td>
              <td class="num">${now - base > 0 ? '+' : ''}${now - base}</td>
            </tr>`,
        )}
        <tr>
          <th scope="row">Newly stopped: frauds / good payments</th>
          <td class="num">–</td>
          <td class="num" data-metric="newly_stopped">${r.newly_stopped.fraud} / ${r.newly_stopped.legit}</td>
          <td class="num"></td>
        </tr>
      </tbody>
    </table>
    ${barChart('chart-totals', 'Frauds caught and good payments stopped', [
      { label: 'Frauds caught', base: r.frauds_stopped.base, new: r.frauds_stopped.new },
      { label: 'Good payments stopped', base: r.false_positives.base, new: r.false_positives.new },
    ])}
    <table class="backtest-rules">
      <caption>
        Per rule (hits as baseline → draft)
      </caption>
      <thead>
        <tr>
          <th scope="col">Rule</th>
          <th scope="col">Change</th>
          <th scope="col">Mode</th>
          <th scope="col" class="num">Hits</th>
          <th scope="col" class="num">Fraud hits</th>
          <th scope="col" class="num">Good payments hit</th>
          <th scope="col" class="num">Outcome changes</th>
        </tr>
      </thead>
      <tbody>
        ${ruleRows.map(
          (x) =>
            html`<tr data-rule="${x.id}">
              <th scope="row">${x.id}</th>
              <td>${x.change}</td>
              <td>${x.mode.base === x.mode.new ? x.mode.new : `${x.mode.base ?? '–'} → ${x.mode.new ?? '–'}`}</td>
              <td class="num" data-metric="hits">${x.hits.base} → ${x.hits.new}</td>
              <td class="num" data-metric="fraud_hits">${x.fraud_hits.base} → ${x.fraud_hits.new}</td>
              <td class="num" data-metric="legit_hits">${x.legit_hits.base} → ${x.legit_hits.new}</td>
              <td class="num" data-metric="outcome_changes">${x.outcome_changes}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${
      ruleRows.length
        ? barChart(
            'chart-rules',
            'Hits per rule',
            ruleRows.map((x) => ({ label: x.id, base: x.hits.base, new: x.hits.new })),
          )
        : ''
    }`;
}
