/**
 * The challenger: a second model scored on the same batch's feature matrix after the champion,
 * recorded on the decision (`challenger_score`, `challenger_version`) and compared in metrics,
 * never deciding. A failure or a timeout leaves its scores null and is counted; the decision is
 * the champion's either way.
 */
import type { Outcome } from '../../events/types.js';
import type { Scorer } from '../../models/scorer.js';
import type { ChallengerMetrics } from '../../observability/metrics.js';
import type { CompiledRule } from '../../rules/compile.js';
import type { Thresholds } from '../../rules/types.js';
import { applyPolicy } from './policy.js';

export interface Challenger {
  scorer: Scorer;
  /** Absent in tests that only read the decisions. */
  metrics?: ChallengerMetrics;
}

/** The band a score alone falls in at the thresholds (no rules). */
export function scoreBand(score: number, thresholds: Thresholds): Outcome {
  if (score >= thresholds.decline) return 'DECLINE';
  if (score >= thresholds.review) return 'REVIEW';
  return 'APPROVE';
}

/**
 * Counts one event both models were asked about: the challenger's score, whether both scores fall
 * in the same band, and the outcome the policy would have given on the challenger's score with the
 * same thresholds and `activeHits`, the active rules that hit on the challenger's score (the rules
 * that read the score evaluated again on it: rules/evaluate.ts activeHitsOnScore), when it differs
 * from the outcome given.
 */
export function compareChallenger(
  metrics: ChallengerMetrics,
  champion: number | null,
  challenger: number,
  thresholds: Thresholds,
  activeHits: readonly CompiledRule[],
  outcome: Outcome,
): void {
  metrics.score.observe(challenger);
  if (champion === null) return;
  const agree = scoreBand(champion, thresholds) === scoreBand(challenger, thresholds);
  metrics.agreement.inc({ agree: String(agree) });
  const wouldBe = applyPolicy(challenger, thresholds, activeHits).outcome;
  if (wouldBe !== outcome) metrics.outcomeChanges.inc({ from: outcome, to: wouldBe });
}
