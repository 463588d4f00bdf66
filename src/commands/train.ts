/**
 * `fraud-engine train`: the engine logs its own feature vectors for the history (the same
 * in-memory feature store and label feed as `replay`, so online and offline cannot drift),
 * then the Python trainer in training/ fits and exports MODEL.onnx + MODEL.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readHistoryFile } from '../events/history-file.js';
import { interleaveLabels } from '../features/label-feed.js';
import { MemoryFeatureStore } from '../features/memory-store.js';
import { FEATURE_NAMES } from '../features/names.js';
import { writeFeatureCsv } from '../features/csv.js';
import { lineWriter } from '../cli/kit.js';

const ROOT = resolve(import.meta.dirname, '../..');
const HELP = `usage: fraud-engine train --input FILE --train-from DATE --train-to DATE --out MODEL.onnx [options]

Logs the engine's feature vectors for FILE (CSV or JSONL history) up to --train-to, then fits a
LightGBM model (or, with --params blend, a LightGBM + logistic regression ensemble) on
[--train-from, --train-to) with training/train.py and writes MODEL.onnx and
MODEL.json (feature order, hyper-parameters, validation figures, suggested thresholds).

options:
  --delay-days D         label delay (default 7): labels arrive D days after their transaction,
                         and separate selection-train from validation
  --valid-days D         validation period at the end of the window (default 7); 0 with fixed
                         hyper-parameters: fit the whole window, validate out of fold (the
                         handbook's "train one week" protocol)
  --params JSON|blend    fixed hyper-parameters, no selection, e.g. '{"num_leaves":15,"n_estimators":200}'
                         (keys: num_leaves, learning_rate, n_estimators, min_child_samples,
                         imbalance none|sqrt|balanced, max_depth, colsample_bytree, reg_lambda,
                         subsample; ensemble: seeds, lr_weight, lr_transform none|slog, lr_c;
                         "preset":"blend" to start from the blend). 'blend': 5 LightGBMs
                         averaged + 0.2 x logistic regression, one ONNX graph (docs/model.md)
  --no-select            fixed hyper-parameters: training/train.py DEFAULT_PARAMS
  --only-features LIST   comma-separated features the model may use, or 'handbook' (the
                         handbook's 15); the others are blanked, the input stays the full vector
  --version V            model version (default lgbm-<train-to>-<hash>)
  --n-jobs N             LightGBM threads (default 2)
  --keep-features FILE   keep the logged feature CSV
  -h, --help             this help

Default (no --params / --no-select): a small grid chosen on the delayed validation period.`;

/** The handbook's features (Le Borgne et al., ch. 3.3): the first 15 of FEATURE_NAMES. */
const HANDBOOK_FEATURES = FEATURE_NAMES.slice(0, FEATURE_NAMES.indexOf('terminal_risk_30d') + 1);

export default async function train(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      input: { type: 'string' }, 'train-from': { type: 'string' }, 'train-to': { type: 'string' }, 'delay-days': { type: 'string' },
      'valid-days': { type: 'string' }, out: { type: 'string' }, version: { type: 'string' }, 'keep-features': { type: 'string' },
      params: { type: 'string' }, 'no-select': { type: 'boolean' }, 'only-features': { type: 'string' }, 'n-jobs': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(HELP); return 0; }
  if (!values.input || !values['train-from'] || !values['train-to'] || !values.out) { console.error(HELP); return 2; }
  const trainTo = Date.parse(/T/.test(values['train-to']) ? values['train-to'] : `${values['train-to']}T00:00:00Z`);
  if (!Number.isFinite(trainTo)) { console.error(`--train-to: not a date: '${values['train-to']}'`); return 2; }
  const delayDays = Number(values['delay-days'] ?? 7);
  if (!Number.isFinite(delayDays) || delayDays < 0) { console.error('--delay-days must be a number >= 0'); return 2; }
  if (values.params !== undefined && values['no-select']) { console.error('--params and --no-select: give one of them'); return 2; }
  let onlyFeatures: string | undefined = values['only-features'];
  if (onlyFeatures === 'handbook') onlyFeatures = HANDBOOK_FEATURES.join(',');

  const tmp = mkdtempSync(join(tmpdir(), 'fraud-train-'));
  try {
    const t0 = performance.now();
    // Only transactions before the window's end are needed; their labels follow the delay.
    const records = (await readHistoryFile(values.input)).filter((r) => r.event.event_time < trainTo);
    if (records.some((r) => r.fraud === null)) console.error('train: transactions without a label are kept for features but not trained on');
    const features = values['keep-features'] ?? join(tmp, 'features.csv');
    const labels = join(tmp, 'labels.csv');
    const store = new MemoryFeatureStore();
    const featureOut = lineWriter(features);
    await writeFeatureCsv(store, interleaveLabels(records, delayDays), (text) => featureOut.write(text));
    await featureOut.close();
    const labelOut = lineWriter(labels);
    await labelOut.write('auth_id,tx_datetime,tx_fraud\n');
    for (const r of records) if (r.fraud !== null) await labelOut.write(`${JSON.stringify(r.event.auth_id)},${new Date(r.event.event_time).toISOString()},${r.fraud ? 1 : 0}\n`);
    await labelOut.close();
    console.error(`train: logged ${records.length} feature vectors in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const setup = spawnSync('bash', [resolve(ROOT, 'scripts/setup-python.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (setup.status !== 0) { console.error('train: python environment setup failed'); return 1; }
    const python = setup.stdout.trim().split('\n').pop()!;
    const args = [resolve(ROOT, 'training/train.py'), '--features', features, '--labels', labels,
      '--train-from', values['train-from'], '--train-to', values['train-to'], '--delay-days', String(delayDays), '--out', values.out];
    if (values['valid-days'] !== undefined) args.push('--valid-days', values['valid-days']);
    if (values.params !== undefined) args.push('--params', values.params);
    if (values['no-select']) args.push('--no-select');
    if (onlyFeatures !== undefined) args.push('--only-features', onlyFeatures);
    if (values['n-jobs'] !== undefined) args.push('--n-jobs', values['n-jobs']);
    if (values.version) args.push('--version', values.version);
    const fit = spawnSync(python, args, { stdio: 'inherit' });
    return fit.status ?? 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
