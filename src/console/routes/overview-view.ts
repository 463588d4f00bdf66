/**
 * The overview's markup: the figures of src/sinks/audit/overview-stats.ts and the engine's own
 * state (src/observability/engine-info.ts) as tables and server-rendered SVG charts. Colours come
 * from classes in console.css (the CSP forbids style attributes); every chart has its numbers in
 * a table or a text alternative beside it.
 */
import type { QueueCounts } from '../../cases/queue.js';
import type { EngineInfo, EngineUnreachable } from '../../observability/engine-info.js';
import { OUTCOMES, type MinuteCounts, type OverviewStats } from '../../sinks/audit/overview-stats.js';
import { html, type Html } from '../html.js';

const fmt = (n: number): string => n.toLocaleString('en-US');

/** `42 s`, `7 min`, `3 h 05 min`, `2 d 4 h`. */
export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

const hhmm = (d: Date): string => d.toISOString().slice(11, 16);

function decisionsTable(s: OverviewStats, engine: EngineInfo | EngineUnreachable): Html {
  const row = (label: string, key: string, hour: number, day: number) =>
    html`<tr>
      <th scope="row">${label}</th>
      <td class="num" data-testid="hour-${key}">${fmt(hour)}</td>
      <td class="num" data-testid="day-${key}">${fmt(day)}</td>
    </tr>`;
  return html`<section class="panel" aria-labelledby="ov-decisions">
    <h2 id="ov-decisions">Decisions</h2>
    <table>
      <thead>
        <tr>
          <th scope="col">Outcome</th>
          <th scope="col" class="num">Last hour</th>
          <th scope="col" class="num">Last 24 h</th>
        </tr>
      </thead>
      <tbody>
        ${OUTCOMES.map((o) => row(o.charAt(0) + o.slice(1).toLowerCase(), o, s.lastHour[o], s.lastDay[o]))}
        ${row('All', 'total', s.lastHour.total, s.lastDay.total)}
        ${row('Degraded', 'degraded', s.lastHour.degraded, s.lastDay.degraded)}
      </tbody>
    </table>
    <p class="muted">
      Dead-lettered events:
      ${
        engine.reachable
          ? html`<strong data-testid="dlq">${fmt(engine.dlqTotal)}</strong> since the engine started`
          : 'not known (the engine is not reachable)'
      }.
    </p>
  </section>`;
}

const CHART = { w: 600, h: 120, bar: 10 } as const;

/** Stacked bars per minute (approve, review, decline), with a text alternative. */
export function minuteChart(series: MinuteCounts[]): Html {
  const totals = series.map((m) => m.APPROVE + m.REVIEW + m.DECLINE);
  const max = Math.max(1, ...totals);
  const sum = totals.reduce((a, b) => a + b, 0);
  const busiest = series[totals.indexOf(Math.max(...totals))];
  const label =
    sum === 0
      ? 'No decisions in the last 60 minutes.'
      : `${fmt(sum)} decisions in the last 60 minutes; the busiest minute, ${hhmm(busiest!.minute)} UTC, had ${fmt(Math.max(...totals))}.`;
  const bars = series.map((m, i) => {
    let y = CHART.h;
    const parts = OUTCOMES.map((o) => {
      const hgt = (m[o] / max) * (CHART.h - 4);
      y -= hgt;
      return hgt > 0
        ? html`<rect
            class="bar-${o}"
            x="${i * CHART.bar}"
            y="${y.toFixed(1)}"
            width="${CHART.bar - 2}"
            height="${hgt.toFixed(1)}"
          />`
        : '';
    });
    return html`<g>
      <title>
        ${hhmm(m.minute)} UTC: ${fmt(m.APPROVE)} approved, ${fmt(m.REVIEW)} to review, ${fmt(m.DECLINE)} declined
      </title>
      ${parts}
    </g>`;
  });
  return html`<figure class="chart">
    <svg viewBox="0 0 ${CHART.w} ${CHART.h}" role="img" aria-label="${label}" preserveAspectRatio="none">${bars}</svg>
    <figcaption>
      ${label}
      <span class="legend"
        ><span class="key key-APPROVE"></span> approve <span class="key key-REVIEW"></span> review
        <span class="key key-DECLINE"></span> decline</span
      >
      <span class="muted">(${hhmm(series[0]!.minute)}–${hhmm(series[series.length - 1]!.minute)} UTC)</span>
    </figcaption>
  </figure>`;
}

/** The open review queue (src/cases/queue.ts) against its SLA. */
export type QueueFigures = QueueCounts & { slaMs: number };

function queuePanel(q: QueueFigures): Html {
  const slaMin = Math.round(q.slaMs / 60_000);
  return html`<section class="panel" aria-labelledby="ov-queue">
    <h2 id="ov-queue">Review queue</h2>
    <dl class="figures">
      <div>
        <dt>Waiting</dt>
        <dd data-testid="queue-size">${fmt(q.open)}</dd>
      </div>
      <div>
        <dt>Claimed</dt>
        <dd data-testid="queue-claimed">${fmt(q.claimed)}</dd>
      </div>
      <div>
        <dt>Oldest</dt>
        <dd data-testid="queue-oldest">${q.oldestAgeMs === null ? '—' : formatAge(q.oldestAgeMs)}</dd>
      </div>
      <div>
        <dt>Over the ${slaMin} min SLA</dt>
        <dd data-testid="queue-overdue" class="${q.overdue > 0 ? 'overdue' : ''}">${fmt(q.overdue)}</dd>
      </div>
    </dl>
    <p><a href="/queue">Open the review queue</a></p>
  </section>`;
}

function rulesTable(s: OverviewStats): Html {
  return html`<section class="panel wide" aria-labelledby="ov-rules">
    <h2 id="ov-rules">Top rule hits (24 h)</h2>
    ${
      s.topRules.length === 0
        ? html`<p class="muted">No rule hit in the last 24 hours.</p>`
        : html`<table data-testid="top-rules">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Mode</th>
                <th scope="col">Action</th>
                <th scope="col" class="num">Hits</th>
              </tr>
            </thead>
            <tbody>
              ${s.topRules.map(
                (r) =>
                  html`<tr>
                    <th scope="row"><code>${r.rule}</code></th>
                    <td>${r.mode}</td>
                    <td>${r.action}</td>
                    <td class="num">${fmt(r.hits)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
  </section>`;
}

function scoreTable(s: OverviewStats): Html {
  const max = Math.max(1, ...s.scores.map((b) => b.count));
  return html`<section class="panel" aria-labelledby="ov-scores">
    <h2 id="ov-scores">Model scores (24 h)</h2>
    <table class="histogram" data-testid="scores">
      <thead>
        <tr>
          <th scope="col">Score</th>
          <th scope="col" class="num">Decisions</th>
          <th scope="col"><span class="visually-hidden">Share</span></th>
        </tr>
      </thead>
      <tbody>
        ${s.scores.map(
          (b, i) =>
            html`<tr>
              <th scope="row">${b.lo.toFixed(1)}–${b.hi.toFixed(1)}</th>
              <td class="num" data-testid="score-${i}">${fmt(b.count)}</td>
              <td>
                <svg class="hbar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                  <rect x="0" y="0" height="10" width="${((100 * b.count) / max).toFixed(1)}" />
                </svg>
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

function enginePanel(s: OverviewStats, engine: EngineInfo | EngineUnreachable, url: string): Html {
  const fromAudit = s.versions
    ? html`<p class="muted">
        Newest decision in the audit trail (${hhmm(s.versions.at)} UTC): ruleset <code>${s.versions.ruleset}</code>,
        model <code>${s.versions.model}</code>.
      </p>`
    : html`<p class="muted">No decision in the audit trail in the last 24 hours.</p>`;
  if (!engine.reachable)
    return html`<section class="panel" aria-labelledby="ov-engine">
      <h2 id="ov-engine">Engine</h2>
      <p data-testid="engine-status">
        <span class="badge warn">not reachable</span> ${url || 'no URL configured'}: ${engine.reason}
      </p>
      ${fromAudit}
    </section>`;
  const outcomes = OUTCOMES.map((o) => `${fmt(engine.decisionsByOutcome[o] ?? 0)} ${o.toLowerCase()}`).join(', ');
  return html`<section class="panel" aria-labelledby="ov-engine">
    <h2 id="ov-engine">Engine</h2>
    <p data-testid="engine-status">
      ${engine.ready === false ? html`<span class="badge warn">not ready</span>` : html`<span class="badge ok">ready</span>`}
      <span class="muted">${url}</span>
    </p>
    <dl class="figures">
      <div>
        <dt>Ruleset in force</dt>
        <dd data-testid="engine-ruleset"><code>${engine.rulesetVersion ?? '—'}</code></dd>
      </div>
      <div>
        <dt>Model</dt>
        <dd data-testid="engine-model"><code>${engine.modelVersion ?? '—'}</code></dd>
      </div>
      <div>
        <dt>Consumer lag</dt>
        <dd>${fmt(engine.consumerLag)}</dd>
      </div>
      <div>
        <dt>Degraded (reasons counted)</dt>
        <dd>${fmt(engine.degradedTotal)}</dd>
      </div>
    </dl>
    <p class="muted">Since it started: ${outcomes}.</p>
    ${fromAudit}
  </section>`;
}

/** The refreshing part of the page. */
export function overviewFragment(
  s: OverviewStats,
  queue: QueueFigures,
  engine: EngineInfo | EngineUnreachable,
  engineUrl: string,
): Html {
  return html`<p class="muted updated">
      Updated <time datetime="${s.at.toISOString()}">${s.at.toISOString().slice(11, 19)} UTC</time>; refreshes every 10
      s.
    </p>
    <h2 id="ov-minutes">Decisions per minute</h2>
    ${minuteChart(s.perMinute)}
    <div class="grid">
      ${decisionsTable(s, engine)} ${queuePanel(queue)} ${enginePanel(s, engine, engineUrl)} ${rulesTable(s)}
      ${scoreTable(s)}
    </div>`;
}
