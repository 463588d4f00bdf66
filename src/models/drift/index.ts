/** Drift of the served features and scores against the model's training window (docs/model.md, Drift). */
export { binOf, psi, psiOfCounts, PSI_MODERATE, PSI_SIGNIFICANT } from './psi.js';
export {
  checkReference,
  DriftReferenceError,
  loadDriftReference,
  parseDriftReference,
  referenceForModel,
  referencePathFor,
  type Binning,
  type DriftReference,
} from './reference.js';
export { DriftCounts, DriftMonitor, type DriftMonitorOptions, type DriftReport } from './monitor.js';
export { driftText } from './text.js';
