/**
 * Champion against challenger on labelled live traffic (`fraud-engine models compare`): which
 * decisions count as fraud or legitimate given the labels known so far, and the figures of each
 * model side by side — ranking (AUC ROC, average precision, card precision@100) and outcomes at
 * the thresholds of the ruleset in force (decline precision and recall, false-decline rate,
 * review rate). Pure: the rows come from the audit trail, the challenger's would-be outcomes
 * from the decision policy (src/pipelines/compare/).
 */
import { DAY_MS } from '../events/time.js';
import type { Outcome } from '../events/types.js';
import { aucRoc, averagePrecision, cardPrecisionAtK } from './metrics.js';

/** The labelling rule, as the help and docs/model.md §8 say it. */
export const LABEL_RULE =
  'fraud: any stored label (chargeback or analyst) says fraud; legitimate: no fraud label and the label window (event_time + label delay) has passed; otherwise not counted';

/**
 * What a decision counts as: 'fraud' when any label known says fraud (whenever it came);
 * 'legit' when none does and its label window has closed (event_time + delay <= asOf), so that a
 * recent fraud whose chargeback is still to come is not counted as a legitimate payment; null
 * (not counted) otherwise.
 */
export function labelOf(
  eventTime: number,
  hasFraudLabel: boolean,
  asOf: number,
  labelDelayMs: number,
): 'fraud' | 'legit' | null {
  if (hasFraudLabel) return 'fraud';
  return eventTime + labelDelayMs <= asOf ? 'legit' : null;
}

/** One labelled decision, as both models saw it. */
export interface LabelledDecision {
  /** event_time, epoch ms. */
  time: number;
  card: string;
  fraud: boolean;
  /** The champion's score (null: degraded, no model score) and the outcome given. */
  champion: { version: string; score: number | null; outcome: Outcome };
  /**
   * The challenger's score and the outcome the policy would have given on it (same thresholds,
   * same active rule hits; null when the row's ruleset could not be found). Null: no challenger score.
   */
  challenger: { version: string; score: number; outcome: Outcome | null } | null;
}

/** One model's figures over its rows. Ratios are rounded to 4 decimals; null when undefined (no fraud, no decline, …). */
export interface ModelFigures {
  rows: number;
  frauds: number;
  legit: number;
  /** Model versions among the rows, with their row counts. */
  versions: Record<string, number>;
  auc_roc: number | null;
  average_precision: number | null;
  /** Handbook ch. 4.2: per UTC day the 100 cards of highest max score; cards detected earlier removed; mean over days. */
  card_precision_at_100: number | null;
  declined: number;
  reviewed: number;
  /** Frauds among the declined. */
  decline_precision: number | null;
  /** Declined among the frauds. */
  decline_recall: number | null;
  /** Declined legitimate payments / all legitimate payments. */
  false_decline_rate: number | null;
  /** REVIEW outcomes / rows. */
  review_rate: number | null;
}

/** A row as one model saw it. */
interface Scored {
  time: number;
  card: string;
  fraud: boolean;
  version: string;
  score: number;
  outcome: Outcome;
}

const r4 = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);
const ratio = (a: number, b: number): number | null => (b > 0 ? r4(a / b) : null);
const utcDay = (t: number): string => new Date(Math.floor(t / DAY_MS) * DAY_MS).toISOString().slice(0, 10);

/** The figures of one model over rows it scored (`k`: the cards inspected per day, 100 in the handbook). */
export function modelFigures(rows: readonly Scored[], k = 100): ModelFigures {
  const scores = rows.map((r) => r.score);
  const labels = rows.map((r) => r.fraud);
  const versions: Record<string, number> = {};
  let frauds = 0,
    declined = 0,
    declinedFrauds = 0,
    reviewed = 0;
  for (const r of rows) {
    versions[r.version] = (versions[r.version] ?? 0) + 1;
    if (r.fraud) frauds++;
    if (r.outcome === 'DECLINE') {
      declined++;
      if (r.fraud) declinedFrauds++;
    } else if (r.outcome === 'REVIEW') reviewed++;
  }
  const legit = rows.length - frauds;
  const cp = cardPrecisionAtK(
    rows.map((r) => ({ day: utcDay(r.time), card: r.card, score: r.score, fraud: r.fraud })),
    k,
  );
  return {
    rows: rows.length,
    frauds,
    legit,
    versions,
    auc_roc: r4(aucRoc(scores, labels)),
    average_precision: r4(averagePrecision(scores, labels)),
    card_precision_at_100: r4(cp.mean),
    declined,
    reviewed,
    decline_precision: ratio(declinedFrauds, declined),
    decline_recall: ratio(declinedFrauds, frauds),
    false_decline_rate: ratio(declined - declinedFrauds, legit),
    review_rate: ratio(reviewed, rows.length),
  };
}

export interface ChallengerComparison {
  version: string;
  /** The challenger on the labelled rows it scored (and whose ruleset was found). */
  challenger: ModelFigures;
  /** The champion on exactly those rows (where it has a score too): the like-for-like column. */
  champion_same_rows: ModelFigures;
}

export interface ComparisonFigures {
  /** The champion on every labelled row with a champion score. */
  champion: ModelFigures;
  /** One per challenger version seen, most rows first. */
  challengers: ChallengerComparison[];
  excluded: {
    /** Labelled rows without a champion score (degraded decisions): not in the champion's columns. */
    champion_without_score: number;
    /** Labelled rows without a challenger score: not in any challenger column. */
    challenger_without_score: number;
    /** Labelled rows with a challenger score whose ruleset version was not found (no thresholds): not in its column. */
    challenger_ruleset_unknown: number;
  };
}

/** Champion and challenger(s) side by side over labelled decisions. */
export function compareModels(rows: readonly LabelledDecision[], k = 100): ComparisonFigures {
  const champion: Scored[] = [];
  const byVersion = new Map<string, { challenger: Scored[]; champion: Scored[] }>();
  let noChampion = 0,
    noChallenger = 0,
    unknownRuleset = 0;
  for (const r of rows) {
    const base = { time: r.time, card: r.card, fraud: r.fraud };
    const c = r.champion;
    const champ = c.score === null ? null : { ...base, version: c.version, score: c.score, outcome: c.outcome };
    if (champ) champion.push(champ);
    else noChampion++;
    const ch = r.challenger;
    if (!ch) {
      noChallenger++;
      continue;
    }
    if (ch.outcome === null) {
      unknownRuleset++;
      continue;
    }
    let side = byVersion.get(ch.version);
    if (!side) byVersion.set(ch.version, (side = { challenger: [], champion: [] }));
    side.challenger.push({ ...base, version: ch.version, score: ch.score, outcome: ch.outcome });
    if (champ) side.champion.push(champ);
  }
  return {
    champion: modelFigures(champion, k),
    challengers: [...byVersion.entries()]
      .sort((a, b) => b[1].challenger.length - a[1].challenger.length || a[0].localeCompare(b[0]))
      .map(([version, s]) => ({
        version,
        challenger: modelFigures(s.challenger, k),
        champion_same_rows: modelFigures(s.champion, k),
      })),
    excluded: {
      champion_without_score: noChampion,
      challenger_without_score: noChallenger,
      challenger_ruleset_unknown: unknownRuleset,
    },
  };
}
