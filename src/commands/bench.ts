/**
 * `fraud-engine bench` (npm run bench): throughput and latency of the engine beside a kafkajs
 * passthrough, on the local stack (src/bench/run.ts); the result as JSON on stdout (and --json FILE).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runBench } from '../bench/run.js';
import { ROOT } from '../cli/child-engine.js';
import { configOf, guarded, parseOrUsage } from '../cli/kit.js';

const HELP = `usage: fraud-engine bench [--quick] [--json FILE] [--profile DIR] [--config FILE]
  --quick          60,000 events at saturation and 20 s per fixed rate (default 200,000 and 60 s)
  --json FILE      also write the result there
  --profile DIR    a V8 CPU profile of the engine per phase (DIR/saturation, DIR/fixed-rate)
Needs the local stack (scripts/stack up); deletes the topics and Redis keys it creates. See docs/performance.md.`;

export default function bench(argv: string[]): Promise<number> {
  return guarded(async () => {
    const { values } = parseOrUsage(
      argv,
      { quick: { type: 'boolean' }, json: { type: 'string' }, config: { type: 'string' }, profile: { type: 'string' } },
      HELP,
    );
    const cfg = configOf(values.config ?? resolve(ROOT, 'config/default.yaml'));
    const result = await runBench(cfg, {
      quick: values.quick === true,
      profileDir: values.profile ? resolve(values.profile) : undefined,
      log: (msg) => console.error(`[bench] ${msg}`),
    });
    console.log(JSON.stringify(result, null, 2));
    if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2) + '\n');
    return 0;
  });
}
