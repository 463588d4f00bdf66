/**
 * The decision policy: the model score against the ruleset's thresholds, plus the actions
 * of the active rules that hit. DECLINE over REVIEW over APPROVE; an APPROVE rule
 * (allowlist) overrides the score and every rule of lower or equal priority; TAG only annotates.
 */
import type { Outcome } from '../../events/types.js';
import type { RuleDef, Thresholds } from '../../rules/types.js';

const SEVERITY: Record<Outcome, number> = { APPROVE: 0, REVIEW: 1, DECLINE: 2 };

export interface PolicyResult {
  outcome: Outcome;
  reasons: string[];
  tags: string[];
}

/**
 * An active rule that hit: what the policy reads of it (a compiled rule is one; so is a rule hit of
 * the audit trail with its definition, for `models compare`).
 */
export interface PolicyHit {
  readonly def: Pick<RuleDef, 'id' | 'action' | 'priority'>;
}

export function applyPolicy(
  score: number | null,
  thresholds: Thresholds,
  activeHits: readonly PolicyHit[],
): PolicyResult {
  const tags: string[] = [];
  // Hits arrive sorted by priority, highest first.
  let overridePriority = -Infinity;
  let overrideRule: string | null = null;
  for (const hit of activeHits) {
    if (hit.def.action === 'APPROVE') {
      overridePriority = hit.def.priority;
      overrideRule = hit.def.id;
      break;
    }
  }
  let outcome: Outcome = 'APPROVE';
  const reasons: string[] = [];
  if (overrideRule === null && score !== null) {
    if (score >= thresholds.decline) {
      outcome = 'DECLINE';
      reasons.push(`score>=${thresholds.decline}`);
    } else if (score >= thresholds.review) {
      outcome = 'REVIEW';
      reasons.push(`score>=${thresholds.review}`);
    }
  }
  for (const hit of activeHits) {
    const action = hit.def.action;
    if (action.startsWith('TAG:')) {
      tags.push(action.slice(4));
      continue;
    }
    if (action === 'APPROVE') continue;
    if (hit.def.priority <= overridePriority) continue;
    const o = action as Outcome;
    if (SEVERITY[o] > SEVERITY[outcome]) outcome = o;
    reasons.push(`rule:${hit.def.id}`);
  }
  if (overrideRule !== null) reasons.unshift(`override:${overrideRule}`);
  return { outcome, reasons, tags };
}
