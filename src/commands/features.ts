/**
 * `fraud-engine features`: the feature vector of every transaction of a history file, computed
 * as the engine would have served it (labels arriving after the chargeback delay), to CSV
 * (src/features/csv.ts). Backfill of the engine's Redis store and of training data, and a parity
 * check between the stores (both print identically). Redis is the configuration's (redis.*).
 */
import { performance } from 'node:perf_hooks';
import * as kit from '../cli/kit.js';
import { connectRedis } from '../cli/clients.js';
import { readHistoryFile } from '../events/history/index.js';
import { writeFeatureCsv } from '../features/csv.js';
import { interleaveLabels } from '../features/label-feed.js';
import { MemoryFeatureStore } from '../features/memory-store.js';
import { FEATURE_NAMES } from '../features/names.js';
import { backfillStore, type RedisFeatureStore } from '../features/redis/store.js';

const USAGE = `usage: fraud-engine features --input FILE --out FILE [options]

Computes the feature vector of every transaction of FILE (CSV or JSONL history, see
src/events/history-file.ts) in time order, with each known outcome applied as a label
--label-delay-days after its transaction, and writes a CSV: auth_id, then one column per
feature (src/features/definitions.ts order); a missing value is an empty cell.

options:
  --input FILE             history file (required)
  --format F               csv | jsonl (default: from the file's extension)
  --out FILE               output CSV, '-' for stdout (required)
  --store S                memory | redis (default memory)
  --label-delay-days D     days between a transaction and its label (default 7)
  --batch-size N           transactions per enrich call (default 500)
  --config FILE            configuration (default config/default.yaml): Redis from redis.url,
                           FRAUD_REDIS_PASSWORD, redis.tls_ca_file, redis.key_prefix
  --backfill               with --store redis: write into the engine's store (keys under
                           redis.key_prefix, kept). Default: a scratch prefix
                           (<redis.key_prefix>-features-<pid>-<time>) whose keys are deleted at the end.
  -h, --help               this help

A one-line summary (rows, time, rate) goes to stderr.`;

export default function features(argv: string[]): Promise<number> {
  return kit.guarded(async () => {
    const { values } = kit.parseOrUsage(
      argv,
      {
        input: { type: 'string', short: 'i' },
        format: { type: 'string' },
        out: { type: 'string', short: 'o' },
        store: { type: 'string' },
        'label-delay-days': { type: 'string' },
        'batch-size': { type: 'string' },
        config: { type: 'string' },
        backfill: { type: 'boolean' },
      },
      USAGE,
    );
    const input = kit.required(values.input, '--input', USAGE);
    const outPath = kit.required(values.out, '--out', USAGE);
    const storeKind = kit.choiceOption('store', values.store, ['memory', 'redis'] as const) ?? 'memory';
    const format = kit.formatOption(values.format);
    const delayDays = kit.numberOption('label-delay-days', values['label-delay-days'], 7);
    const batchSize = kit.intOption('batch-size', values['batch-size'], 500, 1);
    if (values.backfill && storeKind !== 'redis') throw new kit.UsageError('--backfill goes with --store redis');

    const t0 = performance.now();
    const feed = interleaveLabels(await readHistoryFile(input, format), delayDays);
    let store: MemoryFeatureStore | RedisFeatureStore = new MemoryFeatureStore();
    let close = () => store.close();
    if (storeKind === 'redis') {
      const cfg = kit.configOf(values.config).redis;
      const redis = await connectRedis(cfg, { options: { maxRetriesPerRequest: 2 } });
      ({ store, close } = backfillStore(redis, cfg.key_prefix, values.backfill === true));
    }
    const out = kit.lineWriter(outPath);
    let rows = 0;
    try {
      rows = await writeFeatureCsv(store, feed, (text) => out.write(text), { batchSize });
      await out.close();
    } finally {
      await close();
    }
    const secs = (performance.now() - t0) / 1000;
    console.error(
      `features: ${rows} rows, ${FEATURE_NAMES.length} features, store ${storeKind}, ${secs.toFixed(2)} s (${Math.round(rows / Math.max(secs, 1e-9))} tx/s)`,
    );
    return 0;
  });
}
