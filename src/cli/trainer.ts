/**
 * The Python trainer (training/: LightGBM → ONNX) run from the engine's CLI: its environment
 * made ready by scripts/setup-python.sh, then training/train.py on the logged feature vectors.
 * A leaf of the edge, like ./child-engine.ts.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ROOT } from './child-engine.js';

export interface TrainerRun {
  /** The logged feature vectors and labels (CSV, src/features/csv.ts). */
  features: string;
  labels: string;
  trainFrom: string;
  trainTo: string;
  delayDays: number;
  /** MODEL.onnx; MODEL.json is written beside it. */
  out: string;
  /** Passed on as --<key> <value> when defined. */
  passed: Record<string, string | undefined>;
  noSelect: boolean;
}

/** Runs training/train.py (stdio inherited); its exit status, 1 when the Python environment cannot be set up. */
export function runTrainer(o: TrainerRun): number {
  const setup = spawnSync('bash', [resolve(ROOT, 'scripts/setup-python.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (setup.status !== 0) {
    console.error('train: python environment setup failed');
    return 1;
  }
  const python = setup.stdout.trim().split('\n').pop()!;
  const args = [
    resolve(ROOT, 'training/train.py'),
    '--features',
    o.features,
    '--labels',
    o.labels,
    '--train-from',
    o.trainFrom,
    '--train-to',
    o.trainTo,
    '--delay-days',
    String(o.delayDays),
    '--out',
    o.out,
  ];
  for (const [k, v] of Object.entries(o.passed)) if (v !== undefined) args.push(`--${k}`, v);
  if (o.noSelect) args.push('--no-select');
  return spawnSync(python, args, { stdio: 'inherit' }).status ?? 1;
}
