/**
 * `replay` as a library: a history through the embedded decision engine (in-memory features,
 * labels after their delay, decided_time = event_time so that a replay is reproducible byte for
 * byte), each decision handed to the caller, and the labelled decisions of an evaluation window
 * collected for the report (src/evaluation/report.ts), without the cards already known
 * compromised when asked (the handbook's test sets, Le Borgne et al., ch. 3.4).
 */
import type { HistoryRecord } from '../../events/history/index.js';
import {
  evaluate,
  excludeKnownCompromised,
  firstFraudByCard,
  type EvalRow,
  type EvaluationReport,
  type ExclusionSummary,
} from '../../evaluation/report.js';
import { DAY_MS } from '../../events/time.js';
import { FEATURE_CSV_HEADER, featureCsvRow } from '../../features/csv.js';
import { interleaveLabels } from '../../features/label-feed.js';
import { MemoryFeatureStore } from '../../features/memory-store.js';
import type { DriftCounts, DriftReport } from '../../models/drift/index.js';
import type { Scorer } from '../../models/scorer.js';
import { DecisionEngine, type RulesetSource } from '../decision/engine.js';
import { replayBatches, type ReplayedDecision } from './replay.js';

export interface EvaluatedReplayOptions {
  records: readonly HistoryRecord[];
  scorer: Scorer | null;
  rules: RulesetSource;
  labelDelayDays: number;
  batchSize: number;
  /** The evaluation window [from, to) in epoch ms; null: open. */
  window: { from: number | null; to: number | null };
  /** Drop from the evaluation the cards known compromised, counting frauds from `since` (null: the whole history). */
  knownCompromised: { since: number | null } | null;
  /** Each decision with its served vector, in order; absent: only the evaluation is wanted (the replay stops at the window's end). */
  onDecision?: (r: ReplayedDecision) => Promise<void>;
  /** Bin counters of the model's drift reference: the window's scored decisions are counted for the report's PSIs. */
  drift?: DriftCounts | null;
  /** The decisions carry the model's top factors (default: when `onDecision` is given; `replay` asks only with --output). */
  factors?: boolean;
}

export interface EvaluatedReplay {
  decided: number;
  /** The window's labelled, scored decisions after exclusions. */
  rows: EvalRow[];
  excluded: ExclusionSummary | null;
  /** PSI of the window's score and features against the training window; null without a reference. */
  drift: DriftReport | null;
}

/** The default start of the known-compromised frauds: the window's start minus the label delay minus 7 days (the handbook's one-week training set). */
export function defaultKnownCompromisedSince(evalFrom: number | null, labelDelayDays: number): number | null {
  return evalFrom === null ? null : evalFrom - (labelDelayDays + 7) * DAY_MS;
}

/**
 * The known-compromised exclusion of an evaluation starting at `evalFrom` (null: open): on when
 * `exclude`, or when it is undefined and the window has a start; frauds counted from `since`
 * (null: the whole history; undefined: defaultKnownCompromisedSince). Null: no exclusion.
 */
export function knownCompromisedOf(
  evalFrom: number | null,
  labelDelayDays: number,
  o: { exclude?: boolean; since?: number | null },
): { since: number | null } | null {
  if (!(o.exclude ?? evalFrom !== null)) return null;
  return { since: o.since === undefined ? defaultKnownCompromisedSince(evalFrom, labelDelayDays) : o.since };
}

/**
 * The `onDecision` of a replay writing each decision as a JSON line to `decisions` (without its
 * latency) and the vector served as a CSV row to `features` (its header written first); undefined
 * when neither is given.
 */
export async function decisionOutputs(
  decisions: { write(text: string): Promise<void> } | null,
  features: { write(text: string): Promise<void> } | null,
): Promise<EvaluatedReplayOptions['onDecision']> {
  await features?.write(FEATURE_CSV_HEADER);
  if (!decisions && !features) return undefined;
  return async (r) => {
    await decisions?.write(JSON.stringify({ ...r.decision, engine_latency_ms: undefined }) + '\n');
    await features?.write(featureCsvRow(r.decision.auth_id, r.vector));
  };
}

export async function replayEvaluated(o: EvaluatedReplayOptions): Promise<EvaluatedReplay> {
  const { from, to } = o.window;
  const firstFraud = o.knownCompromised
    ? firstFraudByCard(
        o.records.map((r) => ({ card: r.event.card_token, time: r.event.event_time, fraud: r.fraud })),
        o.knownCompromised.since,
      )
    : null;
  // Only a report is asked for: what comes after the evaluation window changes nothing in it.
  const records = to !== null && !o.onDecision ? o.records.filter((r) => r.event.event_time < to) : o.records;
  const store = new MemoryFeatureStore();
  const inWindow = (t: number): boolean => (from === null || t >= from) && (to === null || t < to);
  const counts = o.drift;
  const engine = new DecisionEngine({
    store,
    scorer: o.scorer,
    rules: o.rules,
    clock: (ev) => ev.event_time,
    factors: o.factors ?? o.onDecision !== undefined,
    decisionFeatures: o.onDecision !== undefined,
    // The window's decisions, binned with the model's own float32 scores (the decisions' are rounded).
    ...(counts && {
      drift: {
        observe(vectors, scores, events, rows) {
          for (let i = 0; i < events.length; i++)
            if (inWindow(events[i]!.event_time)) counts.addRow(rows, i, scores[i]!);
        },
      },
    }),
  });
  const rows: EvalRow[] = [];
  let decided = 0;
  const feed = interleaveLabels(records, o.labelDelayDays);
  for await (const batch of replayBatches(engine, store, feed, o.batchSize)) {
    for (const r of batch) {
      decided++;
      if (o.onDecision) await o.onDecision(r);
      const d = r.decision;
      const t = r.event.event_time;
      if (r.fraud !== null && d.score !== null && inWindow(t)) {
        rows.push({ time: t, card: r.event.card_token, score: d.score, fraud: r.fraud, outcome: d.outcome });
      }
    }
  }
  await store.close();
  const drift = o.drift ? o.drift.report() : null;
  if (!firstFraud || !o.knownCompromised) return { decided, rows, excluded: null, drift };
  const kept = excludeKnownCompromised(rows, firstFraud, {
    delayMs: o.labelDelayDays * DAY_MS,
    since: o.knownCompromised.since,
  });
  return { decided, rows: kept.rows, excluded: kept.summary, drift };
}

/** The evaluation of a replay and, when the model has a drift reference, the window's PSIs. */
export type ReplayReport = EvaluationReport & { drift?: DriftReport };

/** The evaluation report of a replay; null without evaluated rows. */
export function replayReport(
  r: EvaluatedReplay,
  window: { from: string | null; to: string | null },
): ReplayReport | null {
  if (!r.rows.length) return null;
  const report = evaluate(r.rows, window, r.excluded);
  return r.drift ? { ...report, drift: r.drift } : report;
}
