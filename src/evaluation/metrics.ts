/**
 * Fraud-detection metrics as the handbook (Le Borgne et al., ch. 4) and scikit-learn define
 * them: AUC ROC (ties averaged), average precision (step-wise, ties grouped as sklearn's
 * average_precision_score), and card precision@k with cards detected on earlier days removed.
 */

/** Area under the ROC curve via the Mann-Whitney statistic with average ranks for ties. NaN if one class is absent. */
export function aucRoc(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number {
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0,
    rankSumPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (labels[idx[k]!]) {
        pos++;
        rankSumPos += avgRank;
      }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Precision-recall points at each distinct score threshold, highest threshold first. */
export function precisionRecallCurve(
  scores: ArrayLike<number>,
  labels: ArrayLike<number | boolean>,
): { threshold: number; precision: number; recall: number }[] {
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let totalPos = 0;
  for (let i = 0; i < n; i++) if (labels[i]) totalPos++;
  const out: { threshold: number; precision: number; recall: number }[] = [];
  let tp = 0,
    fp = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    for (let k = i; k <= j; k++) {
      if (labels[idx[k]!]) tp++;
      else fp++;
    }
    out.push({ threshold: scores[idx[i]!]!, precision: tp / (tp + fp), recall: totalPos ? tp / totalPos : NaN });
    i = j + 1;
  }
  return out;
}

/** Average precision: sum over thresholds of (R_n − R_{n−1}) · P_n. NaN without positives. */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number {
  const curve = precisionRecallCurve(scores, labels);
  let ap = 0,
    prevRecall = 0;
  for (const p of curve) {
    ap += (p.recall - prevRecall) * p.precision;
    prevRecall = p.recall;
  }
  return curve.length && Number.isFinite(prevRecall) ? ap : NaN;
}

export interface ScoredTx {
  /** UTC day index or date string: transactions are grouped by it. */
  day: string;
  card: string;
  score: number;
  fraud: boolean;
}

/**
 * Card precision@k (handbook ch. 4.2): per day, each card's risk is its highest score and it is
 * compromised if any of its transactions that day is fraud; the k riskiest cards are
 * inspected and precision is the share of compromised among them. Cards found compromised on
 * earlier days are removed from later days. Mean over days (days in order).
 */
export function cardPrecisionAtK(
  txs: readonly ScoredTx[],
  k = 100,
): { mean: number; perDay: { day: string; precision: number }[] } {
  const days = new Map<string, Map<string, { score: number; fraud: boolean }>>();
  for (const t of txs) {
    let cards = days.get(t.day);
    if (!cards) days.set(t.day, (cards = new Map()));
    const c = cards.get(t.card);
    if (!c) cards.set(t.card, { score: t.score, fraud: t.fraud });
    else {
      c.score = Math.max(c.score, t.score);
      c.fraud ||= t.fraud;
    }
  }
  const detected = new Set<string>();
  const perDay: { day: string; precision: number }[] = [];
  for (const day of [...days.keys()].sort()) {
    const ranked = [...days.get(day)!.entries()]
      .filter(([card]) => !detected.has(card))
      .sort((a, b) => b[1].score - a[1].score)
      .slice(0, k);
    let hits = 0;
    for (const [card, c] of ranked)
      if (c.fraud) {
        hits++;
        detected.add(card);
      }
    perDay.push({ day, precision: hits / k });
  }
  const mean = perDay.length ? perDay.reduce((s, d) => s + d.precision, 0) / perDay.length : NaN;
  return { mean, perDay };
}

/** Precision and recall of a set of flagged transactions. */
export function precisionRecall(
  flags: ArrayLike<boolean>,
  labels: ArrayLike<number | boolean>,
): { precision: number; recall: number; flagged: number } {
  let tp = 0,
    fp = 0,
    pos = 0;
  for (let i = 0; i < flags.length; i++) {
    if (labels[i]) pos++;
    if (flags[i]) {
      if (labels[i]) tp++;
      else fp++;
    }
  }
  return { precision: tp + fp ? tp / (tp + fp) : NaN, recall: pos ? tp / pos : NaN, flagged: tp + fp };
}
