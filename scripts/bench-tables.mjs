#!/usr/bin/env node
/**
 * `npm run bench:tables`: the tables of docs/performance.md rendered from the bench's committed
 * raw results, docs/bench/<date>-<quick|full>[-N].json (`npm run bench -- --save`), between the
 * markers `<!-- bench-tables:begin -->` and `<!-- bench-tables:end -->`. Every table names the
 * JSON files it comes from; nothing in them is typed by hand.
 *
 *   node scripts/bench-tables.mjs            rewrite docs/performance.md
 *   node scripts/bench-tables.mjs --check    exit 1 when docs/performance.md is not what the JSON gives
 *   node scripts/bench-tables.mjs --stdout   print the tables only
 *   --doc FILE                               another document than docs/performance.md
 *   --dir DIR                                another directory of runs than docs/bench
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
let BENCH_DIR = resolve(ROOT, 'docs/bench');
const DOC = resolve(ROOT, 'docs/performance.md');
const BEGIN = '<!-- bench-tables:begin -->';
const END = '<!-- bench-tables:end -->';
/** The summary shows at most this many runs, the newest. */
const MAX_RUNS = 6;
const FILE = /^(\d{4}-\d{2}-\d{2})-(quick|full)(?:-(\d+))?\.json$/;

/** The committed runs, oldest first (by the time each started). */
function runs() {
  return readdirSync(BENCH_DIR)
    .filter((name) => FILE.test(name))
    .map((name) => ({ name, r: JSON.parse(readFileSync(resolve(BENCH_DIR, name), 'utf8')) }))
    .sort((a, b) => a.r.run.date.localeCompare(b.r.run.date) || a.name.localeCompare(b.name));
}

const n = (x, d = 0) =>
  x === null || x === undefined || Number.isNaN(x)
    ? '—'
    : Number(x).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const link = (name) => `[${name.replace(/\.json$/, '')}](bench/${name})`;
const row = (cells) => `| ${cells.join(' | ')} |`;
const table = (head, rows) => [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
const ms = (r) => `${n(r.p50_ms)} / ${n(r.p99_ms)} / ${n(r.p999_ms)} ms`;

function summary(list) {
  const rates = [...new Set(list.flatMap(({ r }) => r.fixed_rate.map((f) => f.rate_eps)))].sort((a, b) => a - b);
  const at = (r, rate) => r.fixed_rate.find((f) => f.rate_eps === rate);
  const cell = (rate, f) => list.map(({ r }) => (at(r, rate) ? f(at(r, rate)) : '—'));
  const rows = [
    ['run', ...list.map(({ r }) => `${r.run.kind}${r.run.label ? `: ${r.run.label}` : ''}`)],
    ['passthrough at saturation', ...list.map(({ r }) => `${n(r.passthrough.throughput_eps)} events/s`)],
    [
      'engine at saturation: decisions/s (with features)',
      ...list.map(({ r }) => `${n(r.engine.throughput_eps)} (${n(r.engine.full_feature_eps)})`),
    ],
    ['ratio engine / passthrough', ...list.map(({ r }) => n(r.ratio, 2))],
  ];
  for (const rate of rates) {
    rows.push(
      [`${n(rate)}/s passthrough p50 / p99 / p99.9`, ...cell(rate, (f) => (f.passthrough ? ms(f.passthrough) : '—'))],
      [`${n(rate)}/s engine p50 / p99 / p99.9`, ...cell(rate, ms)],
      [
        `${n(rate)}/s **engine p99 − passthrough p99**`,
        ...cell(rate, (f) => (f.p99_over_passthrough_ms === undefined ? '—' : `${n(f.p99_over_passthrough_ms)} ms`)),
      ],
      [
        `${n(rate)}/s achieved (engine), degraded (without features) of decided`,
        ...cell(
          rate,
          (f) =>
            `${n(f.achieved_eps)}/s, ${n(f.degraded_decisions)} (${n(f.decided_without_features)}) of ${n(f.decided)}`,
        ),
      ],
    );
  }
  rows.push(
    [
      'Redis per active card: used_memory / MEMORY USAGE of the keys',
      ...list.map(({ r }) => `${n(r.redis_bytes_per_card)} / ${n(r.redis_key_bytes_per_card)} B`),
    ],
    [
      'other work on the machine during engine saturation, cores of 2',
      ...list.map(({ r }) => n(otherCores(r.engine.cost), 2)),
    ],
  );
  return table(
    ['measure', ...list.map(({ name }) => link(name))],
    rows.map(([k, ...v]) => [k, ...v]),
  );
}

/** The machine's busy cores over a phase minus those of the measured processes: what else ran. */
function otherCores(c) {
  if (!c || c.machine_busy_cores === null) return null;
  const measured = Object.values(c.cpu_s).reduce((s, x) => s + (typeof x === 'number' ? x : 0), 0);
  return c.machine_busy_cores - measured / c.wall_s;
}

/** The phases of one run with their cost: [label, cost, pipeline process name]. */
function phases(r) {
  return [
    ['passthrough at saturation', r.passthrough.cost, 'passthrough'],
    ['engine at saturation', r.engine.cost, 'engine'],
    ...r.fixed_rate.flatMap((f) => [
      [`${n(f.rate_eps)}/s passthrough`, f.passthrough?.cost, 'passthrough'],
      [`${n(f.rate_eps)}/s engine`, f.cost, 'engine'],
    ]),
  ].filter(([, cost]) => cost);
}

function cpuTable({ r }) {
  const names = ['redis', 'broker', 'load_generator', 'bench'];
  const rows = phases(r).map(([label, c, pipeline]) => {
    const us = c.cpu_us_per_event;
    const known = [pipeline, ...names].map((k) => us[k]).filter((x) => typeof x === 'number');
    return [
      label,
      `${pipeline}: ${n(us[pipeline], 1)}`,
      ...names.map((k) => n(us[k], 1)),
      n(
        known.reduce((s, x) => s + x, 0),
        1,
      ),
      n(c.machine_busy_cores, 2),
      n(otherCores(c), 2),
    ];
  });
  return table(
    [
      'phase',
      'engine or passthrough',
      'Redis',
      'broker',
      'load generator',
      'bench (reader)',
      'sum',
      'machine busy cores',
      'of which other work',
    ],
    rows,
  );
}

function redisTable({ r }) {
  const rows = phases(r)
    .filter(([, , pipeline]) => pipeline === 'engine')
    .map(([label, c]) => {
      const top = Object.entries(c.redis.by_command)
        .filter(([, v]) => !v.in_scripts)
        .slice(0, 3)
        .map(
          ([k, v]) =>
            `${k} ${n(v.calls_per_event, 2)} × ${n(v.usec_per_event / Math.max(v.calls_per_event, 1e-9), 1)} µs`,
        )
        .join(', ');
      return [
        label,
        n(c.redis.command_usec_per_event, 1),
        n(c.cpu_us_per_event.redis, 1),
        n(c.redis.calls_per_event, 2),
        n(c.redis.script_calls_per_event, 1),
        top,
      ];
    });
  return table(
    [
      'phase',
      'command time, µs/event',
      'Redis CPU (/proc), µs/event',
      'commands sent / event',
      'run inside scripts / event',
      'commands sent: calls per event × µs per call',
    ],
    rows,
  );
}

function memoryTable({ r }) {
  const kinds = Object.entries(r.redis_memory_by_kind ?? {});
  // The card keys: one per active card (`k:v2` since the compact state; `k:tx` before it).
  const cards = kinds.find(([k]) => k === 'k:v2' || k === 'k:tx')?.[1].keys ?? 0;
  const rows = kinds.map(([kind, v]) => [
    `\`${kind}\``,
    n(v.keys),
    n(v.bytes / Math.max(1, v.keys)),
    n(v.bytes / Math.max(1, cards)),
  ]);
  return table(['key kind', 'keys', 'bytes per key', 'bytes per active card'], rows);
}

/** The saturation curve of one run (src/bench/curve.ts): offered rate → what came out, latency, shedding. */
function curveTable({ r }) {
  const rows = r.saturation_curve.map((c) => [
    `${n(c.offered_eps)}/s`,
    `${n(c.sent_eps)}/s`,
    `${n(c.decided_eps)}/s`,
    ms(c),
    `${n(c.degraded_decisions)} (${n(c.decided_without_features)}) of ${n(c.decided)}`,
    `${n(c.features_shed.recorded)} / ${n(c.features_shed.not_recorded)}`,
    Object.entries(c.degraded_by_reason)
      .map(([k, v]) => `${k} ${n(v)}`)
      .join(', ') || '—',
    n(c.undecided),
    n(c.cost?.machine_busy_cores, 2),
  ]);
  return table(
    [
      'offered',
      'sent',
      'decided',
      'p50 / p99 / p99.9',
      'degraded (without features) of decided',
      'features shed: recorded / not',
      'degraded by reason',
      'not decided in the window',
      'machine busy cores',
    ],
    rows,
  );
}

export function render(list) {
  const withCurve = list.filter(({ r }) => r.saturation_curve?.length);
  const curve = withCurve[withCurve.length - 1];
  const shown = list.slice(-MAX_RUNS);
  const newest = shown[shown.length - 1];
  const from = (xs) => `From ${xs.map(({ name }) => `\`docs/bench/${name}\``).join(', ')}.`;
  return [
    '### Runs',
    '',
    from(shown),
    '',
    summary(shown),
    '',
    `### CPU per event by process (µs), ${newest.r.run.kind} run of ${newest.r.run.date.slice(0, 10)}`,
    '',
    `${from([newest])} CPU time (user + system) from /proc over each phase, divided by its events.`,
    '',
    cpuTable(newest),
    '',
    `### Redis per event and per card, ${newest.r.run.kind} run of ${newest.r.run.date.slice(0, 10)}`,
    '',
    `${from([newest])} Command time from \`INFO commandstats\` (a script's time includes the commands it runs).`,
    '',
    redisTable(newest),
    '',
    memoryTable(newest),
    ...(curve
      ? [
          '',
          `### Saturation curve, ${curve.r.run.kind} run of ${curve.r.run.date.slice(0, 10)}`,
          '',
          `${from([curve])} One engine fed at each offered rate for ${n(curve.r.events.curve_seconds)} s, read back until all is decided or 30 s after the load; p99 over what was decided.`,
          '',
          curveTable(curve),
        ]
      : []),
  ].join('\n');
}

const { values } = parseArgs({
  options: {
    check: { type: 'boolean' },
    stdout: { type: 'boolean' },
    doc: { type: 'string' },
    dir: { type: 'string' },
  },
});
if (values.dir) BENCH_DIR = resolve(values.dir);
const doc = values.doc ? resolve(values.doc) : DOC;
const list = runs();
if (!list.length) {
  console.error(`bench-tables: no runs in ${BENCH_DIR} (npm run bench -- --save)`);
  process.exit(1);
}
const tables = render(list);
if (values.stdout) {
  console.log(tables);
} else {
  const text = readFileSync(doc, 'utf8');
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) {
    console.error(`bench-tables: ${doc} lacks the markers ${BEGIN} … ${END}`);
    process.exit(1);
  }
  const next = `${text.slice(0, a + BEGIN.length)}\n<!-- generated by npm run bench:tables: edit the JSON, not this -->\n\n${tables}\n\n${text.slice(b)}`;
  if (values.check) {
    if (next !== text) {
      console.error(`bench-tables: ${doc} is not what docs/bench/*.json give: npm run bench:tables`);
      process.exit(1);
    }
  } else {
    writeFileSync(doc, next);
    console.error(`bench-tables: ${list.length} run(s) → ${doc}`);
  }
}
