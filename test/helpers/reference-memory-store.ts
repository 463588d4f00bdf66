/**
 * The reference in-memory store: the definitions' aggregate functions (src/features/definitions.ts)
 * over sorted arrays of entry objects, as src/features/memory-store.ts was before it was laid out
 * for speed. test/unit/memory-store-reference.test.ts holds the fast store to its vectors.
 *
 * Memory is bounded like Redis's: each entity keeps only what its longest window needs
 * (RETENTION_MS, relative to its newest event, trimmed on every write, as the Lua scripts do),
 * and an entity without any event in the last retention + 1 day of event time (the newest
 * event seen by the store) is dropped, the event-time equivalent of the Redis keys' TTL.
 */
import type { AuthorizationEvent, LabelEvent } from '../../src/events/types.js';
import { DAY_MS } from '../../src/events/time.js';
import type { FeatureStore, FeatureVector } from '../../src/features/store.js';
import {
  MAX_HISTORY,
  RETENTION_MS,
  aggregateCard,
  aggregateCustomer,
  aggregateTerminal,
  checkEvent,
  combine,
  firstAfter,
  lastPosition,
  newPosition,
  type CustomerEntry,
  type HistoryCaps,
  type TxEntry,
} from '../../src/features/definitions.js';

interface CustomerState {
  /** Idempotency needs no index: an entry at the same millisecond with the same auth_id is the one recorded. */
  tx: CustomerEntry[];
}

interface KeyedState {
  tx: TxEntry[];
  /** Idempotency and lookup: auth_id → entry, for the recorded entries. */
  byAuth: Map<string, TxEntry>;
}

interface TerminalState extends KeyedState {
  /** auth_id → tx_time of the label, for the auth ids currently labelled fraud. */
  frauds: Map<string, number>;
  /** event_time of a recorded transaction by auth_id (made once per terminal, not per event). */
  timeOf: (auth: string) => number | undefined;
}

/** Entities idle for longer than their retention plus this margin are dropped. */
const IDLE_MARGIN_MS = DAY_MS;

interface MemoryStoreStats {
  customers: number;
  terminals: number;
  cards: number;
  entries: number;
  frauds: number;
}

export class ReferenceMemoryStore implements FeatureStore {
  /** `maxHistory`: most entries per entity (default MAX_HISTORY), as the Redis store's option. */
  constructor(private readonly caps: HistoryCaps = MAX_HISTORY) {}

  private readonly customers = new Map<string, CustomerState>();
  private readonly terminals = new Map<string, TerminalState>();
  private readonly cards = new Map<string, KeyedState>();
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
    if (l.fraud) this.terminal(l.terminal_id).frauds.set(l.auth_id, l.tx_time);
    else this.terminals.get(l.terminal_id)?.frauds.delete(l.auth_id);
  }

  async close(): Promise<void> {
    this.customers.clear();
    this.terminals.clear();
    this.cards.clear();
  }

  stats(): MemoryStoreStats {
    let entries = 0;
    let frauds = 0;
    for (const s of this.customers.values()) entries += s.tx.length;
    for (const s of this.terminals.values()) {
      entries += s.tx.length;
      frauds += s.frauds.size;
    }
    for (const s of this.cards.values()) entries += s.tx.length;
    return { customers: this.customers.size, terminals: this.terminals.size, cards: this.cards.size, entries, frauds };
  }

  private enrichOne(ev: AuthorizationEvent): FeatureVector {
    checkEvent(ev);
    const t = ev.event_time;
    const auth = ev.auth_id;

    // Customer: recorded once per (event_time, auth_id), as the Redis script does: the entries
    // of millisecond t are a contiguous run; one of them with this auth_id is this event.
    let c = this.customers.get(ev.customer_id);
    if (!c) this.customers.set(ev.customer_id, (c = { tx: [] }));
    const ctx = c.tx;
    const msFrom = firstAfter(ctx, lastPosition(t - 1));
    const msTo = firstAfter(ctx, lastPosition(t));
    let cpos = -1;
    for (let i = msFrom; i < msTo; i++) {
      const e = ctx[i]!;
      if (e.auth === auth) {
        cpos = e.pos;
        break;
      }
    }
    if (cpos < 0) {
      cpos = newPosition(t, msTo - msFrom);
      insert(ctx, {
        time: t,
        pos: cpos,
        auth,
        amount: ev.amount_minor,
        terminal: ev.terminal_id,
        merchant: ev.merchant_id,
        device: ev.device_id,
      });
    }
    dropFirst(ctx, retained(ctx, RETENTION_MS.customer));
    if (ctx.length > this.caps.customer) dropFirst(ctx, ctx.length - this.caps.customer);

    // Terminal: recorded once per auth_id (ZADD NX).
    const term = this.terminal(ev.terminal_id);
    const tpos = record(term, t, auth);
    const termBound = trimKeyed(term, RETENTION_MS.terminal);
    capKeyed(term, this.caps.terminal);
    if (term.frauds.size > 0)
      for (const [a, labelTime] of term.frauds) if (labelTime <= termBound) term.frauds.delete(a);

    // Card: recorded once per auth_id.
    let card = this.cards.get(ev.card_token);
    if (!card) this.cards.set(ev.card_token, (card = { tx: [], byAuth: new Map() }));
    const kpos = record(card, t, auth);
    trimKeyed(card, RETENTION_MS.card);
    capKeyed(card, this.caps.card);

    const vector = combine(
      ev,
      aggregateCustomer(c.tx, ev, cpos),
      aggregateTerminal(term.tx, term.frauds, term.timeOf, ev, tpos),
      aggregateCard(card.tx, ev, kpos),
    );

    if (t > this.newest) {
      this.newest = t;
      if (t - this.lastSweep >= DAY_MS) this.sweep();
    }
    return vector;
  }

  private terminal(id: string): TerminalState {
    let s = this.terminals.get(id);
    if (!s) {
      const byAuth = new Map<string, TxEntry>();
      const timeOf = (a: string): number | undefined => byAuth.get(a)?.time;
      this.terminals.set(id, (s = { tx: [], byAuth, frauds: new Map(), timeOf }));
    }
    return s;
  }

  /** Drops entities idle for longer than their retention (+ margin) in event time. */
  private sweep(): void {
    this.lastSweep = this.newest;
    const cutoff = (retention: number): number => this.newest - retention - IDLE_MARGIN_MS;
    const idle = (tx: readonly TxEntry[], before: number): boolean => (tx[tx.length - 1]?.time ?? -Infinity) <= before;
    const cc = cutoff(RETENTION_MS.customer);
    for (const [id, s] of this.customers) if (idle(s.tx, cc)) this.customers.delete(id);
    const kc = cutoff(RETENTION_MS.card);
    for (const [id, s] of this.cards) if (idle(s.tx, kc)) this.cards.delete(id);
    const tc = cutoff(RETENTION_MS.terminal);
    for (const [id, s] of this.terminals) {
      if (idle(s.tx, tc) && [...s.frauds.values()].every((txTime) => txTime <= tc)) this.terminals.delete(id);
    }
  }
}

/** Number of entries recorded at millisecond t. */
function sameMs(tx: readonly TxEntry[], t: number): number {
  return firstAfter(tx, lastPosition(t)) - firstAfter(tx, lastPosition(t - 1));
}

/** Inserts by position (usually an append). */
function insert<E extends TxEntry>(tx: E[], e: E): void {
  const last = tx[tx.length - 1];
  if (!last || last.pos <= e.pos) tx.push(e);
  else tx.splice(firstAfter(tx, e.pos), 0, e);
}

/** How many of the oldest entries fall at or before (newest time − retention). */
function retained(tx: readonly TxEntry[], retention: number): number {
  const last = tx[tx.length - 1];
  return last ? firstAfter(tx, lastPosition(last.time - retention)) : 0;
}

/** Removes the first n entries in place (no array allocated: this runs on every event). */
function dropFirst(tx: TxEntry[], n: number): void {
  if (n <= 0) return;
  tx.copyWithin(0, n);
  tx.length -= n;
}

/** Drops the oldest n entries of a keyed history and their index entries. */
function dropKeyed(s: KeyedState, n: number): void {
  for (let i = 0; i < n; i++) s.byAuth.delete(s.tx[i]!.auth);
  dropFirst(s.tx, n);
}

/** Drops the oldest entries past `max` (the Redis scripts' cap: ZREMRANGEBYRANK). */
function capKeyed(s: KeyedState, max: number): void {
  if (s.tx.length > max) dropKeyed(s, s.tx.length - max);
}

/** Records (t, auth) once per auth_id; returns its position. */
function record(s: KeyedState, t: number, auth: string): number {
  const known = s.byAuth.get(auth);
  if (known) return known.pos;
  const e: TxEntry = { time: t, pos: newPosition(t, sameMs(s.tx, t)), auth };
  s.byAuth.set(auth, e);
  insert(s.tx, e);
  return e.pos;
}

/** Trims to the retention; returns the bound (entries with time <= bound are gone). */
function trimKeyed(s: KeyedState, retention: number): number {
  dropKeyed(s, retained(s.tx, retention));
  return s.tx[s.tx.length - 1]!.time - retention;
}
