/**
 * The in-memory feature store: per-entity histories in sorted arrays, the aggregates of
 * ./definitions.ts computed on them. Same results as RedisFeatureStore (tested for parity);
 * used by `replay`, `features --store memory` and tests.
 *
 * Memory is bounded like Redis's: each entity keeps only what its longest window needs
 * (RETENTION_MS, relative to its newest event, trimmed on every write, as the Lua scripts do),
 * and an entity without any event in the last retention + 1 day of event time (the newest
 * event seen by the store) is dropped, the event-time equivalent of the Redis keys' TTL.
 */
import type { AuthorizationEvent, LabelEvent } from '../events/types.js';
import { DAY_MS } from '../events/time.js';
import type { FeatureStore, FeatureVector } from './store.js';
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
} from './definitions.js';

interface CustomerState {
  tx: CustomerEntry[];
  /** Idempotency: `${event_time}\0${auth_id}` → pos of the recorded entries. */
  keys: Map<string, number>;
}

interface KeyedState {
  tx: TxEntry[];
  /** Idempotency and lookup: auth_id → entry, for the recorded entries. */
  byAuth: Map<string, TxEntry>;
}

interface TerminalState extends KeyedState {
  /** auth_id → tx_time of the label, for the auth ids currently labelled fraud. */
  frauds: Map<string, number>;
}

/** Entities idle for longer than their retention plus this margin are dropped. */
const IDLE_MARGIN_MS = DAY_MS;

export interface MemoryStoreStats {
  customers: number;
  terminals: number;
  cards: number;
  entries: number;
  frauds: number;
}

export class MemoryFeatureStore implements FeatureStore {
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

  async applyLabels(labels: readonly LabelEvent[]): Promise<void> {
    this.applyLabelsSync(labels);
  }

  applyLabelsSync(labels: readonly LabelEvent[]): void {
    for (const l of labels) {
      if (l.fraud) this.terminal(l.terminal_id).frauds.set(l.auth_id, l.tx_time);
      else this.terminals.get(l.terminal_id)?.frauds.delete(l.auth_id);
    }
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

    // Customer: recorded once per (event_time, auth_id), as the Redis script does.
    let c = this.customers.get(ev.customer_id);
    if (!c) this.customers.set(ev.customer_id, (c = { tx: [], keys: new Map() }));
    const ckey = `${t}\0${auth}`;
    let cpos = c.keys.get(ckey);
    if (cpos === undefined) {
      cpos = newPosition(t, sameMs(c.tx, t));
      c.keys.set(ckey, cpos);
      insert(c.tx, {
        time: t,
        pos: cpos,
        auth,
        amount: ev.amount_minor,
        terminal: ev.terminal_id,
        merchant: ev.merchant_id,
        device: ev.device_id,
      });
    }
    for (const e of trim(c.tx, RETENTION_MS.customer)) c.keys.delete(`${e.time}\0${e.auth}`);
    for (const e of cap(c.tx, this.caps.customer)) c.keys.delete(`${e.time}\0${e.auth}`);

    // Terminal: recorded once per auth_id (ZADD NX).
    const term = this.terminal(ev.terminal_id);
    const tpos = record(term, t, auth);
    const termBound = trimKeyed(term, RETENTION_MS.terminal);
    capKeyed(term, this.caps.terminal);
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
      aggregateTerminal(term.tx, term.frauds, (a) => term.byAuth.get(a)?.time, ev, tpos),
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
    if (!s) this.terminals.set(id, (s = { tx: [], byAuth: new Map(), frauds: new Map() }));
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

/** Drops the entries at or before (newest time − retention); returns them. */
function trim<E extends TxEntry>(tx: E[], retention: number): E[] {
  const last = tx[tx.length - 1];
  if (!last) return [];
  const n = firstAfter(tx, lastPosition(last.time - retention));
  return n > 0 ? tx.splice(0, n) : [];
}

/** Drops the oldest entries past `max` (the Redis scripts' cap: ZREMRANGEBYRANK); returns them. */
function cap<E extends TxEntry>(tx: E[], max: number): E[] {
  return tx.length > max ? tx.splice(0, tx.length - max) : [];
}

function capKeyed(s: KeyedState, max: number): void {
  for (const e of cap(s.tx, max)) s.byAuth.delete(e.auth);
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
  for (const e of trim(s.tx, retention)) s.byAuth.delete(e.auth);
  return s.tx[s.tx.length - 1]!.time - retention;
}
