/** The `models compare` report as text for a person: champion and challenger(s) side by side. */
import type { ModelFigures } from '../../evaluation/compare.js';
import { table } from '../../observability/table.js';
import type { ModelsCompareReport } from './models-compare.js';

const num = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(4));
/** Percentages with enough digits for a false-decline rate near 0.1 %. */
const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(x < 0.01 ? 3 : 1)}%`);
const versions = (f: ModelFigures): string =>
  Object.entries(f.versions)
    .sort((a, b) => b[1] - a[1])
    .map(([v, n]) => (Object.keys(f.versions).length > 1 ? `${v} (${n})` : v))
    .join(', ') || '-';

const ROWS: readonly [string, (f: ModelFigures) => string][] = [
  ['model version', versions],
  ['rows', (f) => String(f.rows)],
  ['frauds', (f) => String(f.frauds)],
  ['AUC ROC', (f) => num(f.auc_roc)],
  ['average precision', (f) => num(f.average_precision)],
  ['card precision@100', (f) => num(f.card_precision_at_100)],
  ['declined', (f) => String(f.declined)],
  ['decline precision', (f) => pct(f.decline_precision)],
  ['decline recall', (f) => pct(f.decline_recall)],
  ['false-decline rate', (f) => pct(f.false_decline_rate)],
  ['review rate', (f) => pct(f.review_rate)],
];

export function modelsCompareText(r: ModelsCompareReport): string {
  const f = r.figures;
  const columns: [string, string, ModelFigures][] = [['champion', 'all labelled', f.champion]];
  for (const c of f.challengers) {
    columns.push(['challenger', c.version, c.challenger]);
    columns.push(['champion', `same rows as ${c.version}`, c.champion_same_rows]);
  }
  const grid = [
    ['', ...columns.map((c) => c[0])],
    ['', ...columns.map((c) => c[1])],
    ...ROWS.map(([name, cell]) => [name, ...columns.map((c) => cell(c[2]))]),
  ];
  const x = f.excluded;
  const unknown = Object.entries(r.rulesets_unknown);
  return [
    `models compare: decisions of ${r.window.from} .. ${r.window.to} (event time, to exclusive); labels known at ${r.as_of}; label delay ${r.label_delay_days} d`,
    `labels: ${r.label_rule}`,
    `decisions ${r.decisions}: ${r.frauds} fraud, ${r.legit} legitimate, ${r.not_counted} not counted (no fraud label, label window still open)`,
    '',
    table(grid, 1),
    '',
    `champion: ${x.champion_without_score} labelled rows without a model score (degraded) left out`,
    f.challengers.length
      ? `challenger: ${x.challenger_without_score} labelled rows without a challenger score left out` +
        (x.challenger_ruleset_unknown
          ? `; ${x.challenger_ruleset_unknown} whose ruleset was not found (${unknown.map(([v, n]) => `${v}: ${n}`).join(', ')}) left out`
          : '')
      : `challenger: none (no labelled row carries a challenger score)`,
    'outcomes: the champion as decided; the challenger as the policy would have decided on its score with the same ruleset thresholds and active rule hits',
  ].join('\n');
}
