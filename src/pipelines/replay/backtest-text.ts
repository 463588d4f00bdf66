/** Backtest reports as text for a person (`rules backtest`, `rules draft`). */
import type { Outcome } from '../../events/types.js';
import { table } from '../../observability/table.js';
import type { Thresholds } from '../../rules/types.js';
import type { BacktestReport, RuleBacktestSummary, Side } from './backtest.js';

const OUTCOMES: readonly Outcome[] = ['APPROVE', 'REVIEW', 'DECLINE'];

const side = (s: Side<number>): string => (s.base === s.new ? String(s.new) : `${s.base} -> ${s.new}`);
const sideText = (s: Side<string | null>): string =>
  s.base === s.new ? String(s.new) : `${s.base ?? '-'} -> ${s.new ?? '-'}`;

/** The report as tables for a person. */
export function backtestText(r: BacktestReport): string {
  const labelled = r.labelled > 0;
  const out: string[] = [];
  out.push(
    `backtest on ${r.input}: ${r.transactions} transactions, ${r.labelled} labelled, ${r.frauds} frauds; model ${r.model}; labels after ${r.label_delay_days} d; ${r.elapsed_s} s`,
  );
  out.push(
    `baseline ${r.baseline.version} (${r.baseline.source}) -> proposed ${r.proposed.version} (${r.proposed.source})`,
  );
  const th = (k: keyof Thresholds) =>
    r.baseline.thresholds[k] === r.proposed.thresholds[k]
      ? `${r.proposed.thresholds[k]}`
      : `${r.baseline.thresholds[k]} -> ${r.proposed.thresholds[k]}`;
  out.push(`thresholds: review ${th('review')}, decline ${th('decline')}`);
  out.push('');
  const head = [
    'rule',
    'change',
    'mode',
    'action',
    'hits',
    'outcome changes',
    ...(labelled ? ['fraud hits', 'legit hits (FP)'] : []),
    'cost (est.)',
    'µs/event',
  ];
  const rows = r.rules.map((x) => [
    x.id,
    x.change,
    sideText(x.mode),
    sideText(x.action),
    side(x.hits),
    String(x.outcome_changes),
    ...(labelled ? [side(x.fraud_hits), side(x.legit_hits)] : []),
    x.cost ? String(x.cost.estimate) : '-',
    x.cost ? x.cost.us_per_event.toFixed(2) : '-',
  ]);
  out.push(table([head, ...rows], 4));
  out.push(
    `cost: the compile-time estimate of one evaluation (bound: rules.max_rule_cost); µs/event: measured over ${r.cost_events} events, each rule alone`,
  );
  out.push('');
  const overall = [['overall', 'baseline', 'proposed', 'change']];
  for (const o of OUTCOMES)
    overall.push([
      o,
      String(r.outcomes.base[o]),
      String(r.outcomes.new[o]),
      signed(r.outcomes.new[o] - r.outcomes.base[o]),
    ]);
  if (labelled) {
    overall.push([
      `frauds stopped (of ${r.frauds})`,
      String(r.frauds_stopped.base),
      String(r.frauds_stopped.new),
      signed(r.frauds_stopped.new - r.frauds_stopped.base),
    ]);
    overall.push([
      `false positives (of ${r.labelled - r.frauds} legit)`,
      String(r.false_positives.base),
      String(r.false_positives.new),
      signed(r.false_positives.new - r.false_positives.base),
    ]);
  }
  out.push(table(overall));
  const tr = Object.entries(r.transitions)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  out.push(`outcome changes: ${r.outcome_changes}${tr ? ` (${tr})` : ''}`);
  return out.join('\n');
}

const signed = (n: number): string => (n > 0 ? `+${n}` : String(n));

const percent = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);

/** A drafted rule's backtest for a person. */
export function ruleBacktestText(bt: RuleBacktestSummary, input: string): string {
  const o = bt.outcomes;
  const tr =
    Object.entries(o.transitions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  return [
    `backtest on ${input}: ${bt.transactions} transactions, ${bt.labelled} labelled, ${bt.frauds} frauds; model ${bt.model}; ruleset ${bt.baseline_ruleset} -> ${bt.proposed_ruleset} (draft evaluated as active)`,
    `  rule hits        ${bt.rule.hits}: frauds caught ${bt.rule.fraud_hits}, false positives ${bt.rule.false_positives}, unlabelled ${bt.rule.unlabelled_hits}; precision ${percent(bt.rule.precision)}, recall ${percent(bt.rule.recall)}`,
    `  runtime errors   ${bt.rule.runtime_errors}${bt.rule.runtime_errors ? ' (counted as not hit: guard absent features with has())' : ''}`,
    `  outcomes         ${OUTCOMES.map((k) => `${k} ${o.baseline[k]} -> ${o.proposed[k]}`).join(', ')}`,
    `  outcome changes  ${o.changed} (${tr}); frauds newly stopped ${o.frauds_newly_stopped}, legitimate newly stopped ${o.legit_newly_stopped}`,
    `  frauds stopped   ${o.frauds_stopped_baseline} -> ${o.frauds_stopped_proposed} of ${bt.frauds}`,
  ].join('\n');
}

/** The warnings of `rules backtest` for the proposed rules measured over `bound` µs per event (rules publish would refuse them). */
export function costWarnings(report: BacktestReport, bound: number): string[] {
  if (!(bound > 0)) return [];
  return report.rules
    .filter((r) => r.cost && r.cost.us_per_event > bound)
    .map(
      (r) =>
        `warning: rule '${r.id}' measured ${r.cost!.us_per_event} µs per event, over rules.max_rule_us_per_event (${bound}): rules publish would refuse it`,
    );
}
