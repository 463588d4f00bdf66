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
import type { AuthorizationEvent, Outcome } from '../../events/types.js';
import { FEATURE_NAMES } from '../../features/names.js';
import { compileRuleset, readsScore, type CompiledRuleset } from '../../rules/compile.js';
import { activeHitsOnScore, ruleContext } from '../../rules/evaluate.js';
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
  /** The authorization and its served features (rows with a challenger score): for the rules on the score. */
  input?: { event: AuthorizationEvent; features: Readonly<Record<string, number | null>> };
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

type RulesetView = Pick<RulesetDef, 'thresholds' | 'rules'>;

/** Compiled once per ruleset looked up (its lists as published: a rule on the score that reads a list sees those). */
const compiled = new WeakMap<RulesetView, CompiledRuleset>();
function compiledOf(r: RulesetView): CompiledRuleset {
  let c = compiled.get(r);
  if (!c) {
    c = compileRuleset({ version: 'compare', description: '', lists: {}, ...r });
    compiled.set(r, c);
  }
  return c;
}

/**
 * The outcome the policy would have given on `score` with `ruleset`'s thresholds and its active
 * rules: those that read the score evaluated again on it when the row carries its `input` (as the
 * engine's fraud_challenger_outcome_changes_total does), the others as they hit (`hits`, their
 * priorities from the ruleset); null when a hit's rule is not in it.
 */
export function wouldBeOutcome(
  score: number,
  ruleset: RulesetView,
  hits: readonly { rule_id: string }[],
  input?: AuditLabelRow['input'],
): Outcome | null {
  const byId = new Map(ruleset.rules.map((r) => [r.id, r]));
  if (hits.some((h) => !byId.has(h.rule_id))) return null;
  if (input && ruleset.rules.some((r) => r.mode === 'active' && readsScore(r.expression))) {
    const rs = compiledOf(ruleset);
    const hit = new Set(hits.map((h) => h.rule_id));
    const champion = rs.active.filter((r) => hit.has(r.def.id));
    const vector = FEATURE_NAMES.map((n) => input.features[n] ?? null);
    const ctx = ruleContext(input.event, FEATURE_NAMES, vector, score, rs.lists);
    return applyPolicy(score, rs.thresholds, activeHitsOnScore(rs, ctx, champion)).outcome;
  }
  const active: PolicyHit[] = hits.map((h) => ({ def: byId.get(h.rule_id)! }));
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
        const outcome = rs ? wouldBeOutcome(r.challenger_score, rs, r.active_hits, r.input) : null;
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
