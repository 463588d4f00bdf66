/**
 * The simulator's entry point: profiles → transactions → frauds → richer fields.
 * The result keeps the transactions as columns (cheap for millions of rows) and hands out
 * `AuthorizationEvent`s in time order on demand.
 */
import type { AuthorizationEvent } from '../events/types.js';
import { SECONDS_PER_DAY } from '../events/time.js';
import { Rng } from './rng.js';
import { STREAM } from './streams.js';
import {
  resolveOptions,
  startMs as startMsOf,
  type ResolvedSimulationOptions,
  type SimulationOptions,
} from './options.js';
import {
  availableTerminals,
  generateCustomerProfiles,
  generateTerminalProfiles,
  type CustomerProfiles,
  type TerminalProfiles,
} from './profiles.js';
import { generateTransactions, type TransactionColumns } from './generate.js';
import { injectFrauds, type Compromise } from './fraud.js';
import { enrich, ENRICH_PARAMS, type Enrichment } from './enrich.js';

/** One simulated transaction: the event the gateway would publish, and its ground truth. */
export interface SimulatedTransaction {
  event: AuthorizationEvent;
  fraud: boolean;
  /** 0 = genuine, 1-3 = the handbook's fraud scenario. */
  scenario: number;
}

export interface SimulationStats {
  count: number;
  frauds: number;
  fraudRate: number;
  /** Number of transactions per scenario code 0..3. */
  byScenario: [number, number, number, number];
}

export class Simulation {
  readonly startMs: number;
  private readonly customerIds: string[];
  private readonly terminalIds: string[];

  constructor(
    readonly options: ResolvedSimulationOptions,
    readonly customers: CustomerProfiles,
    readonly terminals: TerminalProfiles,
    readonly tx: TransactionColumns,
    readonly compromisedTerminals: Compromise[],
    readonly compromisedCustomers: Compromise[],
    readonly enrichment: Enrichment | null,
  ) {
    this.startMs = startMsOf(options.start);
    this.customerIds = Array.from({ length: customers.count }, (_, i) => String(i));
    this.terminalIds = Array.from({ length: terminals.count }, (_, i) => String(i));
  }

  /** Number of transactions; transaction ids are 0 .. count-1 in time order. */
  get count(): number {
    return this.tx.count;
  }

  /** Event time of transaction i, epoch ms. */
  eventTime(i: number): number {
    return this.startMs + this.tx.timeSec[i]! * 1000;
  }

  /** Day index (0-based) of transaction i. */
  day(i: number): number {
    return Math.floor(this.tx.timeSec[i]! / SECONDS_PER_DAY);
  }

  /** The AuthorizationEvent of transaction i (auth_id = String(i)). */
  event(i: number): AuthorizationEvent {
    const tx = this.tx;
    const c = tx.customer[i]!;
    const t = tx.terminal[i]!;
    const customerId = this.customerIds[c]!;
    const e = this.enrichment;
    if (!e) {
      return {
        auth_id: String(i),
        event_time: this.eventTime(i),
        card_token: customerId,
        customer_id: customerId,
        terminal_id: this.terminalIds[t]!,
        merchant_id: null,
        mcc: null,
        amount_minor: tx.amountCents[i]!,
        currency: ENRICH_PARAMS.currency,
        channel: 'UNKNOWN',
        device_id: null,
        ip: null,
        email_hash: null,
        country: null,
        description: null,
      };
    }
    const m = e.terminalMerchant[t]!;
    const d = e.txDevice[i]!;
    return {
      auth_id: String(i),
      event_time: this.eventTime(i),
      card_token: e.cardTokens[e.txCard[i]!]!,
      customer_id: customerId,
      terminal_id: this.terminalIds[t]!,
      merchant_id: e.merchantIds[m]!,
      mcc: e.merchantMcc[m]!,
      amount_minor: tx.amountCents[i]!,
      currency: ENRICH_PARAMS.currency,
      channel: e.terminalChannel[t]!,
      device_id: d >= 0 ? e.deviceIds[d]! : null,
      ip: d >= 0 ? e.deviceIps[d]! : null,
      email_hash: e.emailHash[c]!,
      country: e.terminalCountry[t]!,
      description: null,
    };
  }

  transaction(i: number): SimulatedTransaction {
    return { event: this.event(i), fraud: this.tx.fraud[i] === 1, scenario: this.tx.scenario[i]! };
  }

  /** Transactions [from, to) in time order. */
  *transactions(from = 0, to = this.count): IterableIterator<SimulatedTransaction> {
    for (let i = from; i < to; i++) yield this.transaction(i);
  }

  [Symbol.iterator](): IterableIterator<SimulatedTransaction> {
    return this.transactions();
  }

  stats(): SimulationStats {
    const byScenario: [number, number, number, number] = [0, 0, 0, 0];
    let frauds = 0;
    for (let i = 0; i < this.tx.count; i++) {
      byScenario[this.tx.scenario[i]! as 0 | 1 | 2 | 3]++;
      frauds += this.tx.fraud[i]!;
    }
    return { count: this.tx.count, frauds, fraudRate: this.tx.count ? frauds / this.tx.count : 0, byScenario };
  }
}

/** Runs the simulation (synchronous, deterministic for given options). */
export function simulate(opts: SimulationOptions = {}): Simulation {
  const o = resolveOptions(opts);
  const base = generateCustomerProfiles(o.customers, Rng.derive(o.seed, STREAM.customers));
  const terminals = generateTerminalProfiles(o.terminals, Rng.derive(o.seed, STREAM.terminals));
  const avail = availableTerminals(base, terminals, o.radius);
  const customers: CustomerProfiles = { ...base, availableOffsets: avail.offsets, availableTerminals: avail.terminals };
  const tx = generateTransactions(customers, o.days, o.seed);
  const { compromisedTerminals, compromisedCustomers } = injectFrauds(tx, o.customers, o.terminals, o.seed);
  const enrichment = o.enrich ? enrich(customers, terminals, tx, o.seed) : null;
  return new Simulation(o, customers, terminals, tx, compromisedTerminals, compromisedCustomers, enrichment);
}
