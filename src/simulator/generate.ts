/**
 * Legitimate transactions, as in the handbook: per customer and day, nb_tx ~ Poisson(mean_nb_tx_per_day);
 * per transaction a time in the day ~ Normal(43200, 20000) s truncated to an integer and kept only
 * if 0 < t < 86400, an amount ~ Normal(mean, std) (U(0, 2·mean) if negative) rounded to cents, and a
 * terminal drawn uniformly among the customer's available ones (no transaction if there are none).
 *
 * Each customer draws from its own stream (seed, customer id), like the handbook seeds one
 * generator per customer, so a customer's history does not depend on the others'.
 * The result is sorted by time (stable: customer, day, draw order break ties).
 */
import { Rng } from './rng.js';
import type { CustomerProfiles } from './profiles.js';
import { SECONDS_PER_DAY } from '../events/time.js';
import { STREAM } from './streams.js';

/** The handbook's columns, one entry per transaction, in time order. */
export interface TransactionColumns {
  count: number;
  /** Seconds since the start date at 00:00 UTC. */
  timeSec: Uint32Array;
  customer: Int32Array;
  terminal: Int32Array;
  /** Amount in cents (the handbook's TX_AMOUNT × 100). */
  amountCents: Int32Array;
  fraud: Uint8Array;
  scenario: Uint8Array;
}

const MEAN_TIME = SECONDS_PER_DAY / 2;
const SD_TIME = 20000;

export function generateTransactions(customers: CustomerProfiles, days: number, seed: number): TransactionColumns {
  // Expected count (Poisson mean × days × P(0 < t < 86400) ≈ 0.968), with headroom; grown if needed.
  let expected = 0;
  for (let c = 0; c < customers.count; c++) {
    if (customers.availableOffsets[c + 1]! > customers.availableOffsets[c]!) expected += customers.meanNbTxPerDay[c]!;
  }
  let cap = Math.ceil(expected * days * 1.02) + 1024;
  let time = new Uint32Array(cap);
  let cust = new Int32Array(cap);
  let term = new Int32Array(cap);
  let amt = new Int32Array(cap);
  let n = 0;
  const grow = (): void => {
    cap *= 2;
    const widen = <T extends Uint32Array | Int32Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    time = widen(time, new Uint32Array(cap));
    cust = widen(cust, new Int32Array(cap));
    term = widen(term, new Int32Array(cap));
    amt = widen(amt, new Int32Array(cap));
  };

  const offs = customers.availableOffsets;
  const avail = customers.availableTerminals;
  for (let c = 0; c < customers.count; c++) {
    const rng = Rng.derive(seed, STREAM.transactions, c);
    const lambda = customers.meanNbTxPerDay[c]!;
    const mean = customers.meanAmount[c]!;
    const sd = customers.stdAmount[c]!;
    const first = offs[c]!;
    const nAvail = offs[c + 1]! - first;
    for (let day = 0; day < days; day++) {
      const nbTx = rng.poisson(lambda);
      for (let k = 0; k < nbTx; k++) {
        const t = Math.trunc(rng.normal(MEAN_TIME, SD_TIME));
        if (!(t > 0 && t < SECONDS_PER_DAY)) continue;
        let amount = rng.normal(mean, sd);
        if (amount < 0) amount = rng.uniform(0, mean * 2);
        const cents = Math.round(amount * 100);
        if (nAvail === 0) continue;
        const terminal = avail[first + rng.int(nAvail)]!;
        if (n === cap) grow();
        time[n] = day * SECONDS_PER_DAY + t;
        cust[n] = c;
        term[n] = terminal;
        amt[n] = cents;
        n++;
      }
    }
  }

  const order = radixOrder(time, n);
  return {
    count: n,
    timeSec: permute(new Uint32Array(n), time, order),
    customer: permute(new Int32Array(n), cust, order),
    terminal: permute(new Int32Array(n), term, order),
    amountCents: permute(new Int32Array(n), amt, order),
    fraud: new Uint8Array(n),
    scenario: new Uint8Array(n),
  };
}

/** Stable order of the first n keys (LSD radix sort, two 16-bit passes). */
export function radixOrder(keys: Uint32Array, n: number): Uint32Array {
  let src = new Uint32Array(n);
  for (let i = 0; i < n; i++) src[i] = i;
  let dst = new Uint32Array(n);
  const count = new Uint32Array(65536);
  for (const shift of [0, 16]) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(keys[i]! >>> shift) & 0xffff]!++;
    let sum = 0;
    for (let b = 0; b < 65536; b++) {
      const c = count[b]!;
      count[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const idx = src[i]!;
      dst[count[(keys[idx]! >>> shift) & 0xffff]!++] = idx;
    }
    const tmp = src;
    src = dst;
    dst = tmp;
  }
  return src;
}

function permute<T extends Uint32Array | Int32Array>(out: T, from: T, order: Uint32Array): T {
  for (let i = 0; i < out.length; i++) out[i] = from[order[i]!]!;
  return out;
}
