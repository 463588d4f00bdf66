/**
 * The decision of one event once its features and score are known: the rules, then the policy.
 * The one step shared by the engine, its warm-up and the backtests, so that a backtest decides
 * exactly as the engine does.
 */
import type { AuthorizationEvent } from '../../events/types.js';
import type { FeatureVector } from '../../features/store.js';
import { FEATURE_NAMES } from '../../features/names.js';
import type { CompiledRuleset } from '../../rules/compile.js';
import { evaluateRules, ruleContext, type RuleEvaluation } from '../../rules/evaluate.js';
import { applyPolicy, type PolicyResult } from './policy.js';

export interface EventDecision {
  hits: RuleEvaluation;
  policy: PolicyResult;
}

/** No rule evaluated (the batch's rules budget is spent): the policy decides on the score. */
export const NO_RULES = Object.freeze({
  active: Object.freeze([]),
  shadow: Object.freeze([]),
  errors: Object.freeze([]),
}) as unknown as RuleEvaluation;

/** `vector` in FEATURE_NAMES order; `score` null when the model was unavailable. */
export function decideEvent(
  rs: CompiledRuleset,
  ev: AuthorizationEvent,
  vector: FeatureVector,
  score: number | null,
  withRules = true,
): EventDecision {
  const hits = withRules ? evaluateRules(rs, ruleContext(ev, FEATURE_NAMES, vector, score, rs.lists)) : NO_RULES;
  return { hits, policy: applyPolicy(score, rs.thresholds, hits.active) };
}
