/**
 * `fraud-engine train`: the engine logs its own feature vectors for the history (the same
 * in-memory feature store and label feed as `replay`, so online and offline cannot drift),
 * then the Python trainer in training/ fits and exports MODEL.onnx + MODEL.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHistoryFile } from '../events/history/index.js';
import { HANDBOOK_FEATURES } from '../features/names.js';
import { writeTrainingCsv } from '../features/csv.js';
import { runTrainer } from '../cli/trainer.js';
import { guarded, lineWriter, numberOption, parseOrUsage, parseTime, UsageError } from '../cli/kit.js';

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
  --no-select            fixed hyper-parameters: DEFAULT_PARAMS of training/fraud_trainer/params.py
  --only-features LIST   comma-separated features the model may use, or 'handbook' (the
                         handbook's 15); the others are blanked, the input stays the full vector
  --version V            model version (default lgbm-<train-to>-<hash>)
  --n-jobs N             LightGBM threads (default 2)
  --keep-features FILE   keep the logged feature CSV
  -h, --help             this help

Default (no --params / --no-select): a small grid chosen on the delayed validation period.`;

export default function train(argv: string[]): Promise<number> {
  return guarded(async () => {
    const { values } = parseOrUsage(
      argv,
      {
        input: { type: 'string' },
        'train-from': { type: 'string' },
        'train-to': { type: 'string' },
        'delay-days': { type: 'string' },
        'valid-days': { type: 'string' },
        out: { type: 'string' },
        version: { type: 'string' },
        'keep-features': { type: 'string' },
        params: { type: 'string' },
        'no-select': { type: 'boolean' },
        'only-features': { type: 'string' },
        'n-jobs': { type: 'string' },
      },
      HELP,
    );
    if (!values.input || !values['train-from'] || !values['train-to'] || !values.out) {
      console.error(HELP);
      return 2;
    }
    const trainTo = parseTime('train-to', values['train-to']);
    const delayDays = numberOption('delay-days', values['delay-days'], 7);
    if (values.params !== undefined && values['no-select'])
      throw new UsageError('--params and --no-select: give one of them');
    const onlyFeatures = values['only-features'] === 'handbook' ? HANDBOOK_FEATURES.join(',') : values['only-features'];
    // Logs the feature vectors and labels up to --train-to in a temporary directory, then runs training/train.py on them.
    const tmp = mkdtempSync(join(tmpdir(), 'fraud-train-'));
    try {
      const t0 = performance.now();
      // Only transactions before the window's end are needed; their labels follow the delay.
      const records = (await readHistoryFile(values.input)).filter((r) => r.event.event_time < trainTo);
      if (records.some((r) => r.fraud === null))
        console.error('train: transactions without a label are kept for features but not trained on');
      const features = values['keep-features'] ?? join(tmp, 'features.csv');
      const labels = join(tmp, 'labels.csv');
      await writeTrainingCsv(records, delayDays, lineWriter(features), lineWriter(labels));
      console.error(
        `train: logged ${records.length} feature vectors in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );

      return runTrainer({
        features,
        labels,
        trainFrom: values['train-from'],
        trainTo: values['train-to'],
        delayDays,
        out: values.out,
        passed: {
          'valid-days': values['valid-days'],
          params: values.params,
          'only-features': onlyFeatures,
          'n-jobs': values['n-jobs'],
          version: values.version || undefined,
        },
        noSelect: values['no-select'] === true,
      });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
