/**
 * Every feature, defined once: what it means (for a risk analyst reading this file) and how it
 * is computed (the TypeScript reference both stores follow).
 *
 * Semantics (Le Borgne et al., "Reproducible Machine Learning for Credit Card Fraud Detection",
 * ch. 3.3, extended):
 *  - A window of n on an event at time t is (t − n, t]: the lower bound excluded (a transaction
 *    exactly one day before is not in the 1-day window), the current transaction included.
 *  - Order of transactions of one entity: by event_time, then, at the same millisecond, by the
 *    order in which they were recorded (processing order; a redelivery keeps its first place).
 *    "Prior" transactions of an event are those of the same entity before it in that order. A
 *    window "including the current one" is the prior transactions in the window plus the event
 *    itself; so a redelivered event gets the same vector, and two events at the same millisecond
 *    see each other only one way (the first recorded is the second's previous transaction).
 *  - Terminal windows are delayed: (t − 7d − n, t − 7d] (the chargeback delay). Their risk is
 *    the share of transactions of that window known as fraud *now* (labels count from the moment
 *    `applyLabels` records them; a `fraud=false` label removes an earlier `fraud=true`).
 *  - Amounts are integers in minor units; averages and ratios are computed here from integer
 *    sums, so both stores give bit-identical doubles.
 *  - Idempotency: an authorization already recorded (terminal and card: same auth_id; customer:
 *    same auth_id at the same event_time ms) is not recorded again, and keeps its position.
 *  - Retention: each entity keeps what its longest window needs (customer 30d, terminal 37d =
 *    30d + 7d delay, card 7d) relative to the newest event of that entity; older entries are
 *    dropped. Nothing here looks further back, so retention never changes a value for events
 *    that arrive in time order per entity.
 */
import type { AuthorizationEvent } from '../events/types.js';
import { MINOR_PER_MAJOR } from '../events/types.js';
import { DAY_MS, HOUR_MS, SECOND_MS } from '../events/time.js';
import { FEATURE_NAMES, type FeatureName } from './names.js';
import type { FeatureVector } from './store.js';

/** The chargeback delay of the terminal risk windows. */
export const TERMINAL_DELAY_MS = 7 * DAY_MS;

/** How far back each entity's history is kept (relative to its newest event). */
export const RETENTION_MS = {
  customer: 30 * DAY_MS,
  terminal: 37 * DAY_MS,
  card: 7 * DAY_MS,
} as const;

/**
 * Most transactions kept per entity, on top of the retention: a bound on what one producer can
 * make an entity cost in Redis (a card with a million authorizations a day). Far above real
 * traffic (a card with 5,000 authorizations in 7 days is an attack or a test, a terminal with
 * 200,000 in 37 days a very busy one); past it the oldest entries are dropped, so counts saturate
 * near the cap. Both stores apply it identically, right after the retention trim.
 */
export const MAX_HISTORY = {
  customer: 20_000,
  terminal: 200_000,
  card: 5_000,
} as const;

export type HistoryCaps = { customer: number; terminal: number; card: number };

export type Entity = 'tx' | 'customer' | 'terminal' | 'card';

export type Aggregate =
  | 'value' // a field of the event itself
  | 'count' // number of transactions in the window
  | 'mean' // mean amount in the window
  | 'ratio_to_mean' // current amount / mean of the prior transactions in the window
  | 'fraud_ratio' // frauds known now / count, in the delayed window; 0 when empty
  | 'distinct_count' // distinct values of a field in the window
  | 'seen_before' // 1 if a prior transaction in the window has the same value, else 0
  | 'since_previous' // seconds since the previous transaction in the window
  | 'last_is_fraud' // 1 if the latest transaction in the (delayed) window is known as fraud now
  | 'frauds_in_last' // how many of the latest k transactions in the (delayed) window are known as fraud now
  | 'oldest_fraud_age'; // days from the oldest transaction of the (delayed) window known as fraud now to t

/** `binary` is 0/1; `int` a non-negative integer; `float` any double. */
export type FeatureType = 'float' | 'int' | 'binary';

export interface FeatureDefinition {
  name: FeatureName;
  entity: Entity;
  /** Human-readable window, e.g. "(t-1d, t]"; null for a field of the event. */
  window: string | null;
  /** Length of the window in ms; null for a field of the event. */
  windowMs: number | null;
  /** How much the window is shifted back (the label delay); 0 for most. */
  delayMs: number;
  aggregate: Aggregate;
  type: FeatureType;
  /** When the value is null (missing); undefined if it never is. */
  nullWhen?: string;
  description: string;
}

function def(d: FeatureDefinition): FeatureDefinition {
  return Object.freeze(d);
}

const IN = 'incl. current';

/** Where a feature reads: its entity, its window as text and in ms, and how far the window is shifted back. */
type Window = Pick<FeatureDefinition, 'entity' | 'window' | 'windowMs' | 'delayMs'>;

/** A field of the event itself. */
const OF_EVENT: Window = { entity: 'tx', window: null, windowMs: null, delayMs: 0 };

/** The entity's transactions in the last `label` (`ms`), the current one included. */
const upToNow = (entity: Entity, label: string, ms: number): Window => ({
  entity,
  window: `(t-${label}, t] ${IN}`,
  windowMs: ms,
  delayMs: 0,
});

/** The customer's prior transactions in the last 30 days, the current one excluded. */
const PRIOR_30D: Window = { entity: 'customer', window: '(t-30d, t) prior only', windowMs: 30 * DAY_MS, delayMs: 0 };

/** The terminal's transactions in the `label` (`ms`) before the label delay (TERMINAL_DELAY_MS). */
const beforeLabelDelay = (label: string, ms: number): Window => ({
  entity: 'terminal',
  window: `(t-7d-${label}, t-7d]`,
  windowMs: ms,
  delayMs: TERMINAL_DELAY_MS,
});

/** The features in model-input order (must equal FEATURE_NAMES; checked below). */
export const FEATURES: readonly FeatureDefinition[] = Object.freeze([
  def({
    name: 'tx_amount',
    ...OF_EVENT,
    aggregate: 'value',
    type: 'float',
    description: 'Amount in major units (amount_minor / 100).',
  }),
  def({
    name: 'tx_during_weekend',
    ...OF_EVENT,
    aggregate: 'value',
    type: 'binary',
    description: '1 if event_time falls on a Saturday or Sunday (UTC).',
  }),
  def({
    name: 'tx_during_night',
    ...OF_EVENT,
    aggregate: 'value',
    type: 'binary',
    description: '1 if the UTC hour of event_time is 0..6 (hour <= 6).',
  }),
  ...([1, 7, 30] as const).flatMap((n) => [
    def({
      name: `customer_nb_tx_${n}d` as FeatureName,
      ...upToNow('customer', `${n}d`, n * DAY_MS),
      aggregate: 'count',
      type: 'int',
      description: `Number of the customer's transactions in the last ${n} day(s), the current one included.`,
    }),
    def({
      name: `customer_avg_amount_${n}d` as FeatureName,
      ...upToNow('customer', `${n}d`, n * DAY_MS),
      aggregate: 'mean',
      type: 'float',
      description: `Mean amount (major units) of the customer's transactions in the last ${n} day(s), the current one included.`,
    }),
  ]),
  ...([1, 7, 30] as const).flatMap((n) => [
    def({
      name: `terminal_nb_tx_${n}d` as FeatureName,
      ...beforeLabelDelay(`${n}d`, n * DAY_MS),
      aggregate: 'count',
      type: 'int',
      description: `Number of the terminal's transactions in the ${n} day(s) before the 7-day label delay.`,
    }),
    def({
      name: `terminal_risk_${n}d` as FeatureName,
      ...beforeLabelDelay(`${n}d`, n * DAY_MS),
      aggregate: 'fraud_ratio',
      type: 'float',
      description: `Share of the terminal's transactions in (t-7d-${n}d, t-7d] labelled fraud so far (labels applied before this event); 0 when that window is empty.`,
    }),
  ]),
  def({
    name: 'customer_amount_over_avg_30d',
    ...PRIOR_30D,
    aggregate: 'ratio_to_mean',
    type: 'float',
    nullWhen: 'no prior transaction in 30 days, or their mean amount is 0',
    description:
      "Current amount divided by the mean amount of the customer's prior transactions in the last 30 days (current excluded).",
  }),
  def({
    name: 'customer_secs_since_prev_tx',
    ...PRIOR_30D,
    aggregate: 'since_previous',
    type: 'float',
    nullWhen: 'no prior transaction in 30 days',
    description:
      "Seconds since the customer's previous transaction (the latest prior one; 0 for one recorded before it at the same millisecond).",
  }),
  def({
    name: 'customer_nb_terminals_1d',
    ...upToNow('customer', '1d', DAY_MS),
    aggregate: 'distinct_count',
    type: 'int',
    description: 'Distinct terminals the customer used in the last day, the current one included.',
  }),
  def({
    name: 'customer_nb_merchants_1d',
    ...upToNow('customer', '1d', DAY_MS),
    aggregate: 'distinct_count',
    type: 'int',
    description:
      'Distinct merchants the customer paid in the last day, the current one included; transactions without merchant_id are ignored.',
  }),
  def({
    name: 'customer_terminal_seen_before',
    ...PRIOR_30D,
    aggregate: 'seen_before',
    type: 'binary',
    description: '1 if the customer had a prior transaction at this terminal in the last 30 days, else 0.',
  }),
  def({
    name: 'customer_device_seen_before',
    ...PRIOR_30D,
    aggregate: 'seen_before',
    type: 'binary',
    nullWhen: 'the event has no device_id',
    description: '1 if the customer had a prior transaction from this device in the last 30 days, else 0.',
  }),
  def({
    name: 'terminal_nb_tx_1h',
    ...upToNow('terminal', '1h', HOUR_MS),
    aggregate: 'count',
    type: 'int',
    description: "Number of the terminal's transactions in the last hour, the current one included (no delay).",
  }),
  def({
    name: 'card_nb_tx_1d',
    ...upToNow('card', '1d', DAY_MS),
    aggregate: 'count',
    type: 'int',
    description: "Number of the card's (card_token) transactions in the last day, the current one included.",
  }),
  def({
    name: 'card_nb_tx_7d',
    ...upToNow('card', '7d', 7 * DAY_MS),
    aggregate: 'count',
    type: 'int',
    description: "Number of the card's (card_token) transactions in the last 7 days, the current one included.",
  }),
  def({
    name: 'tx_is_ecom',
    ...OF_EVENT,
    aggregate: 'value',
    type: 'binary',
    description: "1 if channel is 'ECOM', else 0.",
  }),
  def({
    name: 'terminal_last_known_fraud',
    ...beforeLabelDelay('30d', 30 * DAY_MS),
    aggregate: 'last_is_fraud',
    type: 'binary',
    description:
      "1 if the terminal's latest transaction in (t-7d-30d, t-7d] is labelled fraud so far, else 0 (also when there is none, like the risk ratios: a terminal without known history must not look different from a clean one, or a cold start reads as risk): a compromised terminal shows at once, where the risk ratios still mix in its older genuine transactions.",
  }),
  def({
    name: 'terminal_frauds_last3_known',
    ...beforeLabelDelay('30d', 30 * DAY_MS),
    aggregate: 'frauds_in_last',
    type: 'int',
    description:
      "How many of the terminal's latest 3 transactions in (t-7d-30d, t-7d] are labelled fraud so far (0 to 3; 0 when there is none).",
  }),
  def({
    name: 'terminal_known_fraud_age',
    ...beforeLabelDelay('30d', 30 * DAY_MS),
    aggregate: 'oldest_fraud_age',
    type: 'float',
    nullWhen: 'no transaction of (t-7d-30d, t-7d] is labelled fraud so far',
    description:
      "Days from the terminal's oldest transaction in (t-7d-30d, t-7d] labelled fraud so far to t (event times, (t - its event_time) / 1 day; 7 to 37): how long the terminal has been showing fraud. A terminal whose compromise has just ended still shows only frauds in its latest labels; the age of its streak tells it from one compromised now.",
  }),
]);

/** Throws if the definitions and FEATURE_NAMES disagree (names or order). */
export function assertDefinitionsMatchNames(defs: readonly { name: string }[] = FEATURES): void {
  const got = defs.map((d) => d.name);
  if (got.length !== FEATURE_NAMES.length || got.some((n, i) => n !== FEATURE_NAMES[i])) {
    throw new Error(
      `feature definitions do not match FEATURE_NAMES (names.ts):\n  defined: ${got.join(',')}\n  names:   ${FEATURE_NAMES.join(',')}`,
    );
  }
}
assertDefinitionsMatchNames();

export const FEATURE_COUNT = FEATURE_NAMES.length;

/** Position of each feature in a vector. */
export const FEATURE_INDEX: Readonly<Record<FeatureName, number>> = Object.freeze(
  Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, i])) as Record<FeatureName, number>,
);

/**
 * A vector as a name → value record: the decision's feature snapshot, encoded as its
 * `feature_values` record. One literal with every name written out (in FEATURE_NAMES order, the
 * type makes it complete and a unit test the order): V8 gives all such objects one shape with the
 * values inside the object. Filled name by name in a loop, the object went to dictionary mode
 * past a dozen properties: ~4 µs per decision instead of ~0.1 µs, and slower to read when encoded.
 */
export function vectorToRecord(vector: FeatureVector): Record<FeatureName, number | null> {
  return {
    tx_amount: vector[0] ?? null,
    tx_during_weekend: vector[1] ?? null,
    tx_during_night: vector[2] ?? null,
    customer_nb_tx_1d: vector[3] ?? null,
    customer_avg_amount_1d: vector[4] ?? null,
    customer_nb_tx_7d: vector[5] ?? null,
    customer_avg_amount_7d: vector[6] ?? null,
    customer_nb_tx_30d: vector[7] ?? null,
    customer_avg_amount_30d: vector[8] ?? null,
    terminal_nb_tx_1d: vector[9] ?? null,
    terminal_risk_1d: vector[10] ?? null,
    terminal_nb_tx_7d: vector[11] ?? null,
    terminal_risk_7d: vector[12] ?? null,
    terminal_nb_tx_30d: vector[13] ?? null,
    terminal_risk_30d: vector[14] ?? null,
    customer_amount_over_avg_30d: vector[15] ?? null,
    customer_secs_since_prev_tx: vector[16] ?? null,
    customer_nb_terminals_1d: vector[17] ?? null,
    customer_nb_merchants_1d: vector[18] ?? null,
    customer_terminal_seen_before: vector[19] ?? null,
    customer_device_seen_before: vector[20] ?? null,
    terminal_nb_tx_1h: vector[21] ?? null,
    card_nb_tx_1d: vector[22] ?? null,
    card_nb_tx_7d: vector[23] ?? null,
    tx_is_ecom: vector[24] ?? null,
    terminal_last_known_fraud: vector[25] ?? null,
    terminal_frauds_last3_known: vector[26] ?? null,
    terminal_known_fraud_age: vector[27] ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// Order of transactions

/**
 * Each recorded transaction has a position `pos = event_time * TIE_SLOTS + rank`, where rank is
 * the number of transactions of the same entity already recorded at the same millisecond (capped
 * at TIE_SLOTS − 1). Positions order an entity's transactions by time, then by recording order;
 * a redelivered transaction keeps its position, so it sees exactly what it saw the first time.
 * It is also the Redis sorted-set score (exact: below 2^53 for event times before year 2248).
 */
export const TIE_SLOTS = 1024;
/** Largest event_time (ms) a position can hold exactly. */
export const MAX_EVENT_TIME = Math.floor(Number.MAX_SAFE_INTEGER / TIE_SLOTS) - 1;

/** Position of a new transaction at time t when `sameMs` are already recorded at that ms. */
export function newPosition(t: number, sameMs: number): number {
  return t * TIE_SLOTS + Math.min(sameMs, TIE_SLOTS - 1);
}
/** The last position of millisecond t (every position of a time <= t is <= this). */
export function lastPosition(t: number): number {
  return t * TIE_SLOTS + (TIE_SLOTS - 1);
}
export function timeOfPosition(pos: number): number {
  return Math.floor(pos / TIE_SLOTS);
}

/** An entry of an entity's history; histories are arrays sorted by pos. */
export interface TxEntry {
  time: number;
  pos: number;
  auth: string;
}

export interface CustomerEntry extends TxEntry {
  amount: number;
  terminal: string;
  merchant: string | null;
  device: string | null;
}

/** Index of the first entry with pos > p. */
export function firstAfter(entries: readonly TxEntry[], p: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.pos > p) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Index of the first entry with pos >= p (= number of entries before p). */
export function firstNotBefore(entries: readonly TxEntry[], p: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.pos >= p) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Number of entries with time > lo and pos < pos: the prior transactions in (lo, t]. */
function countPrior(history: readonly TxEntry[], lo: number, pos: number): number {
  return Math.max(0, firstNotBefore(history, pos) - firstAfter(history, lastPosition(lo)));
}

// ---------------------------------------------------------------------------------------------
// Raw aggregates per entity: what the Redis Lua scripts return, computed here from the history.

/** Customer aggregates. Counts and sums are over *prior* transactions (the current one excluded). */
export interface CustomerAggregates {
  /** Prior transactions and their integer minor-unit amount sums, in (t-1d, t], (t-7d, t], (t-30d, t]. */
  n1d: number;
  sum1d: number;
  n7d: number;
  sum7d: number;
  n30d: number;
  sum30d: number;
  /** event_time of the latest prior transaction in (t-30d, t], or null. */
  prevTime: number | null;
  /** Distinct terminals / non-null merchants in (t-1d, t], the current event included. */
  nbTerminals1d: number;
  nbMerchants1d: number;
  /** 1 if a prior transaction in (t-30d, t] used the same terminal / same non-null device. */
  terminalSeen: 0 | 1;
  deviceSeen: 0 | 1;
}

export interface TerminalAggregates {
  /** Transactions in (t-1h, t], the current one included. */
  nb1h: number;
  /** Transactions in the delayed windows (t-7d-n, t-7d] for n = 1, 7, 30 days. */
  nb1d: number;
  nb7d: number;
  nb30d: number;
  /** Of those, the ones whose auth_id is currently labelled fraud. */
  fraud1d: number;
  fraud7d: number;
  fraud30d: number;
  /** Whether the latest transaction in (t-7d-30d, t-7d] is labelled fraud (0 if there is none). */
  lastFraud: 0 | 1;
  /** Frauds among the latest 3 transactions in (t-7d-30d, t-7d] (0 if there is none). */
  last3Frauds: number;
  /** event_time of the oldest of those counted in fraud30d (null if none). */
  oldestFraudTime: number | null;
}

export interface CardAggregates {
  /** Transactions in (t-1d, t] and (t-7d, t], the current one included. */
  nb1d: number;
  nb7d: number;
}

/**
 * Customer aggregates of `ev` recorded at position `pos`, from the customer's history (sorted
 * by pos; entries at or after pos are ignored).
 */
export function aggregateCustomer(
  history: readonly CustomerEntry[],
  ev: AuthorizationEvent,
  pos: number,
): CustomerAggregates {
  const t = ev.event_time;
  const end = firstNotBefore(history, pos);
  const start = firstAfter(history, lastPosition(t - 30 * DAY_MS));
  const lo7 = t - 7 * DAY_MS;
  const lo1 = t - DAY_MS;
  const agg: CustomerAggregates = {
    n1d: 0,
    sum1d: 0,
    n7d: 0,
    sum7d: 0,
    n30d: 0,
    sum30d: 0,
    prevTime: null,
    nbTerminals1d: 0,
    nbMerchants1d: 0,
    terminalSeen: 0,
    deviceSeen: 0,
  };
  // Distinct values of the last day: a handful, so a reused array beats a Set (no hashing, no allocation).
  const terminals = DISTINCT_TERMINALS;
  const merchants = DISTINCT_MERCHANTS;
  terminals.length = 0;
  merchants.length = 0;
  terminals.push(ev.terminal_id);
  if (ev.merchant_id !== null) merchants.push(ev.merchant_id);
  for (let i = start; i < end; i++) {
    const e = history[i]!;
    agg.n30d++;
    agg.sum30d += e.amount;
    if (e.terminal === ev.terminal_id) agg.terminalSeen = 1;
    if (ev.device_id !== null && e.device === ev.device_id) agg.deviceSeen = 1;
    if (e.time > lo7) {
      agg.n7d++;
      agg.sum7d += e.amount;
    }
    if (e.time > lo1) {
      agg.n1d++;
      agg.sum1d += e.amount;
      if (!terminals.includes(e.terminal)) terminals.push(e.terminal);
      if (e.merchant !== null && !merchants.includes(e.merchant)) merchants.push(e.merchant);
    }
    if (agg.prevTime === null || e.time > agg.prevTime) agg.prevTime = e.time;
  }
  agg.nbTerminals1d = terminals.length;
  agg.nbMerchants1d = merchants.length;
  return agg;
}

/** Scratch arrays of aggregateCustomer (synchronous: never shared between two calls). */
const DISTINCT_TERMINALS: string[] = [];
const DISTINCT_MERCHANTS: string[] = [];

/**
 * Terminal aggregates of `ev` recorded at position `pos`.
 * @param history the terminal's transactions, sorted by pos
 * @param frauds the terminal's fraud labels: auth_id → tx_time of the label
 * @param timeOf event_time of a recorded transaction of this terminal, by auth_id
 */
export function aggregateTerminal(
  history: readonly TxEntry[],
  frauds: ReadonlyMap<string, number>,
  timeOf: (auth: string) => number | undefined,
  ev: AuthorizationEvent,
  pos: number,
): TerminalAggregates {
  const t = ev.event_time;
  const hi = t - TERMINAL_DELAY_MS;
  const upto = firstAfter(history, lastPosition(hi));
  const count = (n: number): number => upto - firstAfter(history, lastPosition(hi - n * DAY_MS));
  const agg: TerminalAggregates = {
    nb1h: countPrior(history, t - HOUR_MS, pos) + 1,
    nb1d: count(1),
    nb7d: count(7),
    nb30d: count(30),
    fraud1d: 0,
    fraud7d: 0,
    fraud30d: 0,
    lastFraud: 0,
    last3Frauds: 0,
    oldestFraudTime: null,
  };
  const lo30 = hi - 30 * DAY_MS;
  // the latest transactions in (lo30, hi]: each a fraud when labelled so by a label of that window (as counted below)
  const isFraud = (e: TxEntry): 0 | 1 => {
    const labelTxTime = frauds.get(e.auth);
    return labelTxTime !== undefined && labelTxTime > lo30 && labelTxTime <= hi ? 1 : 0;
  };
  if (agg.nb30d > 0) {
    agg.lastFraud = isFraud(history[upto - 1]!);
    for (let i = upto - 1; i >= Math.max(0, upto - Math.min(3, agg.nb30d)); i--)
      agg.last3Frauds += isFraud(history[i]!);
  }
  for (const [auth, labelTxTime] of frauds) {
    // The label's tx_time narrows the search (as the Redis index does); the transaction's own
    // event_time places it in the windows, and only recorded transactions count.
    if (!(labelTxTime > lo30 && labelTxTime <= hi)) continue;
    const s = timeOf(auth);
    if (s === undefined || !(s <= hi)) continue;
    if (s > lo30) {
      agg.fraud30d++;
      if (agg.oldestFraudTime === null || s < agg.oldestFraudTime) agg.oldestFraudTime = s;
    }
    if (s > hi - 7 * DAY_MS) agg.fraud7d++;
    if (s > hi - DAY_MS) agg.fraud1d++;
  }
  return agg;
}

/** Card aggregates of `ev` recorded at position `pos`, from the card's history (sorted by pos). */
export function aggregateCard(history: readonly TxEntry[], ev: AuthorizationEvent, pos: number): CardAggregates {
  const t = ev.event_time;
  return {
    nb1d: countPrior(history, t - DAY_MS, pos) + 1,
    nb7d: countPrior(history, t - 7 * DAY_MS, pos) + 1,
  };
}

// ---------------------------------------------------------------------------------------------
// The vector

/** Combines the event and the entity aggregates into the feature vector (FEATURE_NAMES order). */
export function combine(
  ev: AuthorizationEvent,
  c: CustomerAggregates,
  term: TerminalAggregates,
  card: CardAggregates,
): FeatureVector {
  const amount = ev.amount_minor;
  // UTC weekday and hour by arithmetic (no Date per event; 1970-01-01 was a Thursday, getUTCDay 4).
  const dow = mod(Math.floor(ev.event_time / DAY_MS) + 4, 7);
  const hour = mod(Math.floor(ev.event_time / HOUR_MS), 24);
  const mean = (sum: number, n: number): number => sum / (n * MINOR_PER_MAJOR);
  const risk = (f: number, n: number): number => (n > 0 ? f / n : 0);
  return [
    amount / MINOR_PER_MAJOR,
    dow === 0 || dow === 6 ? 1 : 0,
    hour <= 6 ? 1 : 0,
    c.n1d + 1,
    mean(c.sum1d + amount, c.n1d + 1),
    c.n7d + 1,
    mean(c.sum7d + amount, c.n7d + 1),
    c.n30d + 1,
    mean(c.sum30d + amount, c.n30d + 1),
    term.nb1d,
    risk(term.fraud1d, term.nb1d),
    term.nb7d,
    risk(term.fraud7d, term.nb7d),
    term.nb30d,
    risk(term.fraud30d, term.nb30d),
    c.n30d > 0 && c.sum30d !== 0 ? (amount * c.n30d) / c.sum30d : null,
    c.prevTime === null ? null : (ev.event_time - c.prevTime) / SECOND_MS,
    c.nbTerminals1d,
    c.nbMerchants1d,
    c.terminalSeen,
    ev.device_id === null ? null : c.deviceSeen,
    term.nb1h,
    card.nb1d,
    card.nb7d,
    ev.channel === 'ECOM' ? 1 : 0,
    term.lastFraud,
    term.last3Frauds,
    term.oldestFraudTime === null ? null : (ev.event_time - term.oldestFraudTime) / DAY_MS,
  ];
}

/** x mod m in [0, m), for negative x too (event times before 1970). */
function mod(x: number, m: number): number {
  const r = x % m;
  return r < 0 ? r + m : r;
}

/** Rejects events the stores cannot represent exactly. */
export function checkEvent(ev: AuthorizationEvent): void {
  if (!Number.isInteger(ev.event_time) || ev.event_time < 0 || ev.event_time > MAX_EVENT_TIME) {
    throw new Error(`auth ${ev.auth_id}: event_time must be an integer epoch ms in [0, ${MAX_EVENT_TIME}]`);
  }
  if (!Number.isSafeInteger(ev.amount_minor)) throw new Error(`auth ${ev.auth_id}: amount_minor must be an integer`);
}

/**
 * The vector of an event when feature state is unavailable (degraded mode): the features of
 * the event itself (entity 'tx') are filled, every entity feature is null.
 */
export function txOnlyVector(ev: AuthorizationEvent): FeatureVector {
  const out: FeatureVector = new Array<number | null>(FEATURE_COUNT).fill(null);
  const date = new Date(ev.event_time);
  const dow = date.getUTCDay();
  out[FEATURE_INDEX.tx_amount] = ev.amount_minor / MINOR_PER_MAJOR;
  out[FEATURE_INDEX.tx_during_weekend] = dow === 0 || dow === 6 ? 1 : 0;
  out[FEATURE_INDEX.tx_during_night] = date.getUTCHours() <= 6 ? 1 : 0;
  out[FEATURE_INDEX.tx_is_ecom] = ev.channel === 'ECOM' ? 1 : 0;
  return out;
}
