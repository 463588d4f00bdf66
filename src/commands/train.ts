/**
 * `fraud-engine train`: the training data comes from the engine itself, either logged now for a
 * history file (the same in-memory feature store and label feed as `replay`, so online and
 * offline cannot drift) or read from the audit trail (the vectors production served, with the
 * labels that arrived: src/features/audit-training.ts); then the Python trainer in training/
 * fits and exports MODEL.onnx + MODEL.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHistoryFile } from '../events/history/index.js';
import { DAY_MS } from '../events/time.js';
import { HANDBOOK_FEATURES } from '../features/names.js';
import { writeTrainingCsv, type ColdStart } from '../features/csv.js';
import { writeAuditTrainingCsv, type AuditTrainingCounts } from '../features/audit-training.js';
import { auditErrorExit, withAuditPool } from '../sinks/audit/pool.js';
import { readAuditTrainingRows } from '../sinks/audit/training-rows.js';
import { runTrainer } from '../cli/trainer.js';
import {
  configOf,
  guarded,
  lineWriter,
  numberOption,
  parseOrUsage,
  parseTime,
  UsageError,
  type Values,
} from '../cli/kit.js';

const HELP = `usage: fraud-engine train --input FILE --train-from DATE --train-to DATE --out MODEL.onnx [options]
       fraud-engine train --from-audit --from DATE --to DATE --out MODEL.onnx [--as-of TIME] [--config FILE] [options]

Fits a LightGBM model (or, with --params blend, a LightGBM + logistic regression ensemble) with
training/train.py and writes MODEL.onnx and MODEL.json (feature order, hyper-parameters,
validation figures, suggested thresholds, where the rows came from).

--input: logs the engine's feature vectors for FILE (CSV or JSONL history) up to --train-to and
fits them on [--train-from, --train-to), each label known --delay-days after its transaction.

--from-audit: the feature vectors the engine served (decision_audit, written by 'sink audit')
for the decisions with event time in [--from, --to), joined with the labels that arrived
(label_audit: chargebacks, analyst verdicts), read from PostgreSQL (FRAUD_POSTGRES_URL). At the
cut-off C (--as-of, default now):
  - a decision counts as labelled only once its label window has passed (event time +
    --delay-days <= C); a later one is left out, not counted as legitimate, even when a fraud
    label already came (so --to <= C - delay trains on the whole window);
  - it is fraud if any label that arrived by C (label_time <= C) says fraud, else legitimate;
  - a declined decision without any label by C is left out: a declined payment draws no
    chargeback, so no label is no evidence that it was legitimate;
  - degraded decisions (degraded not empty: an incomplete vector) and vectors lacking one of
    the engine's features are left out; each left-out decision is counted and printed.

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
  --cold-starts D1,D2    (history file) also train on cold starts: the transactions of
                         [D, D + --cold-start-days) replayed from an empty feature store, as a
                         new deployment serves them (each its own rows, beside the warm ones;
                         inside the training window)
  --cold-start-days N    length of each cold start (default 14)
  --version V            model version (default lgbm-<train-to>-<hash>)
  --n-jobs N             LightGBM threads (default 2)
  --keep-features FILE   keep the feature CSV the model was fitted on
  --as-of TIME           (--from-audit) the cut-off C: train as if on TIME (default now)
  --config FILE          (--from-audit) the configuration with postgres.url (default config/default.yaml)
  -h, --help             this help

Default (no --params / --no-select): a small grid chosen on the delayed validation period.
TIME: 2026-01-31 (UTC midnight), 2026-01-31T14:00:00Z, or epoch milliseconds.`;

const OPTIONS = {
  input: { type: 'string' },
  'train-from': { type: 'string' },
  'train-to': { type: 'string' },
  'from-audit': { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string' },
  'as-of': { type: 'string' },
  config: { type: 'string' },
  'delay-days': { type: 'string' },
  'valid-days': { type: 'string' },
  out: { type: 'string' },
  version: { type: 'string' },
  'keep-features': { type: 'string' },
  params: { type: 'string' },
  'no-select': { type: 'boolean' },
  'only-features': { type: 'string' },
  'n-jobs': { type: 'string' },
  'cold-starts': { type: 'string' },
  'cold-start-days': { type: 'string' },
} as const;

/** The training rows written to the two CSV files, and what the trainer is told about them. */
interface Prepared {
  trainFrom: string;
  trainTo: string;
  /** MODEL.json's training.source. */
  source: Record<string, unknown>;
}

/** ISO 8601 UTC, whole seconds without a fraction (what training/train.py writes back). */
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** The history file's vectors, logged now with the in-memory store (labels `delayDays` after their transaction). */
async function fromHistory(
  values: Values<typeof OPTIONS>,
  delayDays: number,
  features: string,
  labels: string,
): Promise<Prepared> {
  const input = values.input!;
  const trainTo = parseTime('train-to', values['train-to']!);
  const coldStarts = parseColdStarts(values, parseTime('train-from', values['train-from']!), trainTo);
  const t0 = performance.now();
  // Only transactions before the window's end are needed; their labels follow the delay.
  const records = (await readHistoryFile(input)).filter((r) => r.event.event_time < trainTo);
  if (records.some((r) => r.fraud === null))
    console.error('train: transactions without a label are kept for features but not trained on');
  const coldRows = await writeTrainingCsv(records, delayDays, lineWriter(features), lineWriter(labels), coldStarts);
  const cold = coldStarts.map((c, i) => ({ from: iso(c.from), to: iso(c.to), rows: coldRows[i]! }));
  console.error(
    `train: logged ${records.length} feature vectors` +
      (cold.length ? ` and ${coldRows.reduce((a, b) => a + b, 0)} from ${cold.length} cold start(s)` : '') +
      ` in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return {
    trainFrom: values['train-from']!,
    trainTo: values['train-to']!,
    source: { kind: 'history', input, transactions: records.length, ...(cold.length ? { cold_starts: cold } : {}) },
  };
}

/** --cold-starts DATE,... (each --cold-start-days long, inside the training window). */
function parseColdStarts(values: Values<typeof OPTIONS>, trainFrom: number, trainTo: number): ColdStart[] {
  if (!values['cold-starts']) {
    if (values['cold-start-days'] !== undefined) throw new UsageError('--cold-start-days: only with --cold-starts');
    return [];
  }
  const days = numberOption('cold-start-days', values['cold-start-days'], 14);
  if (!(days > 0)) throw new UsageError('--cold-start-days must be > 0');
  return values['cold-starts'].split(',').map((d) => {
    const from = parseTime('cold-starts', d.trim());
    const to = from + days * DAY_MS;
    if (from < trainFrom || to > trainTo)
      throw new UsageError(`--cold-starts: ${d.trim()} + ${days} days is not inside the training window`);
    return { from, to };
  });
}

/** The audit trail's served vectors and the labels known at the cut-off; null when none is trainable. */
async function fromAudit(
  values: Values<typeof OPTIONS>,
  delayDays: number,
  features: string,
  labels: string,
): Promise<Prepared | null> {
  const from = parseTime('from', values.from!);
  const to = parseTime('to', values.to!);
  if (to <= from) throw new UsageError('--to must be after --from');
  const cutoff = values['as-of'] ? parseTime('as-of', values['as-of']) : Date.now();
  const rule = { cutoffMs: cutoff, delayMs: Math.round(delayDays * DAY_MS) };
  const cfg = configOf(values.config);
  const t0 = performance.now();
  const counts: AuditTrainingCounts = await withAuditPool(cfg.postgres, 'fraud-engine-train', (pool) =>
    writeAuditTrainingCsv(
      readAuditTrainingRows(pool, { from, to, labelCutoff: cutoff }),
      rule,
      lineWriter(features),
      lineWriter(labels),
    ),
  );
  const x = counts.excluded;
  console.error(
    `train: read ${counts.decisions} decisions of the audit trail in [${iso(from)}, ${iso(to)}) in ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s; training on ${counts.rows} (${counts.frauds} frauds, ` +
      `labels known by ${iso(cutoff)}); left out: ${x.label_window_open} whose label window ends after the ` +
      `cut-off (event time >= ${iso(cutoff - rule.delayMs)}), ${x.degraded} degraded, ` +
      `${x.incomplete_vector} with an incomplete feature vector, ${x.declined_unlabelled} declined without a label ` +
      '(a declined payment draws no chargeback: no label is no evidence it was legitimate); ' +
      `${counts.declined_legitimate} declined rows train as legitimate by an analyst's verdict`,
  );
  if (counts.rows === 0) {
    console.error('train: no decision of the audit trail to train on (check --from/--to, --as-of and --delay-days)');
    return null;
  }
  return {
    trainFrom: iso(from),
    trainTo: iso(to),
    source: {
      kind: 'audit',
      from: iso(from),
      to: iso(to),
      label_cutoff: iso(cutoff),
      delay_days: delayDays,
      label_rule:
        'labelled once event_time + delay <= label_cutoff; fraud if any label with label_time <= label_cutoff says fraud; ' +
        'a declined decision without a label is left out',
      ...counts,
    },
  };
}

export default function train(argv: string[]): Promise<number> {
  return guarded(
    async () => {
      const { values } = parseOrUsage(argv, OPTIONS, HELP);
      const audit = values['from-audit'] === true;
      const history = ['input', 'train-from', 'train-to', 'cold-starts', 'cold-start-days'] as const;
      const auditOnly = ['from', 'to', 'as-of', 'config'] as const;
      const given = (keys: readonly (keyof typeof OPTIONS)[]) => keys.filter((k) => values[k] !== undefined);
      if (audit && given(history).length)
        throw new UsageError(
          `--from-audit reads the audit trail: drop ${given(history)
            .map((k) => `--${k}`)
            .join(', ')}`,
        );
      if (!audit && given(auditOnly).length)
        throw new UsageError(
          `${given(auditOnly)
            .map((k) => `--${k}`)
            .join(', ')}: only with --from-audit`,
        );
      const missing = audit
        ? !values.from || !values.to
        : !values.input || !values['train-from'] || !values['train-to'];
      if (missing || !values.out) {
        console.error(HELP);
        return 2;
      }
      const delayDays = numberOption('delay-days', values['delay-days'], 7);
      if (values.params !== undefined && values['no-select'])
        throw new UsageError('--params and --no-select: give one of them');
      const onlyFeatures =
        values['only-features'] === 'handbook' ? HANDBOOK_FEATURES.join(',') : values['only-features'];
      // The training rows go to two CSV files in a temporary directory, then training/train.py fits them.
      const tmp = mkdtempSync(join(tmpdir(), 'fraud-train-'));
      try {
        const features = values['keep-features'] ?? join(tmp, 'features.csv');
        const labels = join(tmp, 'labels.csv');
        const prepared = audit
          ? await fromAudit(values, delayDays, features, labels)
          : await fromHistory(values, delayDays, features, labels);
        if (!prepared) return 1;
        return runTrainer({
          features,
          labels,
          trainFrom: prepared.trainFrom,
          trainTo: prepared.trainTo,
          delayDays,
          out: values.out,
          passed: {
            'valid-days': values['valid-days'],
            params: values.params,
            'only-features': onlyFeatures,
            'n-jobs': values['n-jobs'],
            version: values.version || undefined,
            source: JSON.stringify(prepared.source),
          },
          noSelect: values['no-select'] === true,
        });
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    },
    (err) =>
      auditErrorExit(
        err,
        "train --from-audit: the audit trail's tables (decision_audit, label_audit) do not exist: run 'fraud-engine migrate'",
      ),
  );
}
