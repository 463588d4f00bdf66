/**
 * `fraud-engine train`: the engine logs its own feature vectors for the history (the same
 * in-memory feature store and label feed as `replay`, so online and offline cannot drift),
 * then the Python trainer in training/ fits and exports MODEL.onnx + MODEL.json.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readHistoryFile } from '../events/history-file.js';
import { driveFeatureStore, interleaveLabels } from '../features/label-feed.js';
import { MemoryFeatureStore } from '../features/memory-store.js';
import { FEATURE_NAMES } from '../features/names.js';
import { featureCsvRow } from './features.js';

const ROOT = resolve(import.meta.dirname, '../..');
const HELP = `usage: fraud-engine train --input FILE --train-from DATE --train-to DATE [--delay-days 7] [--valid-days 7]
       --out MODEL.onnx [--version V] [--keep-features FILE]`;

async function writeLines(path: string, lines: AsyncIterable<string> | Iterable<string>): Promise<void> {
  const s = createWriteStream(path);
  for await (const line of lines) if (!s.write(line + '\n')) await once(s, 'drain');
  s.end();
  await once(s, 'finish');
}

export default async function train(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      input: { type: 'string' }, 'train-from': { type: 'string' }, 'train-to': { type: 'string' }, 'delay-days': { type: 'string' },
      'valid-days': { type: 'string' }, out: { type: 'string' }, version: { type: 'string' }, 'keep-features': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) { console.log(HELP); return 0; }
  if (!values.input || !values['train-from'] || !values['train-to'] || !values.out) { console.error(HELP); return 2; }
  const trainTo = Date.parse(/T/.test(values['train-to']) ? values['train-to'] : `${values['train-to']}T00:00:00Z`);
  if (!Number.isFinite(trainTo)) { console.error(`--train-to: not a date: '${values['train-to']}'`); return 2; }
  const delayDays = Number(values['delay-days'] ?? 7);

  const tmp = mkdtempSync(join(tmpdir(), 'fraud-train-'));
  try {
    const t0 = performance.now();
    // Only transactions before the window's end are needed; their labels follow the delay.
    const records = (await readHistoryFile(values.input)).filter((r) => r.event.event_time < trainTo);
    if (records.some((r) => r.fraud === null)) console.error('train: transactions without a label are kept for features but not trained on');
    const features = values['keep-features'] ?? join(tmp, 'features.csv');
    const labels = join(tmp, 'labels.csv');
    const store = new MemoryFeatureStore();
    await writeLines(features, (async function* () {
      yield ['auth_id', ...FEATURE_NAMES].join(',');
      for await (const r of driveFeatureStore(store, interleaveLabels(records, delayDays))) yield featureCsvRow(r.auth_id, r.vector);
    })());
    await writeLines(labels, (function* () {
      yield 'auth_id,tx_datetime,tx_fraud';
      for (const r of records) if (r.fraud !== null) yield `${JSON.stringify(r.event.auth_id)},${new Date(r.event.event_time).toISOString()},${r.fraud ? 1 : 0}`;
    })());
    console.error(`train: logged ${records.length} feature vectors in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const setup = spawnSync('bash', [resolve(ROOT, 'scripts/setup-python.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (setup.status !== 0) { console.error('train: python environment setup failed'); return 1; }
    const python = setup.stdout.trim().split('\n').pop()!;
    const args = [resolve(ROOT, 'training/train.py'), '--features', features, '--labels', labels,
      '--train-from', values['train-from'], '--train-to', values['train-to'], '--delay-days', String(delayDays), '--out', values.out];
    if (values['valid-days']) args.push('--valid-days', values['valid-days']);
    if (values.version) args.push('--version', values.version);
    const fit = spawnSync(python, args, { stdio: 'inherit' });
    return fit.status ?? 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
