/**
 * One event applied to one entity's decoded state (./entity-codec.ts) and its aggregates, by the
 * reference algorithm: the same recording, retention and cap rules as the in-memory store
 * (../memory-store.ts), the same aggregate functions (../definitions.ts). Each returns whether
 * the state changed (the store writes back only changed entities).
 */
import type { AuthorizationEvent } from '../../events/types.js';
import {
  RETENTION_MS,
  aggregateCard,
  aggregateCustomer,
  aggregateTerminal,
  firstAfter,
  lastPosition,
  newPosition,
  type CardAggregates,
  type CustomerAggregates,
  type TerminalAggregates,
  type TxEntry,
} from '../definitions.js';
import type { CustomerState, KeyedState, TerminalState } from './entity-codec.js';

export interface Applied<A> {
  agg: A;
  changed: boolean;
}

/** Records the event once per (event_time, auth_id), trims, caps; the customer aggregates. */
export function applyCustomer(s: CustomerState, ev: AuthorizationEvent, max: number): Applied<CustomerAggregates> {
  const t = ev.event_time;
  const tx = s.tx;
  const msFrom = firstAfter(tx, lastPosition(t - 1));
  const msTo = firstAfter(tx, lastPosition(t));
  let pos = -1;
  for (let i = msFrom; i < msTo; i++) {
    if (tx[i]!.auth === ev.auth_id) {
      pos = tx[i]!.pos;
      break;
    }
  }
  let changed = false;
  if (pos < 0) {
    pos = newPosition(t, msTo - msFrom);
    insert(tx, {
      time: t,
      pos,
      auth: ev.auth_id,
      amount: ev.amount_minor,
      terminal: ev.terminal_id,
      merchant: ev.merchant_id,
      device: ev.device_id,
    });
    changed = true;
  }
  changed = dropFirst(tx, retained(tx, RETENTION_MS.customer)) || changed;
  if (tx.length > max) changed = dropFirst(tx, tx.length - max) || changed;
  return { agg: aggregateCustomer(tx, ev, pos), changed };
}

/** Records the event once per auth_id, trims (and drops labels older than the retention), caps. */
export function applyTerminal(s: TerminalState, ev: AuthorizationEvent, max: number): Applied<TerminalAggregates> {
  const { pos, changed: recorded } = record(s, ev.event_time, ev.auth_id);
  let changed = recorded;
  const last = s.tx[s.tx.length - 1]!;
  changed = dropKeyed(s, retained(s.tx, RETENTION_MS.terminal)) || changed;
  const bound = last.time - RETENTION_MS.terminal;
  if (s.tx.length > max) changed = dropKeyed(s, s.tx.length - max) || changed;
  for (const [a, labelTime] of s.frauds)
    if (labelTime <= bound) {
      s.frauds.delete(a);
      changed = true;
    }
  const byAuth = index(s);
  const timeOf = (a: string): number | undefined => byAuth.get(a)?.time;
  return { agg: aggregateTerminal(s.tx, s.frauds, timeOf, ev, pos), changed };
}

/** Records the event once per auth_id, trims, caps; the card aggregates. */
export function applyCard(s: KeyedState, ev: AuthorizationEvent, max: number): Applied<CardAggregates> {
  const { pos, changed: recorded } = record(s, ev.event_time, ev.auth_id);
  let changed = dropKeyed(s, retained(s.tx, RETENTION_MS.card)) || recorded;
  if (s.tx.length > max) changed = dropKeyed(s, s.tx.length - max) || changed;
  return { agg: aggregateCard(s.tx, ev, pos), changed };
}

// ---- helpers (the in-memory store's rules) -------------------------------------------------

function index(s: KeyedState): Map<string, TxEntry> {
  if (!s.byAuth) {
    s.byAuth = new Map();
    for (const e of s.tx) s.byAuth.set(e.auth, e);
  }
  return s.byAuth;
}

function record(s: KeyedState, t: number, auth: string): { pos: number; changed: boolean } {
  const byAuth = index(s);
  const known = byAuth.get(auth);
  if (known) return { pos: known.pos, changed: false };
  const same = firstAfter(s.tx, lastPosition(t)) - firstAfter(s.tx, lastPosition(t - 1));
  const e: TxEntry = { time: t, pos: newPosition(t, same), auth };
  byAuth.set(auth, e);
  insert(s.tx, e);
  return { pos: e.pos, changed: true };
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

function dropFirst(tx: TxEntry[], n: number): boolean {
  if (n <= 0) return false;
  tx.splice(0, n);
  return true;
}

function dropKeyed(s: KeyedState, n: number): boolean {
  if (n <= 0) return false;
  const byAuth = index(s);
  for (let i = 0; i < n; i++) byAuth.delete(s.tx[i]!.auth);
  return dropFirst(s.tx, n);
}
