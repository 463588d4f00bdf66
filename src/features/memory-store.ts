/**
 * The in-memory feature store: per-entity histories, the aggregates of ./definitions.ts computed
 * on them. Same results as RedisFeatureStore (tested for parity) and as the definitions' own
 * aggregate functions over sorted entry arrays (test/helpers/reference-memory-store.ts, tested
 * for equality); used by `replay`, `features --store memory` and tests.
 *
 * Laid out for speed (replay decides millions of events): each history is parallel arrays of
 * numbers sorted by position (a binary search touches a few cache lines, not one object per
 * probe), dropping the oldest entries moves a start index, the customer's amounts carry running
 * sums (window sums are two reads, exact while every running sum is below 2^52; past that the
 * window is summed entry by entry, as the reference does), and terminals and devices are
 * compared as interned integer ids.
 *
 * Memory is bounded like Redis's: each entity keeps only what its longest window needs
 * (RETENTION_MS, relative to its newest event, trimmed on every write, as the Lua scripts do),
 * and an entity without any event in the last retention + 1 day of event time (the newest
 * event seen by the store) is dropped, the event-time equivalent of the Redis keys' TTL. The
 * intern tables (one small entry per distinct terminal and device id) live as long as the store.
 */
import type { AuthorizationEvent, LabelEvent } from '../events/types.js';
import { DAY_MS, HOUR_MS } from '../events/time.js';
import type { FeatureStore, FeatureVector } from './store.js';
import {
  MAX_HISTORY,
  RETENTION_MS,
  TERMINAL_DELAY_MS,
  TIE_SLOTS,
  checkEvent,
  combine,
  lastPosition,
  newPosition,
  type CardAggregates,
  type CustomerAggregates,
  type HistoryCaps,
  type TerminalAggregates,
} from './definitions.js';

/** Running sums are exact integers while their magnitude stays at most this (differences then fit 2^53). */
const EXACT_SUM = 2 ** 52;

/**
 * An entity's transactions as parallel arrays sorted by position; the live entries are
 * [head, pos.length). Indices below are absolute (head included).
 */
class History {
  head = 0;
  readonly pos: number[] = [];
  readonly auth: string[] = [];

  get size(): number {
    return this.pos.length - this.head;
  }

  /** Event time of the newest live entry (size > 0). */
  lastTime(): number {
    return Math.floor(this.pos[this.pos.length - 1]! / TIE_SLOTS);
  }

  /** Index of the first live entry with pos > p. */
  firstAfter(p: number): number {
    const a = this.pos;
    let lo = this.head;
    let hi = a.length;
    // Most searches of a replay in time order land after the newest entry: one read, no search.
    if (lo === hi || a[hi - 1]! <= p) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! > p) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Index of the first live entry with pos >= p. */
  firstNotBefore(p: number): number {
    const a = this.pos;
    let lo = this.head;
    let hi = a.length;
    if (lo === hi || a[hi - 1]! < p) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! >= p) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Live entries recorded at millisecond t. */
  sameMs(t: number): number {
    return this.firstAfter(lastPosition(t)) - this.firstAfter(lastPosition(t - 1));
  }

  /** Prior entries in (lo, t] of an entry at `pos`: time > lo and position < pos. */
  countPrior(lo: number, pos: number): number {
    return Math.max(0, this.firstNotBefore(pos) - this.firstAfter(lastPosition(lo)));
  }

  /** How many of the oldest live entries fall at or before (newest time − retention). */
  expired(retention: number): number {
    return this.size > 0 ? this.firstAfter(lastPosition(this.lastTime() - retention)) - this.head : 0;
  }

  /** Drops the oldest n live entries; the dead prefix is cut off once it is half the arrays. */
  dropFirst(n: number): void {
    if (n <= 0) return;
    this.head += n;
    if (this.head >= 16 && this.head * 2 >= this.pos.length) this.compact(this.head);
  }

  protected compact(n: number): void {
    cut(this.pos, n);
    cut(this.auth, n);
    this.head = 0;
  }
}

/** Removes the first n items in place (no array allocated). */
function cut(a: unknown[], n: number): void {
  a.copyWithin(0, n);
  a.length -= n;
}

/** The customer's history: amounts with their running sums, terminals and devices as interned ids. */
class CustomerHistory extends History {
  readonly amount: number[] = [];
  /** amount[0] + … + amount[i], from an arbitrary base: cum[i] − cum[i−1] = amount[i] for every i. */
  readonly cum: number[] = [];
  readonly terminal: number[] = [];
  readonly merchant: (string | null)[] = [];
  /** Interned device id, −1 for none. */
  readonly device: number[] = [];
  /** Every running sum is an exact integer of magnitude <= EXACT_SUM (else windows are summed entry by entry). */
  exact = true;

  insert(
    i: number,
    pos: number,
    auth: string,
    amount: number,
    terminal: number,
    merchant: string | null,
    device: number,
  ): void {
    const n = this.pos.length;
    const base = i > 0 ? this.cum[i - 1]! : 0;
    const sum = base + amount;
    if (!(Math.abs(sum) <= EXACT_SUM)) this.exact = false;
    if (i === n) {
      this.pos.push(pos);
      this.auth.push(auth);
      this.amount.push(amount);
      this.cum.push(sum);
      this.terminal.push(terminal);
      this.merchant.push(merchant);
      this.device.push(device);
      return;
    }
    this.pos.splice(i, 0, pos);
    this.auth.splice(i, 0, auth);
    this.amount.splice(i, 0, amount);
    this.cum.splice(i, 0, sum);
    this.terminal.splice(i, 0, terminal);
    this.merchant.splice(i, 0, merchant);
    this.device.splice(i, 0, device);
    for (let j = i + 1; j <= n; j++) {
      const c = (this.cum[j] = this.cum[j]! + amount);
      if (!(Math.abs(c) <= EXACT_SUM)) this.exact = false;
    }
  }

  /** Sum of the amounts of [a, b). */
  sum(a: number, b: number): number {
    if (b <= a) return 0;
    if (this.exact) return this.cum[b - 1]! - (this.cum[a]! - this.amount[a]!);
    let s = 0;
    for (let i = a; i < b; i++) s += this.amount[i]!;
    return s;
  }

  protected override compact(n: number): void {
    super.compact(n);
    cut(this.amount, n);
    cut(this.cum, n);
    cut(this.terminal, n);
    cut(this.merchant, n);
    cut(this.device, n);
    // Rebase the running sums on the live entries (exact: integers within 2^52), so they stay small.
    if (this.exact && this.cum.length > 0) {
      const base = this.cum[0]! - this.amount[0]!;
      if (base !== 0) for (let j = 0; j < this.cum.length; j++) this.cum[j]! -= base;
    }
  }
}

/** A terminal's or card's history: recorded once per auth_id (ZADD NX). */
class KeyedHistory extends History {
  /** New entries recorded so far (an absence found by a scan holds until the next one). */
  version = 0;

  /**
   * Records (t, auth) once per auth_id; returns its position. `maybeKnown`: the auth id may be
   * recorded here already (the store's auth index has it), so the entries are searched first.
   */
  record(t: number, auth: string, maybeKnown: boolean): number {
    if (maybeKnown) {
      const i = this.indexOf(auth);
      if (i >= 0) return this.pos[i]!;
    }
    const p = newPosition(t, this.sameMs(t));
    this.version++;
    const n = this.pos.length;
    if (n === this.head || this.pos[n - 1]! <= p) {
      this.pos.push(p);
      this.auth.push(auth);
    } else {
      const i = this.firstAfter(p);
      this.pos.splice(i, 0, p);
      this.auth.splice(i, 0, auth);
    }
    return p;
  }

  /** Index of the live entry of `auth` (newest first), or −1. */
  indexOf(auth: string): number {
    const a = this.auth;
    for (let i = a.length - 1; i >= this.head; i--) if (a[i] === auth) return i;
    return -1;
  }

  /** Whether the live entries hold `auth` at position p. */
  holds(p: number, auth: string): boolean {
    for (let i = this.firstNotBefore(p); i < this.pos.length && this.pos[i] === p; i++)
      if (this.auth[i] === auth) return true;
    return false;
  }

  /** Trims to the retention; returns the bound (entries with time <= bound are gone). */
  trim(retention: number): number {
    this.dropFirst(this.expired(retention));
    return this.lastTime() - retention;
  }

  /** Drops the oldest entries past `max` (the Redis scripts' cap: ZREMRANGEBYRANK). */
  cap(max: number): void {
    if (this.size > max) this.dropFirst(this.size - max);
  }
}

class TerminalHistory extends KeyedHistory {
  /** auth_id → tx_time of the label, for the auth ids currently labelled fraud. */
  readonly frauds = new Map<string, number>();
  /** frauds.size, kept on the terminal: the per-event check reads no second object (a cache miss less). */
  nFrauds = 0;
  /** Where the labelled auth ids were found: a position, or −(version + 1) when absent at that version. */
  private readonly found = new Map<string, number>();
  /** `id`: the terminal's interned id (the same when a swept terminal comes back). */
  constructor(readonly id: number) {
    super();
  }

  /** Event time of the live entry of `auth`, if any (the labels' transactions, looked up once). */
  timeOf(auth: string): number | undefined {
    const f = this.found.get(auth);
    if (f !== undefined) {
      if (f >= 0 ? this.holds(f, auth) : -f - 1 === this.version) return f >= 0 ? Math.floor(f / TIE_SLOTS) : undefined;
    }
    const i = this.indexOf(auth);
    if (i < 0) {
      this.found.set(auth, -(this.version + 1));
      return undefined;
    }
    this.found.set(auth, this.pos[i]!);
    return Math.floor(this.pos[i]! / TIE_SLOTS);
  }

  /** Forgets the lookups of auth ids no longer labelled fraud. */
  forget(auth: string): void {
    this.found.delete(auth);
  }
}

/** Entities idle for longer than their retention plus this margin are dropped. */
const IDLE_MARGIN_MS = DAY_MS;
/** Event time between two rotations of the auth index (see rotateAuths). */
const ROTATE_MS = 2 * Math.max(RETENTION_MS.terminal, RETENTION_MS.card) + 2 * IDLE_MARGIN_MS;

export interface MemoryStoreStats {
  customers: number;
  terminals: number;
  cards: number;
  entries: number;
  frauds: number;
}

// Scratch aggregates, filled and read by one synchronous enrichOne at a time.
const C: CustomerAggregates = {
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
const T: TerminalAggregates = {
  nb1h: 0,
  nb1d: 0,
  nb7d: 0,
  nb30d: 0,
  fraud1d: 0,
  fraud7d: 0,
  fraud30d: 0,
  lastFraud: 0,
  last3Frauds: 0,
  oldestFraudTime: null,
};
const K: CardAggregates = { nb1d: 0, nb7d: 0 };
const DISTINCT_TERMINALS: number[] = [];
const DISTINCT_MERCHANTS: string[] = [];

export class MemoryFeatureStore implements FeatureStore {
  /** `maxHistory`: most entries per entity (default MAX_HISTORY), as the Redis store's option. */
  constructor(private readonly caps: HistoryCaps = MAX_HISTORY) {}

  private readonly customers = new Map<string, CustomerHistory>();
  private readonly terminals = new Map<string, TerminalHistory>();
  private readonly cards = new Map<string, KeyedHistory>();
  private readonly terminalIds = new Map<string, number>();
  private readonly deviceIds = new Map<string, number>();
  /**
   * The auth ids recorded in terminal and card histories, in two generations: an id in neither
   * is new to every history (the common case: no history is searched). See rotateAuths.
   */
  private authsNew = new Set<string>();
  /**
   * How many terminals hold each auth id labelled fraud: a `fraud=false` label for an id in none
   * (nearly every label of a history) changes nothing, found without looking up its terminal.
   */
  private readonly fraudAuths = new Map<string, number>();
  private authsOld = new Set<string>();
  private lastRotation = -Infinity;
  private newest = -Infinity;
  private lastSweep = -Infinity;

  async enrich(events: readonly AuthorizationEvent[]): Promise<FeatureVector[]> {
    return this.enrichSync(events);
  }

  /** enrich without the promise, for the embedded replay loop. */
  enrichSync(events: readonly AuthorizationEvent[]): FeatureVector[] {
    const out: FeatureVector[] = new Array(events.length);
    for (let i = 0; i < events.length; i++) out[i] = this.enrichOne(events[i]!);
    return out;
  }

  /** The vector of one event, recorded (enrichSync of one event, without the arrays). */
  enrichEventSync(ev: AuthorizationEvent): FeatureVector {
    return this.enrichOne(ev);
  }

  async applyLabels(labels: readonly LabelEvent[]): Promise<void> {
    this.applyLabelsSync(labels);
  }

  applyLabelsSync(labels: readonly LabelEvent[]): void {
    for (const l of labels) this.applyLabelSync(l);
  }

  applyLabelSync(l: LabelEvent): void {
    if (l.fraud) this.addFraud(this.terminal(l.terminal_id), l.auth_id, l.tx_time);
    else if (this.fraudAuths.has(l.auth_id)) {
      const s = this.terminals.get(l.terminal_id);
      if (s) this.dropFraud(s, l.auth_id);
    }
  }

  /** Labels `auth` fraud at `term` (the label's tx_time); a second label of it replaces the first. */
  private addFraud(term: TerminalHistory, auth: string, txTime: number): void {
    const f = term.frauds;
    const n = f.size;
    f.set(auth, txTime);
    if (f.size === n) return;
    term.nFrauds = f.size;
    this.fraudAuths.set(auth, (this.fraudAuths.get(auth) ?? 0) + 1);
  }

  /** Removes the fraud label of `auth` at `term`, if any. */
  private dropFraud(term: TerminalHistory, auth: string): void {
    if (!term.frauds.delete(auth)) return;
    term.nFrauds = term.frauds.size;
    term.forget(auth);
    this.uncountFraud(auth);
  }

  private uncountFraud(auth: string): void {
    const k = this.fraudAuths.get(auth)! - 1;
    if (k > 0) this.fraudAuths.set(auth, k);
    else this.fraudAuths.delete(auth);
  }

  async close(): Promise<void> {
    this.customers.clear();
    this.terminals.clear();
    this.cards.clear();
    this.terminalIds.clear();
    this.deviceIds.clear();
    this.authsNew.clear();
    this.authsOld.clear();
    this.fraudAuths.clear();
  }

  stats(): MemoryStoreStats {
    let entries = 0;
    let frauds = 0;
    for (const s of this.customers.values()) entries += s.size;
    for (const s of this.terminals.values()) {
      entries += s.size;
      frauds += s.frauds.size;
    }
    for (const s of this.cards.values()) entries += s.size;
    return { customers: this.customers.size, terminals: this.terminals.size, cards: this.cards.size, entries, frauds };
  }

  private enrichOne(ev: AuthorizationEvent): FeatureVector {
    checkEvent(ev);
    const t = ev.event_time;
    const auth = ev.auth_id;
    const deviceId = ev.device_id === null ? -1 : intern(this.deviceIds, ev.device_id);

    // Customer: recorded once per (event_time, auth_id), as the Redis script does: the entries
    // of millisecond t are a contiguous run; one of them with this auth_id is this event.
    const term = this.terminal(ev.terminal_id);
    const terminalId = term.id;
    let c = this.customers.get(ev.customer_id);
    if (!c) this.customers.set(ev.customer_id, (c = new CustomerHistory()));
    const msFrom = c.firstAfter(lastPosition(t - 1));
    const msTo = c.firstAfter(lastPosition(t));
    let cpos = -1;
    for (let i = msFrom; i < msTo; i++) {
      if (c.auth[i] === auth) {
        cpos = c.pos[i]!;
        break;
      }
    }
    if (cpos < 0) {
      cpos = newPosition(t, msTo - msFrom);
      // After every entry at or before its position (usually the end).
      c.insert(c.firstAfter(cpos), cpos, auth, ev.amount_minor, terminalId, ev.merchant_id, deviceId);
    }
    c.dropFirst(c.expired(RETENTION_MS.customer));
    if (c.size > this.caps.customer) c.dropFirst(c.size - this.caps.customer);

    // Terminal: recorded once per auth_id (ZADD NX).
    // One lookup (add, then did the set grow?) for the usual new auth id.
    const before = this.authsNew.size;
    this.authsNew.add(auth);
    const maybeKnown = this.authsNew.size === before || (this.authsOld.size > 0 && this.authsOld.has(auth));
    const tpos = term.record(t, auth, maybeKnown);
    const termBound = term.trim(RETENTION_MS.terminal);
    term.cap(this.caps.terminal);
    if (term.nFrauds > 0) for (const [a, labelTime] of term.frauds) if (labelTime <= termBound) this.dropFraud(term, a);

    // Card: recorded once per auth_id.
    let card = this.cards.get(ev.card_token);
    if (!card) this.cards.set(ev.card_token, (card = new KeyedHistory()));
    const kpos = card.record(t, auth, maybeKnown);
    card.trim(RETENTION_MS.card);
    card.cap(this.caps.card);

    customerAggregates(c, ev, cpos, terminalId, deviceId);
    terminalAggregates(term, t, tpos);
    K.nb1d = card.countPrior(t - DAY_MS, kpos) + 1;
    K.nb7d = card.countPrior(t - 7 * DAY_MS, kpos) + 1;
    const vector = combine(ev, C, T, K);

    if (t > this.newest) {
      this.newest = t;
      if (t - this.lastSweep >= DAY_MS) this.sweep();
    }
    return vector;
  }

  private terminal(id: string): TerminalHistory {
    let s = this.terminals.get(id);
    if (!s) this.terminals.set(id, (s = new TerminalHistory(intern(this.terminalIds, id))));
    return s;
  }

  /** Drops entities idle for longer than their retention (+ margin) in event time. */
  private sweep(): void {
    this.lastSweep = this.newest;
    const cutoff = (retention: number): number => this.newest - retention - IDLE_MARGIN_MS;
    const idle = (h: History, before: number): boolean => h.size === 0 || h.lastTime() <= before;
    const cc = cutoff(RETENTION_MS.customer);
    for (const [id, s] of this.customers) if (idle(s, cc)) this.customers.delete(id);
    const kc = cutoff(RETENTION_MS.card);
    for (const [id, s] of this.cards) if (idle(s, kc)) this.cards.delete(id);
    const tc = cutoff(RETENTION_MS.terminal);
    for (const [id, s] of this.terminals) {
      if (idle(s, tc) && [...s.frauds.values()].every((txTime) => txTime <= tc)) {
        this.terminals.delete(id);
        for (const auth of s.frauds.keys()) this.uncountFraud(auth);
      }
    }
    if (this.newest - this.lastRotation >= ROTATE_MS) this.rotateAuths((s) => idle(s, tc));
  }

  /**
   * Drops the older generation of the auth index. Its ids were all recorded at or before the
   * previous rotation, ROTATE_MS (2 × the longest keyed retention + 2 × the idle margin) ago or
   * more, so an entry of theirs still in a history would be older than (newest − ROTATE_MS): it
   * would have been trimmed (its history had an event a retention after it), or its history
   * would be idle and just swept. Only a terminal kept for its labels survives idle: its ids
   * stay known (added to the new generation).
   */
  private rotateAuths(idle: (s: TerminalHistory) => boolean): void {
    this.lastRotation = this.newest;
    this.authsOld = this.authsNew;
    this.authsNew = new Set();
    for (const s of this.terminals.values())
      if (idle(s)) for (let i = s.head; i < s.auth.length; i++) this.authsNew.add(s.auth[i]!);
  }
}

function intern(ids: Map<string, number>, s: string): number {
  let id = ids.get(s);
  if (id === undefined) ids.set(s, (id = ids.size));
  return id;
}

/**
 * definitions.ts's aggregateCustomer into C: counts and sums over the prior entries of the
 * windows (contiguous suffixes of [start, end), the history being sorted by time), the previous
 * transaction the last of them, distinct values and "seen before" by scanning ids.
 */
function customerAggregates(
  h: CustomerHistory,
  ev: AuthorizationEvent,
  pos: number,
  terminal: number,
  device: number,
): void {
  const t = ev.event_time;
  const end = h.firstNotBefore(pos);
  const start = h.firstAfter(lastPosition(t - 30 * DAY_MS));
  const i7 = Math.max(start, h.firstAfter(lastPosition(t - 7 * DAY_MS)));
  const i1 = Math.max(i7, h.firstAfter(lastPosition(t - DAY_MS)));
  if (end <= start) {
    C.n30d = C.sum30d = C.n7d = C.sum7d = C.n1d = C.sum1d = 0;
    C.prevTime = null;
    C.terminalSeen = C.deviceSeen = 0;
    C.nbTerminals1d = 1;
    C.nbMerchants1d = ev.merchant_id === null ? 0 : 1;
    return;
  }
  C.n30d = end - start;
  C.sum30d = h.sum(start, end);
  C.n7d = end - i7;
  C.sum7d = h.sum(i7, end);
  C.n1d = end - i1;
  C.sum1d = h.sum(i1, end);
  C.prevTime = Math.floor(h.pos[end - 1]! / TIE_SLOTS);
  const terms = h.terminal;
  let seen: 0 | 1 = 0;
  for (let i = end - 1; i >= start; i--)
    if (terms[i] === terminal) {
      seen = 1;
      break;
    }
  C.terminalSeen = seen;
  seen = 0;
  if (device >= 0) {
    const devs = h.device;
    for (let i = end - 1; i >= start; i--)
      if (devs[i] === device) {
        seen = 1;
        break;
      }
  }
  C.deviceSeen = seen;
  const terminals = DISTINCT_TERMINALS;
  const merchants = DISTINCT_MERCHANTS;
  terminals.length = 0;
  merchants.length = 0;
  terminals.push(terminal);
  if (ev.merchant_id !== null) merchants.push(ev.merchant_id);
  for (let i = i1; i < end; i++) {
    const term = terms[i]!;
    if (!terminals.includes(term)) terminals.push(term);
    const m = h.merchant[i]!;
    if (m !== null && !merchants.includes(m)) merchants.push(m);
  }
  C.nbTerminals1d = terminals.length;
  C.nbMerchants1d = merchants.length;
}

/** definitions.ts's aggregateTerminal into T. */
function terminalAggregates(h: TerminalHistory, t: number, pos: number): void {
  const hi = t - TERMINAL_DELAY_MS;
  const upto = h.firstAfter(lastPosition(hi));
  T.nb1h = h.countPrior(t - HOUR_MS, pos) + 1;
  T.nb1d = upto - h.firstAfter(lastPosition(hi - DAY_MS));
  T.nb7d = upto - h.firstAfter(lastPosition(hi - 7 * DAY_MS));
  T.nb30d = upto - h.firstAfter(lastPosition(hi - 30 * DAY_MS));
  T.fraud1d = T.fraud7d = T.fraud30d = 0;
  T.lastFraud = 0;
  T.last3Frauds = 0;
  T.oldestFraudTime = null;
  if (h.nFrauds === 0) return;
  const frauds = h.frauds;
  const lo30 = hi - 30 * DAY_MS;
  // the latest transactions in (lo30, hi]: each a fraud when labelled so by a label of that window
  const isFraud = (i: number): 0 | 1 => {
    const labelTxTime = frauds.get(h.auth[i]!);
    return labelTxTime !== undefined && labelTxTime > lo30 && labelTxTime <= hi ? 1 : 0;
  };
  if (T.nb30d > 0) {
    T.lastFraud = isFraud(upto - 1);
    for (let i = upto - 1; i >= upto - Math.min(3, T.nb30d); i--) T.last3Frauds += isFraud(i);
  }
  for (const [auth, labelTxTime] of frauds) {
    // The label's tx_time narrows the search (as the Redis index does); the transaction's own
    // event_time places it in the windows, and only recorded transactions count.
    if (!(labelTxTime > lo30 && labelTxTime <= hi)) continue;
    const s = h.timeOf(auth);
    if (s === undefined || !(s <= hi)) continue;
    if (s > lo30) {
      T.fraud30d++;
      if (T.oldestFraudTime === null || s < T.oldestFraudTime) T.oldestFraudTime = s;
    }
    if (s > hi - 7 * DAY_MS) T.fraud7d++;
    if (s > hi - DAY_MS) T.fraud1d++;
  }
}
