/**
 * Parameters of a simulation. The defaults are those of the handbook's reference dataset
 * (Le Borgne et al., "Reproducible Machine Learning for Credit Card Fraud Detection", ch. 3.2).
 */
import { SECONDS_PER_DAY } from '../events/time.js';

export interface SimulationOptions {
  customers?: number;
  terminals?: number;
  days?: number;
  /** First day, `YYYY-MM-DD` (UTC). */
  start?: string;
  seed?: number;
  /** Radius of the disc around a customer's location holding the terminals it uses. */
  radius?: number;
  /** Generate the richer fields (card tokens, merchants, channels, devices…). Default true. */
  enrich?: boolean;
}

export type ResolvedSimulationOptions = Required<SimulationOptions>;

export const DEFAULT_SIMULATION_OPTIONS: ResolvedSimulationOptions = {
  customers: 5000,
  terminals: 10000,
  days: 183,
  start: '2018-04-01',
  seed: 0,
  radius: 5,
  enrich: true,
};

/** Fraud-scenario parameters of the handbook. */
export const FRAUD_PARAMS = {
  /** Scenario 1: every transaction above this amount (major units) is fraud. */
  amountThreshold: 220,
  /** Scenario 2: terminals compromised per day, and for how many days. */
  terminalsPerDay: 2,
  terminalDays: 28,
  /** Scenario 3: customers compromised per day, for how many days, and the share and amount factor of their frauds. */
  customersPerDay: 3,
  customerDays: 14,
  customerFraudShare: 1 / 3,
  customerAmountFactor: 5,
} as const;

/** Validates options and fills in defaults; throws an Error naming the bad option. */
export function resolveOptions(opts: SimulationOptions = {}): ResolvedSimulationOptions {
  const o: ResolvedSimulationOptions = { ...DEFAULT_SIMULATION_OPTIONS };
  for (const [k, v] of Object.entries(opts)) {
    if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  }
  const int = (name: keyof SimulationOptions, min: number): void => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new Error(`simulation option '${name}' must be an integer >= ${min}, got ${String(v)}`);
    }
  };
  int('customers', 0);
  int('terminals', 0);
  int('days', 0);
  int('seed', 0);
  if (o.seed > Number.MAX_SAFE_INTEGER) throw new Error(`simulation option 'seed' is too large`);
  if (typeof o.radius !== 'number' || !Number.isFinite(o.radius) || o.radius < 0) {
    throw new Error(`simulation option 'radius' must be a number >= 0, got ${String(o.radius)}`);
  }
  startMs(o.start); // validates
  if (o.days * SECONDS_PER_DAY >= 2 ** 32) throw new Error(`simulation option 'days' is too large`);
  return o;
}

/** Epoch milliseconds of a `YYYY-MM-DD` date at 00:00 UTC. */
export function startMs(start: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(start);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== start) {
    throw new Error(`simulation option 'start' must be a date YYYY-MM-DD, got '${start}'`);
  }
  return ms;
}
