/**
 * `fraud-engine simulate`: synthetic card transactions (the handbook's simulator plus richer
 * fields, src/simulator/) to a CSV or JSONL file, or stdout. Composition root: the only side
 * effects (files, stdout, stderr) live here.
 */
import { performance } from 'node:perf_hooks';
import { choiceOption, guarded, intOption, numberOption, parseOrUsage, UsageError, writeOutput } from '../cli/kit.js';
import {
  simulate,
  simulationSummary,
  writeSimulation,
  DEFAULT_SIMULATION_OPTIONS as D,
  type Simulation,
  type SimulationOptions,
} from '../simulator/index.js';

const USAGE = `usage: fraud-engine simulate [options]

Generates synthetic card transactions after the simulator of "Reproducible Machine Learning for
Credit Card Fraud Detection" (Le Borgne et al., ch. 3.2), with card tokens, merchants, channels,
devices and countries added. Deterministic for a seed.

options:
  --customers N      number of customers            (default ${D.customers})
  --terminals M      number of terminals            (default ${D.terminals})
  --days D           number of days                 (default ${D.days})
  --start DATE       first day, YYYY-MM-DD, UTC     (default ${D.start})
  --seed S           random seed, integer >= 0      (default ${D.seed})
  --radius R         customer-terminal radius       (default ${D.radius})
  --out FILE         output file, '-' for stdout    (default stdout)
  --format F         csv | jsonl                    (default: from --out's extension, else csv)
  --handbook-only    only the handbook's seven columns (CSV); no richer fields
  -h, --help         this help

  --to-kafka ...     load-generator mode: see 'fraud-engine simulate --to-kafka --help'

A one-line summary (transactions, fraud rate, scenario shares, time) goes to stderr.`;

export default async function simulateCommand(argv: string[]): Promise<number> {
  // Load-generator mode lives in its own module (loaded lazily: file mode never loads kafkajs).
  if (argv.includes('--to-kafka')) return (await import('./simulate-to-kafka.js')).default(argv);
  return guarded(async () => {
    const { values } = parseOrUsage(
      argv,
      {
        customers: { type: 'string' },
        terminals: { type: 'string' },
        days: { type: 'string' },
        start: { type: 'string' },
        seed: { type: 'string' },
        radius: { type: 'string' },
        out: { type: 'string', short: 'o' },
        format: { type: 'string' },
        'handbook-only': { type: 'boolean' },
      },
      USAGE,
    );
    const int = (name: 'customers' | 'terminals' | 'days' | 'seed') =>
      values[name] === undefined ? {} : { [name]: intOption(name, values[name], 0) };
    const opts: SimulationOptions = {
      enrich: !values['handbook-only'],
      ...int('customers'),
      ...int('terminals'),
      ...int('days'),
      ...int('seed'),
      ...(values.radius !== undefined ? { radius: numberOption('radius', values.radius, 0) } : {}),
      ...(values.start !== undefined ? { start: values.start } : {}),
    };
    const outPath = values.out && values.out !== '-' ? values.out : null;
    const format =
      choiceOption('format', values.format, ['csv', 'jsonl'] as const) ??
      (outPath && /\.(jsonl|ndjson)$/i.test(outPath) ? 'jsonl' : 'csv');

    const t0 = performance.now();
    let sim: Simulation;
    try {
      sim = simulate(opts);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const stop = await writeOutput(outPath, (out) => writeSimulation(sim, out, format));
    if (stop !== undefined) return stop;
    console.error(simulationSummary(sim, (performance.now() - t0) / 1000, outPath ?? 'stdout'));
    return 0;
  });
}
