/**
 * The handbook's three fraud scenarios, applied in its order (a later scenario overwrites the
 * scenario code of an earlier one):
 *  1. every transaction with amount > 220 is fraud;
 *  2. each day d (d < last day), 2 random terminals are compromised: all their transactions of
 *     days d .. d+27 are fraud;
 *  3. each day d (d < last day), 3 random customers are compromised: among their transactions of
 *     days d .. d+13, a random third (floor) get their amount multiplied by 5 and are fraud.
 */
import { Rng } from './rng.js';
import type { TransactionColumns } from './generate.js';
import { SECONDS_PER_DAY } from '../events/time.js';
import { FRAUD_PARAMS } from './options.js';
import { STREAM } from './streams.js';

export interface Compromise {
  /** Terminal or customer index. */
  id: number;
  /** Day (0-based) of the compromise; effective on days [day, day + duration). */
  day: number;
}

export interface FraudInjection {
  compromisedTerminals: Compromise[];
  compromisedCustomers: Compromise[];
}

export function injectFrauds(
  tx: TransactionColumns,
  nCustomers: number,
  nTerminals: number,
  seed: number,
): FraudInjection {
  const n = tx.count;
  const { fraud, scenario, amountCents, timeSec } = tx;
  const day = new Int32Array(n);
  let maxDay = -1;
  for (let i = 0; i < n; i++) {
    const d = Math.floor(timeSec[i]! / SECONDS_PER_DAY);
    day[i] = d;
    if (d > maxDay) maxDay = d;
  }

  // Scenario 1.
  const threshold = FRAUD_PARAMS.amountThreshold * 100;
  for (let i = 0; i < n; i++) {
    if (amountCents[i]! > threshold) {
      fraud[i] = 1;
      scenario[i] = 1;
    }
  }

  // Scenario 2: per terminal, the days it was compromised; then one pass over the transactions.
  const compromisedTerminals: Compromise[] = [];
  const termDays = new Map<number, number[]>();
  if (nTerminals > 0) {
    const rng = Rng.derive(seed, STREAM.compromisedTerminals);
    for (let d = 0; d < maxDay; d++) {
      for (const t of rng.sampleDistinct(nTerminals, FRAUD_PARAMS.terminalsPerDay)) {
        compromisedTerminals.push({ id: t, day: d });
        let list = termDays.get(t);
        if (!list) termDays.set(t, (list = []));
        list.push(d);
      }
    }
  }
  const termDuration = FRAUD_PARAMS.terminalDays;
  for (let i = 0; i < n; i++) {
    const list = termDays.get(tx.terminal[i]!);
    if (!list) continue;
    const d = day[i]!;
    for (const c of list) {
      if (d >= c && d < c + termDuration) {
        fraud[i] = 1;
        scenario[i] = 2;
        break;
      }
    }
  }

  // Scenario 3: per customer, its transaction indices (ascending = time order).
  const compromisedCustomers: Compromise[] = [];
  if (nCustomers > 0) {
    const offs = new Int32Array(nCustomers + 1);
    for (let i = 0; i < n; i++) offs[tx.customer[i]! + 1]!++;
    for (let c = 0; c < nCustomers; c++) offs[c + 1]! += offs[c]!;
    const fill = offs.slice(0, nCustomers);
    const byCustomer = new Int32Array(n);
    for (let i = 0; i < n; i++) byCustomer[fill[tx.customer[i]!]!++] = i;

    const rng = Rng.derive(seed, STREAM.compromisedCustomers);
    const custDuration = FRAUD_PARAMS.customerDays;
    const pool: number[] = [];
    for (let d = 0; d < maxDay; d++) {
      pool.length = 0;
      for (const c of rng.sampleDistinct(nCustomers, FRAUD_PARAMS.customersPerDay)) {
        compromisedCustomers.push({ id: c, day: d });
        for (let k = offs[c]!, end = offs[c + 1]!; k < end; k++) {
          const i = byCustomer[k]!;
          const di = day[i]!;
          if (di >= d && di < d + custDuration) pool.push(i);
        }
      }
      pool.sort((a, b) => a - b);
      const nFraud = Math.floor(pool.length * FRAUD_PARAMS.customerFraudShare);
      // Partial Fisher-Yates: the first nFraud entries become a uniform sample without replacement.
      for (let k = 0; k < nFraud; k++) {
        const j = k + rng.int(pool.length - k);
        const i = pool[j]!;
        pool[j] = pool[k]!;
        pool[k] = i;
        amountCents[i] = amountCents[i]! * FRAUD_PARAMS.customerAmountFactor;
        fraud[i] = 1;
        scenario[i] = 3;
      }
    }
  }

  return { compromisedTerminals, compromisedCustomers };
}
