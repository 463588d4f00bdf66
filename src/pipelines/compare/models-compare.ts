/**
 * `models compare` over the audit trail: decisions (champion score and outcome, challenger score)
 * joined with the labels that arrived, labelled by the rule of src/evaluation/compare.ts, the
 * challenger's would-be outcome given by the decision policy itself (the same code as
 * fraud_challenger_outcome_changes_total: the challenger's score, the thresholds of the ruleset in
 * force for the row, the same active rule hits), then both models' figures side by side.
 *
 * The rows and the rulesets are handed in (pages of the audit query, a lookup by version), so
 * that this stays free of PostgreSQL and is tested with plain data.
 */
import { DAY_MS } from '../../events/time.js';
import type { Outcome } from '../../events/types.js';
import {
  compareModels,
  LABEL_RULE,
  labelOf,
  type ComparisonFigures,
  type LabelledDecision,
} from '../../evaluation/compare.js';
import type { RulesetDef } from '../../rules/types.js';
import { applyPolicy, type PolicyHit } from '../decision/policy.js';

/** One decision of the audit trail with what is known of its labels (src/sinks/audit/labelled.ts reads them). */
export interface AuditLabelRow {
  auth_id: string;
  /** epoch ms */
  event_time: number;
  card_token: string;
  score: number | null;
  outcome: Outcome;
  model_version: string;
  ruleset_version: string;
  /** The active rule hits (only read when there is a challenger score). */
  active_hits: readonly { rule_id: string; action: string }[];
  challenger_score: number | null;
  challenger_version: string | null;
  /** Some label known by as-of says fraud. */
  fraud_label: boolean;
}

export interface CompareWindow {
  /** event_time from (inclusive), to (exclusive), epoch ms. */
  from: number;
  to: number;
  /** Labels known at this time count (label_time <= asOf); label windows are closed by it. */
  asOf: number;
  labelDelayDays: number;
}

export interface ModelsCompareReport {
  window: { from: string; to: string };
  as_of: string;
  label_delay_days: number;
  label_rule: string;
  decisions: number;
  frauds: number;
  legit: number;
  /** Decisions with no fraud label whose label window is still open: not counted. */
  not_counted: number;
  /** Ruleset versions not found (in PostgreSQL or the rules directory), with their rows having a challenger score. */
  rulesets_unknown: Record<string, number>;
  figures: ComparisonFigures;
}

/**
 * The outcome the policy would have given on `score` with `ruleset`'s thresholds and the active
 * rules that hit (their priorities from the ruleset); null when a hit's rule is not in it.
 */
export function wouldBeOutcome(
  score: number,
  ruleset: Pick<RulesetDef, 'thresholds' | 'rules'>,
  hits: readonly { rule_id: string }[],
): Outcome | null {
  const byId = new Map(ruleset.rules.map((r) => [r.id, r]));
  const active: PolicyHit[] = [];
  for (const h of hits) {
    const def = byId.get(h.rule_id);
    if (!def) return null;
    active.push({ def });
  }
  // applyPolicy reads hits highest priority first, as the compiled ruleset orders them.
  active.sort((a, b) => b.def.priority - a.def.priority);
  return applyPolicy(score, ruleset.thresholds, active).outcome;
}

/** Reads every page, labels the rows, resolves the challenger's outcomes and compares the models. */
export async function compareOnAuditTrail(
  pages: AsyncIterable<readonly AuditLabelRow[]>,
  rulesetOf: (version: string) => Promise<Pick<RulesetDef, 'thresholds' | 'rules'> | null>,
  w: CompareWindow,
  k = 100,
): Promise<ModelsCompareReport> {
  const delayMs = w.labelDelayDays * DAY_MS;
  const rulesets = new Map<string, Pick<RulesetDef, 'thresholds' | 'rules'> | null>();
  const unknown: Record<string, number> = {};
  const labelled: LabelledDecision[] = [];
  let decisions = 0,
    notCounted = 0;
  for await (const page of pages) {
    for (const r of page) {
      decisions++;
      const label = labelOf(r.event_time, r.fraud_label, w.asOf, delayMs);
      if (label === null) {
        notCounted++;
        continue;
      }
      let challenger: LabelledDecision['challenger'] = null;
      if (r.challenger_score !== null) {
        if (!rulesets.has(r.ruleset_version)) rulesets.set(r.ruleset_version, await rulesetOf(r.ruleset_version));
        const rs = rulesets.get(r.ruleset_version) ?? null;
        const outcome = rs ? wouldBeOutcome(r.challenger_score, rs, r.active_hits) : null;
        if (outcome === null) unknown[r.ruleset_version] = (unknown[r.ruleset_version] ?? 0) + 1;
        challenger = { version: r.challenger_version ?? 'unknown', score: r.challenger_score, outcome };
      }
      labelled.push({
        time: r.event_time,
        card: r.card_token,
        fraud: label === 'fraud',
        champion: { version: r.model_version, score: r.score, outcome: r.outcome },
        challenger,
      });
    }
  }
  const frauds = labelled.filter((l) => l.fraud).length;
  return {
    window: { from: new Date(w.from).toISOString(), to: new Date(w.to).toISOString() },
    as_of: new Date(w.asOf).toISOString(),
    label_delay_days: w.labelDelayDays,
    label_rule: LABEL_RULE,
    decisions,
    frauds,
    legit: labelled.length - frauds,
    not_counted: notCounted,
    rulesets_unknown: unknown,
    figures: compareModels(labelled, k),
  };
}
