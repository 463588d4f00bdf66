/**
 * `fraud-engine features`: the feature vector of every transaction of a history file, computed
 * as the engine would have served it (labels arriving after the chargeback delay), to CSV.
 * Backfill of training data, and a parity check between the stores (both print identically).
 * Composition root: files, the Redis connection and stderr live here.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { readHistoryFile, type HistoryFormat } from '../events/history-file.js';
import { FEATURE_NAMES } from '../features/names.js';
import { MemoryFeatureStore } from '../features/memory-store.js';
import { RedisFeatureStore } from '../features/redis-store.js';
import { writeFeatureCsv } from '../features/csv.js';
import { interleaveLabels } from '../features/label-feed.js';
import type { FeatureStore } from '../features/store.js';
import { lineWriter } from '../cli/kit.js';

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
  --redis-url URL          Redis for --store redis (default $FRAUD_REDIS_URL or redis://127.0.0.1:6379)
  --prefix P               Redis key prefix; the keys are kept. Default: a unique prefix whose
                           keys are deleted at the end.
  -h, --help               this help

A one-line summary (rows, time, rate) goes to stderr.`;

export default async function features(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        input: { type: 'string', short: 'i' },
        format: { type: 'string' },
        out: { type: 'string', short: 'o' },
        store: { type: 'string' },
        'label-delay-days': { type: 'string' },
        'batch-size': { type: 'string' },
        'redis-url': { type: 'string' },
        prefix: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const bad = (msg: string): number => {
    console.error(`${msg}\n\n${USAGE}`);
    return 2;
  };
  if (!values.input) return bad('--input is required');
  if (!values.out) return bad('--out is required');
  const storeKind = values.store ?? 'memory';
  if (storeKind !== 'memory' && storeKind !== 'redis') return bad(`--store must be memory or redis, got '${storeKind}'`);
  const format = values.format;
  if (format !== undefined && format !== 'csv' && format !== 'jsonl') return bad(`--format must be csv or jsonl, got '${format}'`);
  const delayDays = Number(values['label-delay-days'] ?? '7');
  if (!Number.isFinite(delayDays) || delayDays < 0) return bad(`--label-delay-days must be a number >= 0, got '${values['label-delay-days']}'`);
  const batchSize = Number(values['batch-size'] ?? '500');
  if (!Number.isInteger(batchSize) || batchSize < 1) return bad(`--batch-size must be an integer >= 1, got '${values['batch-size']}'`);

  const t0 = performance.now();
  const records = await readHistoryFile(values.input, format as HistoryFormat | undefined);
  const feed = interleaveLabels(records, delayDays);

  let store: FeatureStore;
  let redisStore: RedisFeatureStore | null = null;
  let redis: Redis | null = null;
  const keepKeys = values.prefix !== undefined;
  if (storeKind === 'redis') {
    const url = values['redis-url'] ?? process.env.FRAUD_REDIS_URL ?? 'redis://127.0.0.1:6379';
    redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await redis.connect();
    const prefix = values.prefix ?? `fe-features-${process.pid}-${Date.now().toString(36)}`;
    store = redisStore = new RedisFeatureStore(redis, { prefix });
  } else {
    store = new MemoryFeatureStore();
  }

  const out = lineWriter(values.out);
  let rows = 0;
  try {
    rows = await writeFeatureCsv(store, feed, (text) => out.write(text), { batchSize });
    await out.close();
  } finally {
    if (redisStore && !keepKeys) await redisStore.deleteAll();
    await store.close();
    if (redis) await redis.quit();
  }
  const secs = (performance.now() - t0) / 1000;
  console.error(
    `features: ${rows} rows, ${FEATURE_NAMES.length} features, store ${storeKind}, ${secs.toFixed(2)} s (${Math.round(rows / Math.max(secs, 1e-9))} tx/s)`,
  );
  return 0;
}
