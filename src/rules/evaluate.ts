/**
 * Evaluates a compiled ruleset against one event. A rule that errors at run time (a
 * missing feature, say) counts as not hit and is reported, so the caller can count it by
 * rule id; it never fails the decision.
 */
import type { AuthorizationEvent } from '../events/types.js';
import type { CompiledRule, CompiledRuleset, RuleContext } from './compile.js';
import { featuresOf, RuleLists, RuleTx } from './context.js';
import { RULE_ERROR } from './fast-eval.js';
import type { Lists } from './types.js';

export interface RuleEvaluation {
  active: CompiledRule[];
  shadow: CompiledRule[];
  errors: string[];
}

/** Whether the rule hits (true), or RULE_ERROR on a run-time error: the plain closure when it has one, else cel-js. */
export function outcomeOf(rule: CompiledRule, ctx: RuleContext): boolean | typeof RULE_ERROR {
  if (rule.fast) {
    const v = rule.fast(ctx);
    return v === RULE_ERROR ? v : v === true;
  }
  try {
    return rule.test(ctx) === true;
  } catch {
    return RULE_ERROR;
  }
}

function run(rules: readonly CompiledRule[], ctx: RuleContext, hits: CompiledRule[], errors: string[]): void {
  for (const rule of rules) {
    const v = outcomeOf(rule, ctx);
    if (v === true) hits.push(rule);
    else if (v === RULE_ERROR) errors.push(rule.def.id);
  }
}

export function evaluateRules(rs: CompiledRuleset, ctx: RuleContext): RuleEvaluation {
  const out: RuleEvaluation = { active: [], shadow: [], errors: [] };
  // A missing value is an error inside CEL (thrown and often absorbed by `&&` / `||`): nobody
  // reads its stack, so don't capture one (measured: scripts/bench-rules.mjs). Synchronous,
  // so no other code runs with the limit lowered.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    run(rs.active, ctx, out.active, out.errors);
    run(rs.shadow, ctx, out.shadow, out.errors);
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  return out;
}

/**
 * The active rules that would hit were the model's score the one in `ctx`: the rules that read
 * the score evaluated on it, the others as they hit (`hits`: they do not read the model). For a
 * challenger's would-be outcome; the order is the ruleset's, as evaluateRules gives it.
 */
export function activeHitsOnScore(
  rs: CompiledRuleset,
  ctx: RuleContext,
  hits: readonly CompiledRule[],
): CompiledRule[] {
  const out: CompiledRule[] = [];
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (const rule of rs.active) {
      if (!rule.readsScore) {
        if (hits.includes(rule)) out.push(rule);
        continue;
      }
      // as evaluateRules: an error is no hit
      if (outcomeOf(rule, ctx) === true) out.push(rule);
    }
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  return out;
}

/**
 * The CEL view of an event (./context.ts): views over the event and the feature vector, so
 * building it costs two small allocations and a field is computed only when a rule reads it.
 * `names` is the order of `vector` (FEATURE_NAMES on the hot path).
 */
export function ruleContext(
  ev: AuthorizationEvent,
  names: readonly string[],
  vector: readonly (number | null)[],
  score: number | null,
  lists: Lists,
): RuleContext {
  const ctx: RuleContext = { tx: new RuleTx(ev), f: featuresOf(names, vector), lists: RuleLists.of(lists) };
  if (score !== null && Number.isFinite(score)) ctx.score = score;
  return ctx;
}

/**
 * Each rule's measured cost: µs per evaluated event over `contexts`, each rule alone, as
 * evaluateRules runs it (stack traces off, an error counts as evaluated), the median of `rounds`
 * timed passes after a warm-up pass. Wall-clock time on this machine: for `rules backtest` and
 * `rules publish`, beside the compile-time estimate (CompiledRule.cost).
 */
export function measureRuleCosts(
  rules: readonly CompiledRule[],
  contexts: readonly RuleContext[],
  rounds = 3,
): Map<string, number> {
  const out = new Map<string, number>();
  if (contexts.length === 0) return out;
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (const rule of rules) {
      const pass = (n: number): number => {
        const t0 = performance.now();
        // an error is an evaluation too
        for (let i = 0; i < n; i++) outcomeOf(rule, contexts[i]!);
        return performance.now() - t0;
      };
      pass(Math.min(contexts.length, 1000));
      const times: number[] = [];
      for (let r = 0; r < Math.max(1, rounds); r++) times.push(pass(contexts.length));
      times.sort((a, b) => a - b);
      out.set(rule.def.id, (times[Math.floor(times.length / 2)]! * 1000) / contexts.length);
    }
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  return out;
}
