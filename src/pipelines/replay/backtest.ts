/**
 * The backtest of rules, for `rules backtest` and the assistant's rule drafts (the measured costs of
 * `rules publish`: ./rule-costs.ts): what a proposed ruleset would have changed on history, against the
 * ruleset in force. ONE replay (src/pipelines/replay: in-memory features, the model, delayed labels)
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
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { HistoryRecord } from '../../events/history/index.js';
import type { Outcome } from '../../events/types.js';
import { interleaveLabels } from '../../features/label-feed.js';
import { MemoryFeatureStore } from '../../features/memory-store.js';
import { FEATURE_NAMES } from '../../features/names.js';
import type { Scorer } from '../../models/scorer.js';
import { DecisionEngine } from '../decision/engine.js';
import { decideEvent } from '../decision/step.js';
import { replayBatches } from './replay.js';
import { COST_SAMPLE } from './rule-costs.js';
import { compileRuleset, type CompiledRuleset, type RuleContext } from '../../rules/compile.js';
import { diffRulesets, type RulesetDiff } from '../../rules/diff.js';
import { evaluateRules, measureRuleCosts, ruleContext } from '../../rules/evaluate.js';
import type { RuleDef, RulesetDef, Thresholds } from '../../rules/types.js';

const stops = (o: Outcome): boolean => o !== 'APPROVE';

/** Events between two turns of the event loop: a server running a backtest (the console) keeps serving. */
const YIELD_EVERY = 2_000;

/** Records the raw scores of each batch in order, so the replayed decisions can be re-evaluated on them. */
class RecordingScorer implements Scorer {
  private queue: number[] = [];
  private head = 0;
  constructor(private readonly inner: Scorer) {}
  get version(): string {
    return this.inner.version;
  }
  async score(rows: Float32Array, nRows: number): Promise<Float32Array> {
    const s = await this.inner.score(rows, nRows);
    if (this.head > 100_000) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    for (let i = 0; i < s.length; i++) this.queue.push(s[i]!);
    return s;
  }
  next(): number {
    if (this.head >= this.queue.length) throw new Error('backtest: no recorded score for a scored decision');
    return this.queue[this.head++]!;
  }
}

export interface Side<T> {
  base: T;
  new: T;
}

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
  /** Evaluations that failed at run time (a missing feature, say): counted as not hit. */
  errors: Side<number>;
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
  /** Transactions the baseline approves and the proposal stops, by label. */
  newly_stopped: { fraud: number; legit: number };
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
  /** Measure each proposed rule's cost (default true). */
  measureCosts?: boolean;
}

export async function backtestRulesets(o: BacktestOptions): Promise<BacktestReport> {
  const t0 = performance.now();
  const delay = o.labelDelayDays ?? 7;
  const store = new MemoryFeatureStore();
  const scorer = o.scorer ? new RecordingScorer(o.scorer) : null;
  const engine = new DecisionEngine({
    store,
    scorer,
    rules: { current: () => o.baseline },
    clock: (ev) => ev.event_time,
    factors: false,
    decisionFeatures: false,
  });

  const all = new Map<string, RuleBacktest>();
  const ruleRow = (id: string): RuleBacktest => {
    let r = all.get(id);
    if (!r) {
      r = {
        id,
        change: 'same',
        mode: { base: null, new: null },
        action: { base: null, new: null },
        hits: { base: 0, new: 0 },
        fraud_hits: { base: 0, new: 0 },
        legit_hits: { base: 0, new: 0 },
        errors: { base: 0, new: 0 },
        outcome_changes: 0,
        cost: null,
      };
      all.set(id, r);
    }
    return r;
  };
  for (const r of o.baseline.def.rules)
    Object.assign(ruleRow(r.id), { mode: { base: r.mode, new: null }, action: { base: r.action, new: null } });
  for (const r of o.proposed.def.rules) {
    const row = ruleRow(r.id);
    row.mode.new = r.mode;
    row.action.new = r.action;
  }
  const diff = diffRulesets(o.baseline.def, o.proposed.def);
  for (const r of diff.added) ruleRow(r.id).change = 'added';
  for (const r of diff.removed) ruleRow(r.id).change = 'removed';
  for (const c of diff.changed) ruleRow(c.id).change = 'changed';

  const count = (): Record<Outcome, number> => ({ APPROVE: 0, REVIEW: 0, DECLINE: 0 });
  const rep: BacktestReport = {
    input: o.input,
    transactions: 0,
    labelled: 0,
    frauds: 0,
    model: o.scorer?.version ?? 'none',
    label_delay_days: delay,
    baseline: { version: o.baseline.version, source: o.baselineSource, thresholds: o.baseline.thresholds },
    proposed: { version: o.proposed.version, source: o.proposedSource, thresholds: o.proposed.thresholds },
    diff,
    outcomes: { base: count(), new: count() },
    outcome_changes: 0,
    transitions: {},
    frauds_stopped: { base: 0, new: 0 },
    false_positives: { base: 0, new: 0 },
    newly_stopped: { fraud: 0, legit: 0 },
    rules: [],
    cost_events: 0,
    elapsed_s: 0,
  };
  // The proposed side's contexts of events spread over the history, to measure the rules' costs on.
  const measure = o.measureCosts ?? true;
  const stride = Math.max(1, Math.ceil(o.records.length / COST_SAMPLE));
  const sample: RuleContext[] = [];

  const feed = interleaveLabels(o.records, delay);
  for await (const batch of replayBatches(engine, store, feed, o.batchSize ?? 500))
    for (const r of batch) {
      if (rep.transactions > 0 && rep.transactions % YIELD_EVERY === 0) await nextTurn();
      const d = r.decision;
      const score = d.score === null ? null : scorer ? scorer.next() : null;
      // The baseline again, as the engine evaluated it: must agree with the decision.
      const base = decideEvent(o.baseline, r.event, r.vector, score);
      const baseHits = base.hits;
      const baseOutcome = base.policy.outcome;
      if (baseOutcome !== d.outcome)
        throw new Error(
          `backtest: re-evaluation diverged from the engine on ${d.auth_id} (${baseOutcome} vs ${d.outcome})`,
        );
      if (measure && rep.transactions % stride === 0)
        sample.push(ruleContext(r.event, FEATURE_NAMES, r.vector, score, o.proposed.lists));
      const proposed = decideEvent(o.proposed, r.event, r.vector, score);
      const newHits = proposed.hits;
      const newOutcome = proposed.policy.outcome;

      rep.transactions++;
      if (r.fraud !== null) rep.labelled++;
      if (r.fraud === true) rep.frauds++;
      rep.outcomes.base[baseOutcome]++;
      rep.outcomes.new[newOutcome]++;
      if (stops(baseOutcome)) {
        if (r.fraud === true) rep.frauds_stopped.base++;
        else if (r.fraud === false) rep.false_positives.base++;
      }
      if (stops(newOutcome)) {
        if (r.fraud === true) rep.frauds_stopped.new++;
        else if (r.fraud === false) rep.false_positives.new++;
      }

      const tallyHits = (hits: readonly { def: { id: string } }[], side: 'base' | 'new') => {
        for (const h of hits) {
          const row = ruleRow(h.def.id);
          row.hits[side]++;
          if (r.fraud === true) row.fraud_hits[side]++;
          else if (r.fraud === false) row.legit_hits[side]++;
        }
      };
      // Active then shadow hits, without an array of both per event and side.
      const tally = (hits: ReturnType<typeof evaluateRules>, side: 'base' | 'new') => {
        tallyHits(hits.active, side);
        tallyHits(hits.shadow, side);
        for (const id of hits.errors) ruleRow(id).errors[side]++;
      };
      tally(baseHits, 'base');
      tally(newHits, 'new');
      if (baseOutcome !== newOutcome) {
        rep.outcome_changes++;
        const k = `${baseOutcome}->${newOutcome}`;
        rep.transitions[k] = (rep.transitions[k] ?? 0) + 1;
        if (!stops(baseOutcome) && stops(newOutcome)) {
          if (r.fraud === true) rep.newly_stopped.fraud++;
          else if (r.fraud === false) rep.newly_stopped.legit++;
        }
        const a = new Set(baseHits.active.map((h) => h.def.id));
        const b = new Set(newHits.active.map((h) => h.def.id));
        for (const id of new Set([...a, ...b])) if (a.has(id) !== b.has(id)) ruleRow(id).outcome_changes++;
      }
    }
  await store.close();
  if (measure) {
    const proposedRules = [...o.proposed.active, ...o.proposed.shadow];
    const measured = measureRuleCosts(proposedRules, sample);
    for (const rule of proposedRules)
      ruleRow(rule.def.id).cost = { estimate: rule.cost, us_per_event: round2(measured.get(rule.def.id) ?? 0) };
    rep.cost_events = sample.length;
  }
  const order = new Map([...o.proposed.def.rules, ...o.baseline.def.rules].map((r, i) => [r.id, i] as const).reverse());
  rep.rules = [...all.values()].sort((x, y) => (order.get(x.id) ?? 0) - (order.get(y.id) ?? 0));
  rep.elapsed_s = Math.round((performance.now() - t0) / 100) / 10;
  return rep;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** What one drafted rule would have changed (`rules draft`): the rule's own figures and the outcomes. */
export interface RuleBacktestSummary {
  transactions: number;
  labelled: number;
  frauds: number;
  model: string;
  baseline_ruleset: string;
  proposed_ruleset: string;
  rule: {
    id: string;
    hits: number;
    fraud_hits: number;
    /** Hits on transactions labelled legitimate. */
    false_positives: number;
    unlabelled_hits: number;
    /** fraud_hits / labelled hits; null without labelled hits. */
    precision: number | null;
    /** fraud_hits / frauds; null without frauds. */
    recall: number | null;
    runtime_errors: number;
  };
  outcomes: {
    baseline: Record<Outcome, number>;
    proposed: Record<Outcome, number>;
    changed: number;
    transitions: Record<string, number>;
    frauds_stopped_baseline: number;
    frauds_stopped_proposed: number;
    frauds_newly_stopped: number;
    legit_newly_stopped: number;
  };
}

/**
 * The backtest of one rule added to a ruleset as an active rule: backtestRulesets (one replay,
 * both rulesets evaluated on the same features and scores), summarized for the rule.
 */
export async function backtestRule(o: {
  records: readonly HistoryRecord[];
  base: RulesetDef;
  rule: RuleDef;
  scorer: Scorer | null;
  labelDelayDays?: number;
}): Promise<RuleBacktestSummary> {
  const proposedDef: RulesetDef = {
    ...o.base,
    version: `${o.base.version}+draft.${o.rule.id}`,
    rules: [...o.base.rules, { ...o.rule, mode: 'active' }],
  };
  const r = await backtestRulesets({
    input: '',
    records: o.records,
    baseline: compileRuleset(o.base),
    baselineSource: '',
    proposed: compileRuleset(proposedDef),
    proposedSource: '',
    scorer: o.scorer,
    labelDelayDays: o.labelDelayDays,
    measureCosts: false,
  });
  const row = r.rules.find((x) => x.id === o.rule.id)!;
  const hits = row.hits.new,
    fraudHits = row.fraud_hits.new,
    legitHits = row.legit_hits.new;
  return {
    transactions: r.transactions,
    labelled: r.labelled,
    frauds: r.frauds,
    model: r.model,
    baseline_ruleset: o.base.version,
    proposed_ruleset: proposedDef.version,
    rule: {
      id: o.rule.id,
      hits,
      fraud_hits: fraudHits,
      false_positives: legitHits,
      unlabelled_hits: hits - fraudHits - legitHits,
      precision: fraudHits + legitHits ? fraudHits / (fraudHits + legitHits) : null,
      recall: r.frauds ? fraudHits / r.frauds : null,
      runtime_errors: row.errors.new,
    },
    outcomes: {
      baseline: r.outcomes.base,
      proposed: r.outcomes.new,
      changed: r.outcome_changes,
      transitions: r.transitions,
      frauds_stopped_baseline: r.frauds_stopped.base,
      frauds_stopped_proposed: r.frauds_stopped.new,
      frauds_newly_stopped: r.newly_stopped.fraud,
      legit_newly_stopped: r.newly_stopped.legit,
    },
  };
}
