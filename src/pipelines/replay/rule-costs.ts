/**
 * The rules' measured costs for `rules publish`: each rule's µs per event on a history replayed
 * as the engine would decide it, and the rules over the bound (rules.max_rule_us_per_event).
 */
import { readHistoryFile, type HistoryFormat, type HistoryRecord } from '../../events/history/index.js';
import { interleaveLabels } from '../../features/label-feed.js';
import { MemoryFeatureStore } from '../../features/memory-store.js';
import { FEATURE_NAMES } from '../../features/names.js';
import type { Scorer } from '../../models/scorer.js';
import type { CompiledRuleset, RuleContext } from '../../rules/compile.js';
import { measureRuleCosts, ruleContext } from '../../rules/evaluate.js';
import { RuleError } from '../../rules/types.js';
import { simulate } from '../../simulator/index.js';
import { DecisionEngine } from '../decision/engine.js';
import { replayFeed } from './replay.js';

/** Events the rules' costs are measured over, at most (evenly spread over the history). */
export const COST_SAMPLE = 20_000;

/**
 * Each rule's measured cost (µs per evaluated event) on `records` replayed as the engine would
 * decide them (in-memory features, the model when given; without one `score` is absent and a
 * rule reading it takes its error path: an upper bound). Events: up to COST_SAMPLE spread over
 * the history. For `rules publish`, which refuses a rule over rules.max_rule_us_per_event.
 */
export async function measureRulesetCosts(
  rs: CompiledRuleset,
  records: readonly HistoryRecord[],
  scorer: Scorer | null = null,
  opts: { labelDelayDays?: number; batchSize?: number } = {},
): Promise<{ events: number; usPerEvent: Map<string, number> }> {
  const store = new MemoryFeatureStore();
  const engine = new DecisionEngine({
    store,
    scorer,
    rules: { current: () => rs },
    clock: (ev) => ev.event_time,
    factors: false,
    decisionFeatures: false,
  });
  const stride = Math.max(1, Math.ceil(records.length / COST_SAMPLE));
  const sample: RuleContext[] = [];
  let i = 0;
  for await (const r of replayFeed(
    engine,
    store,
    interleaveLabels(records, opts.labelDelayDays ?? 7),
    opts.batchSize ?? 500,
  )) {
    if (i++ % stride === 0) sample.push(ruleContext(r.event, FEATURE_NAMES, r.vector, r.decision.score, rs.lists));
  }
  await store.close();
  return { events: sample.length, usPerEvent: measureRuleCosts([...rs.active, ...rs.shadow], sample) };
}

/** A small deterministic history (the simulator: ~6,000 transactions) to measure rules on when none is given. */
export function sampleHistory(): HistoryRecord[] {
  return [...simulate({ customers: 200, terminals: 400, days: 10, seed: 11 }).transactions()];
}

/**
 * `rules publish`: the rules of `def` whose measured cost (µs per event, on `records` replayed)
 * is over `bound`, as RuleErrors naming the rule, its file and line; and the dearest rule.
 * Wall-clock time: the bound is meant for rules tens of times dearer than usual (the shipped
 * ones take ~0.2 µs), not for fine ranking.
 */
export async function costErrors(
  rs: CompiledRuleset,
  records: readonly HistoryRecord[],
  o: { bound: number; boundName: string; where: string },
): Promise<{ errors: RuleError[]; events: number; dearest: { id: string; us: number } }> {
  const { events, usPerEvent } = await measureRulesetCosts(rs, records);
  const errors: RuleError[] = [];
  for (const r of rs.def.rules) {
    const us = usPerEvent.get(r.id) ?? 0;
    if (us > o.bound) {
      errors.push(
        new RuleError(
          r.source?.file ?? '<rule>',
          r.id,
          r.source?.line ?? null,
          null,
          `cost: measured ${us.toFixed(1)} µs per event over ${events} events of ${o.where}, over ${o.boundName} (${o.bound})`,
        ),
      );
    }
  }
  const [id, us] = [...usPerEvent].sort((a, b) => b[1] - a[1])[0] ?? ['-', 0];
  return { errors, events, dearest: { id, us } };
}

/**
 * `rules publish`: the rules of `rs` over `bound` µs per event, measured on the history file
 * `input` (else on a small simulated history), and the line saying so when none is.
 */
export async function publishCostErrors(
  rs: CompiledRuleset,
  o: { bound: number; boundName: string; input?: string; format?: HistoryFormat },
): Promise<{ errors: RuleError[]; summary: string }> {
  const records = o.input ? await readHistoryFile(o.input, o.format) : sampleHistory();
  const where = o.input ?? 'a simulated history';
  const r = await costErrors(rs, records, { bound: o.bound, boundName: o.boundName, where });
  return {
    errors: r.errors,
    summary: `cost: every rule under ${o.bound} µs per event (the dearest: '${r.dearest.id}', ${r.dearest.us.toFixed(2)} µs, over ${r.events} events of ${where})`,
  };
}
