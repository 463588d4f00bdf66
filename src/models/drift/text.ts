/** A drift report for people: the score's PSI, then the features', largest first, each read against the thresholds. */
import type { DriftReport } from './monitor.js';
import { PSI_MODERATE, PSI_SIGNIFICANT } from './psi.js';

const reading = (v: number | null): string =>
  v === null ? 'n/a' : `${v.toFixed(4)}${v > PSI_SIGNIFICANT ? '  significant' : v > PSI_MODERATE ? '  moderate' : ''}`;

export function driftText(r: DriftReport): string {
  const features = Object.entries(r.feature_psi).sort(([, a], [, b]) => (b ?? -1) - (a ?? -1));
  const width = Math.max(5, ...features.map(([name]) => name.length));
  return [
    `drift against the training window of ${r.model_version} (${r.reference_window.from} .. ${r.reference_window.to}), ${r.samples} decisions:` +
      ` PSI < ${PSI_MODERATE} stable, ${PSI_MODERATE}-${PSI_SIGNIFICANT} moderate, > ${PSI_SIGNIFICANT} significant`,
    `  ${'score'.padEnd(width)}  ${reading(r.score_psi)}`,
    ...features.map(([name, v]) => `  ${name.padEnd(width)}  ${reading(v)}`),
  ].join('\n');
}
