/**
 * Stream ids of the simulator's random number generators: Rng.derive(seed, STREAM.x, ...).
 * The handbook's columns use only the first five; the richer fields use their own, so turning
 * enrichment on or off never changes the handbook's columns.
 */
export const STREAM = {
  customers: 1,
  terminals: 2,
  transactions: 3,
  compromisedTerminals: 4,
  compromisedCustomers: 5,
  enrichCustomers: 101,
  enrichTerminals: 102,
  enrichTransactions: 103,
} as const;
