/**
 * `rules backtest`: what a proposed ruleset would have changed on history, against the ruleset
 * in force. ONE replay (src/pipelines/replay: in-memory features, the model, delayed labels)
 * decides with the baseline exactly as `replay` does; each replayed event is then evaluated
 * again with the proposed ruleset on the very same feature vector and model score (the raw
 * score, recorded from the scorer, not the rounded one of the decision). The baseline is
 * re-evaluated the same way and checked against the engine's decision, so the comparison
 * cannot drift from what the engine does.
 *
 * Each proposed rule's cost is reported: the compile-time estimate (src/rules/cost.ts) and the
 * time it takes, measured in µs per evaluated event over the replayed events (each rule alone,
 * median of 3 passes over up to COST_SAMPLE events spread over the history).
 */
import type { HistoryRecord } from '../events/history/index.js';
import { simulate } from '../simulator/index.js';
import type { Outcome } from '../events/types.js';
import { interleaveLabels } from '../features/label-feed.js';
import { MemoryFeatureStore } from '../features/memory-store.js';
import { FEATURE_NAMES } from '../features/names.js';
import type { Scorer } from '../models/scorer.js';
import { DecisionEngine } from '../pipelines/decision/engine.js';
import { decideEvent } from '../pipelines/decision/step.js';
import { replayFeed } from '../pipelines/replay/replay.js';
import type { CompiledRuleset, RuleContext } from '../rules/compile.js';
import { diffRulesets, type RulesetDiff } from '../rules/diff.js';
import { evaluateRules, measureRuleCosts, ruleContext } from '../rules/evaluate.js';
import type { Thresholds } from '../rules/types.js';

const OUTCOMES: readonly Outcome[] = ['APPROVE', 'REVIEW', 'DECLINE'];
/** Events the rules' costs are measured over, at most (evenly spread over the history). */
export const COST_SAMPLE = 20_000;
const stops = (o: Outcome): boolean => o !== 'APPROVE';

/** Records the raw scores of each batch in order, so the replayed decisions can be re-evaluated on them. */
class RecordingScorer implements Scorer {
  private queue: number[] = [];
  private head = 0;
  constructor(private readonly inner: Scorer) {}
  get version(): string { return this.inner.version; }
  async score(rows: Float32Array, nRows: number): Promise<Float32Array> {
    const s = await this.inner.score(rows, nRows);
    if (this.head > 100_000) { this.queue = this.queue.slice(this.head); this.head = 0; }
    for (let i = 0; i < s.length; i++) this.queue.push(s[i]!);
    return s;
  }
  next(): number {
    if (this.head >= this.queue.length) throw new Error('backtest: no recorded score for a scored decision');
    return this.queue[this.head++]!;
  }
}

export interface Side<T> { base: T; new: T }

export interface RuleBacktest {
  id: string;
  /** added / removed / changed / same, between the two rulesets. */
  change: 'added' | 'removed' | 'changed' | 'same';
  mode: Side<string | null>;
  action: Side<string | null>;
  hits: Side<number>;
  /** Hits on transactions labelled fraud. */
  fraud_hits: Side<number>;
  /** Hits on transactions labelled legitimate (false positives for REVIEW / DECLINE rules). */
  legit_hits: Side<number>;
  /** Transactions whose outcome changed and on which this rule's active hit differs. */
  outcome_changes: number;
  /** The proposed rule's cost: the compile-time estimate, and µs per evaluated event measured on the history (null: not proposed). */
  cost: { estimate: number; us_per_event: number } | null;
}

export interface BacktestReport {
  input: string;
  transactions: number;
  labelled: number;
  frauds: number;
  model: string;
  label_delay_days: number;
  baseline: { version: string; source: string; thresholds: Thresholds };
  proposed: { version: string; source: string; thresholds: Thresholds };
  diff: RulesetDiff;
  outcomes: Side<Record<Outcome, number>>;
  outcome_changes: number;
  transitions: Record<string, number>;
  /** Frauds stopped (REVIEW or DECLINE). */
  frauds_stopped: Side<number>;
  /** Legitimate transactions stopped (REVIEW or DECLINE): false positives. */
  false_positives: Side<number>;
  rules: RuleBacktest[];
  /** Events the rules' costs were measured over. */
  cost_events: number;
  elapsed_s: number;
}

export interface BacktestOptions {
  input: string;
  records: readonly HistoryRecord[];
  baseline: CompiledRuleset;
  baselineSource: string;
  proposed: CompiledRuleset;
  proposedSource: string;
  scorer: Scorer | null;
  labelDelayDays?: number;
  batchSize?: number;
}

export async function backtestRulesets(o: BacktestOptions): Promise<BacktestReport> {
  const t0 = performance.now();
  const delay = o.labelDelayDays ?? 7;
  const store = new MemoryFeatureStore();
  const scorer = o.scorer ? new RecordingScorer(o.scorer) : null;
  const engine = new DecisionEngine({ store, scorer, rules: { current: () => o.baseline }, clock: (ev) => ev.event_time });

  const all = new Map<string, RuleBacktest>();
  const ruleRow = (id: string): RuleBacktest => {
    let r = all.get(id);
    if (!r) {
      r = { id, change: 'same', mode: { base: null, new: null }, action: { base: null, new: null }, hits: { base: 0, new: 0 }, fraud_hits: { base: 0, new: 0 }, legit_hits: { base: 0, new: 0 }, outcome_changes: 0, cost: null };
      all.set(id, r);
    }
    return r;
  };
  for (const r of o.baseline.def.rules) Object.assign(ruleRow(r.id), { mode: { base: r.mode, new: null }, action: { base: r.action, new: null } });
  for (const r of o.proposed.def.rules) { const row = ruleRow(r.id); row.mode.new = r.mode; row.action.new = r.action; }
  const diff = diffRulesets(o.baseline.def, o.proposed.def);
  for (const r of diff.added) ruleRow(r.id).change = 'added';
  for (const r of diff.removed) ruleRow(r.id).change = 'removed';
  for (const c of diff.changed) ruleRow(c.id).change = 'changed';

  const count = (): Record<Outcome, number> => ({ APPROVE: 0, REVIEW: 0, DECLINE: 0 });
  const rep: BacktestReport = {
    input: o.input, transactions: 0, labelled: 0, frauds: 0, model: o.scorer?.version ?? 'none', label_delay_days: delay,
    baseline: { version: o.baseline.version, source: o.baselineSource, thresholds: o.baseline.thresholds },
    proposed: { version: o.proposed.version, source: o.proposedSource, thresholds: o.proposed.thresholds },
    diff, outcomes: { base: count(), new: count() }, outcome_changes: 0, transitions: {},
    frauds_stopped: { base: 0, new: 0 }, false_positives: { base: 0, new: 0 }, rules: [], cost_events: 0, elapsed_s: 0,
  };
  // The proposed side's contexts of events spread over the history, to measure the rules' costs on.
  const stride = Math.max(1, Math.ceil(o.records.length / COST_SAMPLE));
  const sample: RuleContext[] = [];

  for await (const r of replayFeed(engine, store, interleaveLabels(o.records, delay), o.batchSize ?? 500)) {
    const d = r.decision;
    const score = d.score === null ? null : scorer ? scorer.next() : null;
    // The baseline again, as the engine evaluated it: must agree with the decision.
    const base = decideEvent(o.baseline, r.event, r.vector, score);
    const baseHits = base.hits;
    const baseOutcome = base.policy.outcome;
    if (baseOutcome !== d.outcome) throw new Error(`backtest: re-evaluation diverged from the engine on ${d.auth_id} (${baseOutcome} vs ${d.outcome})`);
    if (rep.transactions % stride === 0) sample.push(ruleContext(r.event, FEATURE_NAMES, r.vector, score, o.proposed.lists));
    const proposed = decideEvent(o.proposed, r.event, r.vector, score);
    const newHits = proposed.hits;
    const newOutcome = proposed.policy.outcome;

    rep.transactions++;
    if (r.fraud !== null) rep.labelled++;
    if (r.fraud === true) rep.frauds++;
    rep.outcomes.base[baseOutcome]++;
    rep.outcomes.new[newOutcome]++;
    if (stops(baseOutcome)) { if (r.fraud === true) rep.frauds_stopped.base++; else if (r.fraud === false) rep.false_positives.base++; }
    if (stops(newOutcome)) { if (r.fraud === true) rep.frauds_stopped.new++; else if (r.fraud === false) rep.false_positives.new++; }

    const tally = (hits: ReturnType<typeof evaluateRules>, side: 'base' | 'new') => {
      for (const h of [...hits.active, ...hits.shadow]) {
        const row = ruleRow(h.def.id);
        row.hits[side]++;
        if (r.fraud === true) row.fraud_hits[side]++;
        else if (r.fraud === false) row.legit_hits[side]++;
      }
    };
    tally(baseHits, 'base');
    tally(newHits, 'new');
    if (baseOutcome !== newOutcome) {
      rep.outcome_changes++;
      const k = `${baseOutcome}->${newOutcome}`;
      rep.transitions[k] = (rep.transitions[k] ?? 0) + 1;
      const a = new Set(baseHits.active.map((h) => h.def.id));
      const b = new Set(newHits.active.map((h) => h.def.id));
      for (const id of new Set([...a, ...b])) if (a.has(id) !== b.has(id)) ruleRow(id).outcome_changes++;
    }
  }
  await store.close();
  const proposedRules = [...o.proposed.active, ...o.proposed.shadow];
  const measured = measureRuleCosts(proposedRules, sample);
  for (const rule of proposedRules) ruleRow(rule.def.id).cost = { estimate: rule.cost, us_per_event: round2(measured.get(rule.def.id) ?? 0) };
  rep.cost_events = sample.length;
  const order = new Map([...o.proposed.def.rules, ...o.baseline.def.rules].map((r, i) => [r.id, i] as const).reverse());
  rep.rules = [...all.values()].sort((x, y) => (order.get(x.id) ?? 0) - (order.get(y.id) ?? 0));
  rep.elapsed_s = Math.round((performance.now() - t0) / 100) / 10;
  return rep;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * Each rule's measured cost (µs per evaluated event) on `records` replayed as the engine would
 * decide them (in-memory features, the model when given; without one `score` is absent and a
 * rule reading it takes its error path: an upper bound). Events: up to COST_SAMPLE spread over
 * the history. For `rules publish`, which refuses a rule over rules.max_rule_us_per_event.
 */
export async function measureRulesetCosts(
  rs: CompiledRuleset, records: readonly HistoryRecord[], scorer: Scorer | null = null, opts: { labelDelayDays?: number; batchSize?: number } = {},
): Promise<{ events: number; usPerEvent: Map<string, number> }> {
  const store = new MemoryFeatureStore();
  const engine = new DecisionEngine({ store, scorer, rules: { current: () => rs }, clock: (ev) => ev.event_time });
  const stride = Math.max(1, Math.ceil(records.length / COST_SAMPLE));
  const sample: RuleContext[] = [];
  let i = 0;
  for await (const r of replayFeed(engine, store, interleaveLabels(records, opts.labelDelayDays ?? 7), opts.batchSize ?? 500)) {
    if (i++ % stride === 0) sample.push(ruleContext(r.event, FEATURE_NAMES, r.vector, r.decision.score, rs.lists));
  }
  await store.close();
  return { events: sample.length, usPerEvent: measureRuleCosts([...rs.active, ...rs.shadow], sample) };
}

/** A small deterministic history (the simulator: ~6,000 transactions) to measure rules on when none is given. */
export function sampleHistory(): HistoryRecord[] {
  return [...simulate({ customers: 200, terminals: 400, days: 10, seed: 11 }).transactions()];
}

/** Text columns (the first `left`) aligned left, numbers right. */
function table(rows: string[][], left = 1): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c < left ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
}

const side = (s: Side<number>): string => (s.base === s.new ? String(s.new) : `${s.base} -> ${s.new}`);
const sideText = (s: Side<string | null>): string => (s.base === s.new ? String(s.new) : `${s.base ?? '-'} -> ${s.new ?? '-'}`);

/** The report as tables for a person. */
export function backtestText(r: BacktestReport): string {
  const labelled = r.labelled > 0;
  const out: string[] = [];
  out.push(`backtest on ${r.input}: ${r.transactions} transactions, ${r.labelled} labelled, ${r.frauds} frauds; model ${r.model}; labels after ${r.label_delay_days} d; ${r.elapsed_s} s`);
  out.push(`baseline ${r.baseline.version} (${r.baseline.source}) -> proposed ${r.proposed.version} (${r.proposed.source})`);
  const th = (k: keyof Thresholds) => (r.baseline.thresholds[k] === r.proposed.thresholds[k] ? `${r.proposed.thresholds[k]}` : `${r.baseline.thresholds[k]} -> ${r.proposed.thresholds[k]}`);
  out.push(`thresholds: review ${th('review')}, decline ${th('decline')}`);
  out.push('');
  const head = ['rule', 'change', 'mode', 'action', 'hits', 'outcome changes', ...(labelled ? ['fraud hits', 'legit hits (FP)'] : []), 'cost (est.)', 'µs/event'];
  const rows = r.rules.map((x) => [x.id, x.change, sideText(x.mode), sideText(x.action), side(x.hits), String(x.outcome_changes), ...(labelled ? [side(x.fraud_hits), side(x.legit_hits)] : []),
    x.cost ? String(x.cost.estimate) : '-', x.cost ? x.cost.us_per_event.toFixed(2) : '-']);
  out.push(table([head, ...rows], 4));
  out.push(`cost: the compile-time estimate of one evaluation (bound: rules.max_rule_cost); µs/event: measured over ${r.cost_events} events, each rule alone`);
  out.push('');
  const overall = [['overall', 'baseline', 'proposed', 'change']];
  for (const o of OUTCOMES) overall.push([o, String(r.outcomes.base[o]), String(r.outcomes.new[o]), signed(r.outcomes.new[o] - r.outcomes.base[o])]);
  if (labelled) {
    overall.push([`frauds stopped (of ${r.frauds})`, String(r.frauds_stopped.base), String(r.frauds_stopped.new), signed(r.frauds_stopped.new - r.frauds_stopped.base)]);
    overall.push([`false positives (of ${r.labelled - r.frauds} legit)`, String(r.false_positives.base), String(r.false_positives.new), signed(r.false_positives.new - r.false_positives.base)]);
  }
  out.push(table(overall));
  const tr = Object.entries(r.transitions).map(([k, n]) => `${k} ${n}`).join(', ');
  out.push(`outcome changes: ${r.outcome_changes}${tr ? ` (${tr})` : ''}`);
  return out.join('\n');
}

const signed = (n: number): string => (n > 0 ? `+${n}` : String(n));
