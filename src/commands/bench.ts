/**
 * `fraud-engine bench` (npm run bench): throughput, latency and CPU per event of the engine beside
 * a kafkajs passthrough, on the local stack (src/bench/run.ts); the result as JSON on stdout (and
 * --json FILE, --save). `fraud-engine bench passthrough` is the bench's own passthrough process.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startPassthrough } from '../bench/kafka.js';
import { passthroughWorker } from '../bench/passthrough-process.js';
import { startPlatformaticPassthrough } from '../bench/platformatic-passthrough.js';
import { runBench, saveResult } from '../bench/run.js';
import { ROOT } from '../cli/child-engine.js';
import { configOf, guarded, parseOrUsage, UsageError } from '../cli/kit.js';
import { createKafka } from '../kafka/client.js';

const HELP = `usage: fraud-engine bench [--quick] [--curve | --curve-only] [--json FILE] [--save] [--label TEXT] [--profile DIR] [--config FILE]
  --quick          60,000 events at saturation and 20 s per fixed rate (default 200,000 and 60 s)
  --curve          also the saturation curve: offered 1k, 5k, 10k, 15k, 20k events/s, 10 s each with
                   --quick, 20 s in a full run (full runs include it unless --no-curve)
  --no-curve       a full run without the curve
  --curve-only     the saturation curve alone (a short check; not with --save)
  --curve-rates L  the curve's offered rates, comma-separated (default 1000,5000,10000,15000,20000)
  --json FILE      also write the result there
  --save           also write it to docs/bench/<date>-<quick|full>.json (npm run bench:tables renders those)
  --label TEXT     a note kept in the result (e.g. "quick, shared machine")
  --profile DIR    a V8 CPU profile of the engine per phase (DIR/saturation, DIR/fixed-rate)
Needs the local stack (scripts/stack up); deletes the topics and Redis keys it creates. See docs/performance.md.`;

const PASSTHROUGH_HELP = `usage: fraud-engine bench passthrough --input TOPIC --output TOPIC --group ID [--client kafkajs|platformatic] [--config FILE]
The bench's kafkajs passthrough as a process of its own: prints "ready" once its group is joined,
moves events until SIGTERM, then prints {"seen": N}. --client platformatic: the same on
@platformatic/kafka (a development dependency; scripts/bench-platformatic-ab.mjs).`;

export default function bench(argv: string[]): Promise<number> {
  if (argv[0] === 'passthrough') return passthrough(argv.slice(1));
  return guarded(async () => {
    const { values } = parseOrUsage(
      argv,
      {
        quick: { type: 'boolean' },
        curve: { type: 'boolean' },
        'no-curve': { type: 'boolean' },
        'curve-only': { type: 'boolean' },
        'curve-rates': { type: 'string' },
        json: { type: 'string' },
        save: { type: 'boolean' },
        label: { type: 'string' },
        config: { type: 'string' },
        profile: { type: 'string' },
      },
      HELP,
    );
    const curveOnly = values['curve-only'] === true;
    if (curveOnly && values.save) throw new UsageError(`--curve-only is a check, not a run for docs/bench/\n${HELP}`);
    const cfg = configOf(values.config ?? resolve(ROOT, 'config/default.yaml'));
    const quick = values.quick === true;
    const result = await runBench(cfg, {
      quick,
      curve: curveOnly || values.curve === true || (!quick && values['no-curve'] !== true),
      curveOnly,
      curveRates: values['curve-rates'] ? ratesOf(values['curve-rates']) : undefined,
      profileDir: values.profile ? resolve(values.profile) : undefined,
      label: values.label,
      log: (msg) => console.error(`[bench] ${msg}`),
    });
    const text = JSON.stringify(result, null, 2) + '\n';
    console.log(text.trimEnd());
    if (values.json) writeFileSync(values.json, text);
    if (values.save) console.error(`[bench] saved ${saveResult(result, resolve(ROOT, 'docs/bench'))}`);
    return 0;
  });
}

function ratesOf(list: string): number[] {
  const rates = list.split(',').map((x) => Number(x.trim()));
  if (!rates.length || rates.some((r) => !Number.isInteger(r) || r < 1))
    throw new UsageError(`--curve-rates: positive integers, comma-separated\n${HELP}`);
  return rates;
}

function passthrough(argv: string[]): Promise<number> {
  return guarded(async () => {
    const { values } = parseOrUsage(
      argv,
      {
        input: { type: 'string' },
        output: { type: 'string' },
        group: { type: 'string' },
        client: { type: 'string' },
        config: { type: 'string' },
      },
      PASSTHROUGH_HELP,
    );
    const { input, output, group } = values;
    const client = values.client ?? 'kafkajs';
    if (!input || !output || !group || !['kafkajs', 'platformatic'].includes(client))
      throw new UsageError(PASSTHROUGH_HELP);
    const cfg = configOf(values.config ?? resolve(ROOT, 'config/default.yaml'));
    const stopped = new Promise((r) => {
      process.once('SIGTERM', r);
      process.once('SIGINT', r);
    });
    const o = { input, output, groupId: group };
    await passthroughWorker(
      client === 'platformatic'
        ? () => startPlatformaticPassthrough({ ...o, brokers: cfg.kafka.brokers })
        : () => startPassthrough(createKafka(cfg.kafka, undefined, '-passthrough'), o),
      stopped,
      (line) => console.log(line),
    );
    return 0;
  });
}
