/**
 * The evaluation report of a replay over a window: counts, AUC ROC, average precision,
 * card precision@100, outcomes, precision/recall of DECLINE and of REVIEW-or-DECLINE, the
 * outcomes a merchant feels (false-decline rate, review rate, outcomes.ts); and two SVG plots (precision-recall curve, score histogram) a person would rather look at.
 */
import { writeFileSync } from 'node:fs';
import type { Outcome } from '../events/types.js';
import { DAY_MS } from '../events/time.js';
import { aucRoc, averagePrecision, cardPrecisionAtK, precisionRecall, precisionRecallCurve } from './metrics.js';
import { merchantOutcomes, outcomesText, roundOutcomes, type MerchantOutcomes } from './outcomes.js';

export interface EvalRow {
  time: number;
  card: string;
  score: number;
  fraud: boolean;
  outcome: Outcome;
}

/**
 * The handbook's test-set rule (Le Borgne et al., ch. 3.4 `get_train_test_set`): a card whose
 * fraud is already known when a transaction happens would have been blocked, so its
 * transactions are not scored. A card is known compromised on a UTC day D when it has a fraud
 * at or after `since` whose label is known before D starts (tx_time + label delay < D 00:00).
 * For the first evaluation day that is "tx_time + delay < eval_from"; later days also drop the
 * cards whose fraud became known meanwhile (the handbook rolls the known set day by day).
 */
export interface KnownCompromisedRule {
  /** Label delay (ms) after which a fraud is known. */
  delayMs: number;
  /** Only frauds at or after this time count (epoch ms); null = the whole history. */
  since: number | null;
}

export interface ExclusionSummary {
  /** Frauds counted from (ISO date-time), null = the whole history. */
  since: string | null;
  label_delay_days: number;
  rule: string;
  cards: number;
  transactions: number;
  frauds: number;
}

/** Per card, the earliest fraud time at or after `since`: enough to know when it became known. */
export function firstFraudByCard(
  txs: Iterable<{ card: string; time: number; fraud: boolean | null }>,
  since: number | null,
): Map<string, number> {
  const first = new Map<string, number>();
  for (const t of txs) {
    if (t.fraud !== true || (since !== null && t.time < since)) continue;
    const f = first.get(t.card);
    if (f === undefined || t.time < f) first.set(t.card, t.time);
  }
  return first;
}

/** Removes the rows of cards known compromised on their day (see KnownCompromisedRule). */
export function excludeKnownCompromised(
  rows: readonly EvalRow[],
  firstFraud: ReadonlyMap<string, number>,
  rule: KnownCompromisedRule,
): { rows: EvalRow[]; summary: ExclusionSummary } {
  const kept: EvalRow[] = [];
  const cards = new Set<string>();
  let frauds = 0;
  for (const r of rows) {
    const f = firstFraud.get(r.card);
    const dayStart = Math.floor(r.time / DAY_MS) * DAY_MS;
    if (f !== undefined && f + rule.delayMs < dayStart) {
      cards.add(r.card);
      if (r.fraud) frauds++;
    } else {
      kept.push(r);
    }
  }
  return {
    rows: kept,
    summary: {
      since: rule.since === null ? null : new Date(rule.since).toISOString(),
      label_delay_days: rule.delayMs / DAY_MS,
      rule: 'card with a fraud (at or after since) whose label is known before the day of the transaction starts: tx_time + delay < day 00:00 UTC',
      cards: cards.size,
      transactions: rows.length - kept.length,
      frauds,
    },
  };
}

export interface EvaluationReport {
  window: { from: string | null; to: string | null };
  /** Cards known compromised, removed before evaluation (null: nothing removed). */
  excluded_known_compromised: ExclusionSummary | null;
  events: number;
  frauds: number;
  auc_roc: number;
  average_precision: number;
  card_precision_at_100: number;
  outcomes: Record<Outcome, number>;
  decline: { precision: number; recall: number; flagged: number };
  /** REVIEW alone (the band between the review and decline thresholds, plus REVIEW rules). */
  review: { precision: number; recall: number; flagged: number };
  review_or_decline: { precision: number; recall: number; flagged: number };
  /** False-decline rate, review rate and where the frauds went, at the thresholds and rules replayed. */
  merchant: MerchantOutcomes;
}

const r4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null) as number;

export function evaluate(
  rows: readonly EvalRow[],
  window: { from: string | null; to: string | null },
  excluded: ExclusionSummary | null = null,
): EvaluationReport {
  const scores = rows.map((r) => r.score);
  const labels = rows.map((r) => r.fraud);
  const outcomes: Record<Outcome, number> = { APPROVE: 0, REVIEW: 0, DECLINE: 0 };
  for (const r of rows) outcomes[r.outcome]++;
  const cp = cardPrecisionAtK(
    rows.map((r) => ({
      day: new Date(r.time).toISOString().slice(0, 10),
      card: r.card,
      score: r.score,
      fraud: r.fraud,
    })),
    100,
  );
  const dec = precisionRecall(
    rows.map((r) => r.outcome === 'DECLINE'),
    labels,
  );
  const rev = precisionRecall(
    rows.map((r) => r.outcome === 'REVIEW'),
    labels,
  );
  const rod = precisionRecall(
    rows.map((r) => r.outcome !== 'APPROVE'),
    labels,
  );
  return {
    window,
    excluded_known_compromised: excluded,
    events: rows.length,
    frauds: labels.filter(Boolean).length,
    auc_roc: r4(aucRoc(scores, labels)),
    average_precision: r4(averagePrecision(scores, labels)),
    card_precision_at_100: r4(cp.mean),
    outcomes,
    decline: { ...dec, precision: r4(dec.precision), recall: r4(dec.recall) },
    review: { ...rev, precision: r4(rev.precision), recall: r4(rev.recall) },
    review_or_decline: { ...rod, precision: r4(rod.precision), recall: r4(rod.recall) },
    merchant: roundOutcomes(merchantOutcomes(rows)),
  };
}

export function summaryText(r: EvaluationReport): string {
  const pct = (x: number) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  const x = r.excluded_known_compromised;
  return [
    `evaluation window ${r.window.from ?? 'start'} .. ${r.window.to ?? 'end'}: ${r.events} events, ${r.frauds} frauds (${pct(r.frauds / Math.max(1, r.events))})`,
    ...(x
      ? [
          `  known compromised cards excluded (frauds since ${x.since ?? 'the start'}, known after ${x.label_delay_days} d): ${x.cards} cards, ${x.transactions} transactions, ${x.frauds} frauds`,
        ]
      : []),
    `  AUC ROC ${r.auc_roc}   average precision ${r.average_precision}   card precision@100 ${r.card_precision_at_100}`,
    `  outcomes: APPROVE ${r.outcomes.APPROVE}  REVIEW ${r.outcomes.REVIEW}  DECLINE ${r.outcomes.DECLINE}`,
    `  DECLINE: precision ${pct(r.decline.precision)} recall ${pct(r.decline.recall)}   REVIEW: precision ${pct(r.review.precision)} recall ${pct(r.review.recall)}   REVIEW-or-DECLINE: precision ${pct(r.review_or_decline.precision)} recall ${pct(r.review_or_decline.recall)}`,
    outcomesText(r.merchant),
  ].join('\n');
}

function svg(title: string, xLabel: string, yLabel: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="400" viewBox="0 0 480 400" font-family="sans-serif" font-size="12">
<rect width="480" height="400" fill="white"/>
<text x="240" y="20" text-anchor="middle" font-size="14">${title}</text>
<line x1="60" y1="340" x2="460" y2="340" stroke="black"/><line x1="60" y1="340" x2="60" y2="40" stroke="black"/>
<text x="260" y="375" text-anchor="middle">${xLabel}</text>
<text x="18" y="190" text-anchor="middle" transform="rotate(-90 18 190)">${yLabel}</text>
<text x="60" y="355" text-anchor="middle">0</text><text x="460" y="355" text-anchor="middle">1</text>
<text x="52" y="344" text-anchor="end">0</text>
${body}
</svg>
`;
}

/** Writes the report to `path` as JSON, and its plots beside it (writePlots); returns the plots' paths. */
export function writeReport(path: string, report: EvaluationReport, rows: readonly EvalRow[]): string[] {
  writeFileSync(path, JSON.stringify(report, null, 2) + '\n');
  return writePlots(rows, path.replace(/\.json$/, ''));
}

/** Writes `<base>-pr.svg` and `<base>-scores.svg`; returns their paths. */
export function writePlots(rows: readonly EvalRow[], base: string): string[] {
  const curve = precisionRecallCurve(
    rows.map((r) => r.score),
    rows.map((r) => r.fraud),
  );
  const step = Math.max(1, Math.floor(curve.length / 400));
  const pts = curve
    .filter((_, i) => i % step === 0 || i === curve.length - 1)
    .map((p) => `${(60 + p.recall * 400).toFixed(1)},${(340 - p.precision * 300).toFixed(1)}`)
    .join(' ');
  const pr = svg(
    'Precision-recall curve',
    'recall',
    'precision',
    `<text x="52" y="44" text-anchor="end">1</text><polyline fill="none" stroke="#c0392b" stroke-width="2" points="${pts}"/>`,
  );
  const bins = 50;
  const legit = new Array<number>(bins).fill(0),
    fraud = new Array<number>(bins).fill(0);
  for (const r of rows) (r.fraud ? fraud : legit)[Math.min(bins - 1, Math.floor(r.score * bins))]!++;
  // Log scale: genuine transactions outnumber frauds by ~100 to 1.
  const maxLog = Math.log10(1 + Math.max(...legit, ...fraud, 1));
  const bar = (counts: number[], color: string, dx: number) =>
    counts
      .map((c, i) => {
        const h = (Math.log10(1 + c) / maxLog) * 300;
        return `<rect x="${(60 + i * 8 + dx).toFixed(1)}" y="${(340 - h).toFixed(1)}" width="4" height="${h.toFixed(1)}" fill="${color}"/>`;
      })
      .join('');
  const hist = svg(
    'Score histogram (log count)',
    'score',
    'transactions',
    `${bar(legit, '#2980b9', 0)}${bar(fraud, '#c0392b', 4)}<text x="440" y="60" text-anchor="end" fill="#2980b9">genuine</text><text x="440" y="76" text-anchor="end" fill="#c0392b">fraud</text>`,
  );
  const files = [`${base}-pr.svg`, `${base}-scores.svg`];
  writeFileSync(files[0]!, pr);
  writeFileSync(files[1]!, hist);
  return files;
}
