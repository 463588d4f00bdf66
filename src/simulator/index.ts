/**
 * Synthetic card transactions after the handbook's simulator (Le Borgne et al., ch. 3.2),
 * with richer fields for the engine. Public surface of src/simulator/.
 */
export { simulate, Simulation, type SimulatedTransaction, type SimulationStats } from './simulation.js';
export {
  DEFAULT_SIMULATION_OPTIONS,
  FRAUD_PARAMS,
  resolveOptions,
  type SimulationOptions,
  type ResolvedSimulationOptions,
} from './options.js';
export {
  writeSimulation,
  simulationSummary,
  csvHeader,
  csvRowFormatter,
  jsonlRowFormatter,
  HANDBOOK_COLUMNS,
  EXTRA_COLUMNS,
  type SimulationFormat,
} from './output.js';
export type { Compromise } from './fraud.js';
export type { Enrichment } from './enrich.js';
export type { TransactionColumns } from './generate.js';
export type { CustomerProfiles, TerminalProfiles } from './profiles.js';
