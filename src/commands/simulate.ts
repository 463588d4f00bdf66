/**
 * `fraud-engine simulate`: synthetic card transactions (the handbook's simulator plus richer
 * fields) to a CSV or JSONL file, or stdout. Composition root: the only side effects (files,
 * stdout, stderr) live here.
 */
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import {
  simulate,
  writeSimulation,
  DEFAULT_SIMULATION_OPTIONS as D,
  type Simulation,
  type SimulationFormat,
  type SimulationOptions,
} from '../simulator/index.js';

export { simulate, type Simulation, type SimulatedTransaction, type SimulationOptions } from '../simulator/index.js';

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
  if (argv.includes('--to-kafka')) {
    const mod = (await import('./simulate-to-kafka.js')) as { default: (argv: string[]) => Promise<number> };
    return mod.default(argv);
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        customers: { type: 'string' },
        terminals: { type: 'string' },
        days: { type: 'string' },
        start: { type: 'string' },
        seed: { type: 'string' },
        radius: { type: 'string' },
        out: { type: 'string', short: 'o' },
        format: { type: 'string' },
        'handbook-only': { type: 'boolean' },
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

  const opts: SimulationOptions = { enrich: !values['handbook-only'] };
  try {
    if (values.customers !== undefined) opts.customers = intArg('customers', values.customers);
    if (values.terminals !== undefined) opts.terminals = intArg('terminals', values.terminals);
    if (values.days !== undefined) opts.days = intArg('days', values.days);
    if (values.seed !== undefined) opts.seed = intArg('seed', values.seed);
    if (values.radius !== undefined) opts.radius = numArg('radius', values.radius);
    if (values.start !== undefined) opts.start = values.start;
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const outPath = values.out && values.out !== '-' ? values.out : null;
  const format = values.format ?? (outPath && /\.(jsonl|ndjson)$/i.test(outPath) ? 'jsonl' : 'csv');
  if (format !== 'csv' && format !== 'jsonl') {
    console.error(`--format must be csv or jsonl, got '${format}'`);
    return 2;
  }

  const t0 = performance.now();
  let sim: Simulation;
  try {
    sim = simulate(opts);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const out: Writable = outPath ? createWriteStream(outPath) : process.stdout;
  let outError: NodeJS.ErrnoException | null = null;
  out.on('error', (err: NodeJS.ErrnoException) => {
    outError ??= err;
  });
  try {
    await writeSimulation(sim, out, format as SimulationFormat);
    if (outPath) {
      out.end();
      await finished(out);
    }
  } catch (err) {
    const e = (outError ?? err) as NodeJS.ErrnoException;
    if (e.code === 'EPIPE') return 0; // stdout closed early (e.g. `| head`): not an error
    console.error(`cannot write ${outPath ?? 'stdout'}: ${e.message}`);
    return 1;
  }
  const seconds = (performance.now() - t0) / 1000;
  console.error(summary(sim, seconds, outPath ?? 'stdout'));
  return 0;
}

/** `1754155 transactions, 14681 frauds (0.837%): scenario 1 6.7%, 2 62.0%, 3 31.3% of frauds; 3.1 s → file`. */
export function summary(sim: Simulation, seconds: number, dest: string): string {
  const s = sim.stats();
  const pct = (x: number, d: number): string => (d ? ((100 * x) / d).toFixed(1) : '0.0') + '%';
  const o = sim.options;
  return (
    `simulated ${s.count} transactions (${o.customers} customers, ${o.terminals} terminals, ${o.days} days from ${o.start}, seed ${o.seed}): ` +
    `${s.frauds} frauds (${((100 * s.fraudRate) || 0).toFixed(3)}%), of which scenario 1 ${pct(s.byScenario[1], s.frauds)}, ` +
    `2 ${pct(s.byScenario[2], s.frauds)}, 3 ${pct(s.byScenario[3], s.frauds)}; ${seconds.toFixed(1)} s -> ${dest}`
  );
}

function intArg(name: string, v: string): number {
  if (!/^\d+$/.test(v.trim())) throw new Error(`--${name} must be a non-negative integer, got '${v}'`);
  return Number(v);
}

function numArg(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got '${v}'`);
  return n;
}
