/**
 * Training data from the audit trail (`train --from-audit`): the feature vectors the engine
 * served (decision_audit.features) with the labels that arrived (label_audit), turned into the
 * same two CSV files as a history file gives (./csv.ts), so the same trainer fits them.
 *
 * The label rule, the trainer's label delay applied to what production actually knew at a
 * cut-off C (the moment the training stands at, default now):
 *   - a decision at event time t is labelled once its label window has passed: t + delay <= C;
 *     the others are left out (their chargeback may still come), never counted as legitimate;
 *   - a labelled decision is fraud if any label that arrived by C (label_time <= C) says fraud
 *     (a chargeback or an analyst verdict), else legitimate (no label, or only "legitimate"
 *     verdicts); a label that arrives after C is not known to the training;
 *   - a fraud label that arrived early does not make a decision whose window is still open
 *     trainable: keeping those frauds while leaving out their legitimate neighbours would
 *     inflate the fraud rate of the window's last days.
 * Degraded decisions (features unavailable, event too old: `degraded` not empty) served a vector
 * that is not the population the model scores, and a vector that lacks one of the engine's
 * features was served by an engine with other features: both are left out and counted.
 *
 * A declined payment never happens, so it never draws a chargeback: for a declined decision,
 * "no label" is no evidence that it was legitimate (most are the frauds the engine stopped).
 * A declined decision without any label by the cut-off is therefore left out (counted as
 * `declined_unlabelled`), never trained as legitimate; one with a label trains by it (a fraud
 * label as fraud, an analyst's "legitimate" verdict as legitimate, counted in
 * `declined_legitimate`).
 */
import { FEATURE_CSV_HEADER, featureCsvRow, LABEL_CSV_HEADER, labelCsvRow } from './csv.js';
import { FEATURE_NAMES } from './names.js';
import type { FeatureVector } from './store.js';

/** One decision of the audit trail with what its labels said by the cut-off (src/sinks/audit/training-rows.ts). */
export interface AuditTrainingRow {
  auth_id: string;
  /** Epoch ms. */
  event_time: number;
  /** The decision's outcome (APPROVE, REVIEW, DECLINE). */
  outcome: string;
  degraded: readonly string[];
  /** The served vector, feature name → value (null: missing). */
  features: unknown;
  /** Labels with label_time <= the cut-off: true if any says fraud, false if all say legitimate; null: none. */
  fraud: boolean | null;
}

export interface LabelRule {
  /** The cut-off C, epoch ms. */
  cutoffMs: number;
  /** The label delay, ms. */
  delayMs: number;
}

/** Why a decision is not trained on, in the order the reasons are checked (a row counts under the first). */
export const EXCLUSIONS = ['label_window_open', 'degraded', 'incomplete_vector', 'declined_unlabelled'] as const;
export type Exclusion = (typeof EXCLUSIONS)[number];

export type Classified =
  { kind: 'train'; vector: FeatureVector; fraud: boolean } | { kind: 'excluded'; reason: Exclusion };

/** True when a decision at `eventTime` has had its whole label window by the cut-off. */
export function labelWindowPassed(eventTime: number, rule: LabelRule): boolean {
  return eventTime + rule.delayMs <= rule.cutoffMs;
}

/**
 * The stored features as a vector in the engine's order, or null when one of the engine's
 * features is absent or not a finite number / null.
 */
export function servedVector(features: unknown): FeatureVector | null {
  if (typeof features !== 'object' || features === null || Array.isArray(features)) return null;
  const rec = features as Record<string, unknown>;
  const out: FeatureVector = new Array<number | null>(FEATURE_NAMES.length);
  for (let i = 0; i < FEATURE_NAMES.length; i++) {
    const v = rec[FEATURE_NAMES[i]!];
    if (v === null) out[i] = null;
    else if (typeof v === 'number' && Number.isFinite(v)) out[i] = v;
    else return null;
  }
  return out;
}

/** The label rule and the exclusions for one decision. */
export function classifyAuditRow(row: AuditTrainingRow, rule: LabelRule): Classified {
  if (!labelWindowPassed(row.event_time, rule)) return { kind: 'excluded', reason: 'label_window_open' };
  if (row.degraded.length > 0) return { kind: 'excluded', reason: 'degraded' };
  const vector = servedVector(row.features);
  if (!vector) return { kind: 'excluded', reason: 'incomplete_vector' };
  if (row.outcome === 'DECLINE' && row.fraud === null) return { kind: 'excluded', reason: 'declined_unlabelled' };
  return { kind: 'train', vector, fraud: row.fraud === true };
}

export interface AuditTrainingCounts {
  /** Decisions read from the window. */
  decisions: number;
  /** Written to the CSV files (trained on). */
  rows: number;
  frauds: number;
  /** Of the legitimate rows, those the engine declined: legitimate by a label (an analyst's verdict). */
  declined_legitimate: number;
  excluded: Record<Exclusion, number>;
}

interface Sink {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Writes the trainable decisions of `batches` to `features` (the feature CSV, header and column
 * order of ./csv.ts) and their labels to `labels`, one chunk per batch, each file ended after.
 */
export async function writeAuditTrainingCsv(
  batches: AsyncIterable<readonly AuditTrainingRow[]>,
  rule: LabelRule,
  features: Sink,
  labels: Sink,
): Promise<AuditTrainingCounts> {
  const counts: AuditTrainingCounts = {
    decisions: 0,
    rows: 0,
    frauds: 0,
    declined_legitimate: 0,
    excluded: { label_window_open: 0, degraded: 0, incomplete_vector: 0, declined_unlabelled: 0 },
  };
  await features.write(FEATURE_CSV_HEADER);
  await labels.write(LABEL_CSV_HEADER);
  for await (const batch of batches) {
    let f = '';
    let l = '';
    for (const row of batch) {
      counts.decisions++;
      const c = classifyAuditRow(row, rule);
      if (c.kind === 'excluded') {
        counts.excluded[c.reason]++;
        continue;
      }
      f += featureCsvRow(row.auth_id, c.vector);
      l += labelCsvRow(row.auth_id, row.event_time, c.fraud);
      counts.rows++;
      if (c.fraud) counts.frauds++;
      else if (row.outcome === 'DECLINE') counts.declined_legitimate++;
    }
    if (f) {
      await features.write(f);
      await labels.write(l);
    }
  }
  await features.close();
  await labels.close();
  return counts;
}
