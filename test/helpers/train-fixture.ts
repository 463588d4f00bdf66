/**
 * A small synthetic training set for the trainer round trip: a features CSV in the engine's
 * format (auth_id, then FEATURE_NAMES in order; empty cell = missing) and a labels CSV in the
 * simulator's format (transaction_id, tx_datetime, ..., tx_fraud, ...). Deterministic (seeded).
 *
 * Frauds differ from legit transactions on a handful of features (amount, night, terminal risk,
 * new terminal/device, velocity), with noise and overlap, so a model learns something without
 * the task being trivial. `syntheticRows` makes fresh rows of either kind for scoring.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_NAMES, type FeatureName } from '../../src/features/names.js';
import { DAY_MS } from '../../src/events/time.js';

export interface TrainFixture {
  featuresCsv: string;
  labelsCsv: string;
  /** Window covering every generated transaction (ISO dates, to exclusive). */
  trainFrom: string;
  trainTo: string;
  nRows: number;
  nFrauds: number;
}

export interface FixtureOptions {
  days?: number;
  txPerDay?: number;
  fraudRate?: number;
  seed?: number;
  start?: string;
}

/** mulberry32: small, seedable, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

const poisson = (r: () => number, mean: number): number => {
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= r();
  } while (p > l);
  return k - 1;
};

/** One feature vector, in FEATURE_NAMES order; null = missing. */
export function syntheticRow(r: () => number, fraud: boolean, when: Date): (number | null)[] {
  const day = when.getUTCDay();
  const hour = when.getUTCHours();
  const avg30 = Math.exp(3.5 + 0.6 * normal(r));
  const amount = fraud && r() < 0.4 ? avg30 * (2 + 4 * r()) : avg30 * Math.exp(0.4 * normal(r));
  const nb1d = poisson(r, fraud ? 2.5 : 1.5) + 1;
  const terminalRisk = (): number | null => {
    if (r() < 0.1) return null; // terminal too new: no known label yet
    return fraud && r() < 0.3 ? 0.1 + 0.6 * r() : r() < 0.1 ? 0.2 * r() : 0;
  };
  const v: Record<FeatureName, number | null> = {
    tx_amount: Math.round(amount * 100) / 100,
    tx_during_weekend: day === 0 || day === 6 ? 1 : 0,
    tx_during_night: (fraud && r() < 0.3) || hour <= 5 ? 1 : 0,
    customer_nb_tx_1d: nb1d,
    customer_avg_amount_1d: avg30 * Math.exp(0.3 * normal(r)) * (fraud ? 1.3 : 1),
    customer_nb_tx_7d: nb1d + poisson(r, 6),
    customer_avg_amount_7d: avg30 * Math.exp(0.2 * normal(r)),
    customer_nb_tx_30d: nb1d + poisson(r, 30),
    customer_avg_amount_30d: avg30,
    terminal_nb_tx_1d: poisson(r, 8),
    terminal_risk_1d: terminalRisk(),
    terminal_nb_tx_7d: poisson(r, 50),
    terminal_risk_7d: terminalRisk(),
    terminal_nb_tx_30d: poisson(r, 200),
    terminal_risk_30d: terminalRisk(),
    customer_amount_over_avg_30d: amount / avg30,
    customer_secs_since_prev_tx: r() < 0.05 ? null : Math.round((fraud ? 3_000 : 20_000) * Math.exp(1.5 * normal(r))),
    customer_nb_terminals_1d: Math.min(nb1d, poisson(r, fraud ? 1.5 : 1) + 1),
    customer_nb_merchants_1d: Math.min(nb1d, poisson(r, fraud ? 1.5 : 1) + 1),
    customer_terminal_seen_before: (fraud ? r() < 0.45 : r() < 0.8) ? 1 : 0,
    customer_device_seen_before: r() < 0.3 ? null : (fraud ? r() < 0.5 : r() < 0.9) ? 1 : 0,
    terminal_nb_tx_1h: poisson(r, fraud ? 1.8 : 1),
    card_nb_tx_1d: nb1d,
    card_nb_tx_7d: nb1d + poisson(r, 6),
    tx_is_ecom: (fraud ? r() < 0.45 : r() < 0.25) ? 1 : 0,
    terminal_last_known_fraud: (fraud ? r() < 0.3 : r() < 0.01) ? 1 : 0,
    terminal_frauds_last3_known: fraud && r() < 0.3 ? 1 + Math.floor(3 * r()) : r() < 0.02 ? 1 : 0,
    // null when the terminal has no known fraud (most rows); frauds' streaks are younger
    terminal_known_fraud_age: (fraud ? r() < 0.4 : r() < 0.03) ? 7 + (fraud ? 10 : 30) * r() : null,
  };
  return FEATURE_NAMES.map((n) => v[n]);
}

/** n fresh rows of one kind, on a weekday afternoon (time only feeds two features). */
export function syntheticRows(kind: 'fraud' | 'legit', n: number, seed = 7): (number | null)[][] {
  const r = rng(seed);
  const when = new Date('2018-06-06T14:00:00Z');
  return Array.from({ length: n }, () => syntheticRow(r, kind === 'fraud', when));
}

const cell = (v: number | null): string => (v === null ? '' : String(v));

/** Writes features.csv and labels.csv into dir. Defaults: 30 days × 150 tx, 4% fraud. */
export function writeTrainFixture(dir: string, opts: FixtureOptions = {}): TrainFixture {
  const days = opts.days ?? 30;
  const perDay = opts.txPerDay ?? 150;
  const fraudRate = opts.fraudRate ?? 0.04;
  const r = rng(opts.seed ?? 1);
  const start = Date.parse(`${opts.start ?? '2018-04-01'}T00:00:00Z`);

  const features = [['auth_id', ...FEATURE_NAMES].join(',')];
  const labels = ['transaction_id,tx_datetime,customer_id,terminal_id,tx_amount,tx_fraud,tx_fraud_scenario'];
  let nFrauds = 0;
  let id = 0;
  for (let d = 0; d < days; d++) {
    for (let i = 0; i < perDay; i++) {
      const when = new Date(start + d * DAY_MS + Math.floor(r() * DAY_MS));
      const fraud = r() < fraudRate;
      nFrauds += fraud ? 1 : 0;
      const row = syntheticRow(r, fraud, when);
      const txId = String(id++);
      features.push([txId, ...row.map(cell)].join(','));
      const ts = when.toISOString().replace(/\.\d{3}Z$/, 'Z');
      labels.push(
        [
          txId,
          ts,
          Math.floor(r() * 500),
          Math.floor(r() * 1000),
          cell(row[0] ?? null),
          fraud ? 1 : 0,
          fraud ? 1 : 0,
        ].join(','),
      );
    }
  }
  // A transaction the engine logged but whose label is not known: the trainer ignores it.
  features.push([`unlabelled-1`, ...syntheticRow(r, false, new Date(start)).map(cell)].join(','));

  const featuresCsv = join(dir, 'features.csv');
  const labelsCsv = join(dir, 'labels.csv');
  writeFileSync(featuresCsv, `${features.join('\n')}\n`);
  writeFileSync(labelsCsv, `${labels.join('\n')}\n`);
  const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
  return {
    featuresCsv,
    labelsCsv,
    trainFrom: iso(start),
    trainTo: iso(start + days * DAY_MS),
    nRows: days * perDay,
    nFrauds,
  };
}
