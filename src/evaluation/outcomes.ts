/**
 * The outcomes a merchant feels, from decided and labelled transactions: how many good
 * customers were declined (the false-decline rate, declined legitimate / all legitimate: the
 * figure Stripe Radar publishes), how many payments wait for a person (review rate), and where
 * the frauds went (declined, reviewed, approved). Decline precision and recall are in the
 * report beside it (report.ts); the share of frauds declined is the decline recall.
 */
import type { Outcome } from '../events/types.js';

export interface MerchantOutcomes {
  legitimate: number;
  frauds: number;
  /** Legitimate payments declined. */
  false_declines: number;
  /** false_declines / legitimate; NaN without legitimate payments. */
  false_decline_rate: number;
  /** DECLINE / all payments. */
  decline_rate: number;
  /** REVIEW / all payments: what the analysts must look at. */
  review_rate: number;
  /** Legitimate payments sent to review / all legitimate (the customers kept waiting). */
  legitimate_review_rate: number;
  /** Shares of the frauds declined, reviewed and approved (they sum to 1). */
  frauds_declined: number;
  frauds_reviewed: number;
  frauds_approved: number;
}

export function merchantOutcomes(rows: Iterable<{ fraud: boolean; outcome: Outcome }>): MerchantOutcomes {
  const legit: Record<Outcome, number> = { APPROVE: 0, REVIEW: 0, DECLINE: 0 };
  const fraud: Record<Outcome, number> = { APPROVE: 0, REVIEW: 0, DECLINE: 0 };
  for (const r of rows) (r.fraud ? fraud : legit)[r.outcome]++;
  const nLegit = legit.APPROVE + legit.REVIEW + legit.DECLINE;
  const nFraud = fraud.APPROVE + fraud.REVIEW + fraud.DECLINE;
  const n = nLegit + nFraud;
  const share = (k: number, of: number) => (of ? k / of : NaN);
  return {
    legitimate: nLegit,
    frauds: nFraud,
    false_declines: legit.DECLINE,
    false_decline_rate: share(legit.DECLINE, nLegit),
    decline_rate: share(legit.DECLINE + fraud.DECLINE, n),
    review_rate: share(legit.REVIEW + fraud.REVIEW, n),
    legitimate_review_rate: share(legit.REVIEW, nLegit),
    frauds_declined: share(fraud.DECLINE, nFraud),
    frauds_reviewed: share(fraud.REVIEW, nFraud),
    frauds_approved: share(fraud.APPROVE, nFraud),
  };
}

/** The same figures rounded for a report: rates to 1e-6 (a false-decline rate is read in hundredths of a percent); NaN becomes null. */
export function roundOutcomes(o: MerchantOutcomes): MerchantOutcomes {
  const r6 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : null) as number;
  return {
    ...o,
    false_decline_rate: r6(o.false_decline_rate),
    decline_rate: r6(o.decline_rate),
    review_rate: r6(o.review_rate),
    legitimate_review_rate: r6(o.legitimate_review_rate),
    frauds_declined: r6(o.frauds_declined),
    frauds_reviewed: r6(o.frauds_reviewed),
    frauds_approved: r6(o.frauds_approved),
  };
}

/** One line for a person: the false-decline rate to three decimals of a percent (the target is 0.1 %). */
export function outcomesText(o: MerchantOutcomes): string {
  const pct = (x: number, d = 1) => (x === null || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(d)}%`);
  return (
    `  merchant outcomes: false-decline rate ${pct(o.false_decline_rate, 3)} (${o.false_declines} of ${o.legitimate} legitimate)` +
    `   review rate ${pct(o.review_rate, 2)}   frauds declined ${pct(o.frauds_declined)}, reviewed ${pct(o.frauds_reviewed)}, approved ${pct(o.frauds_approved)}`
  );
}
