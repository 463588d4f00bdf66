#!/usr/bin/env node
/**
 * `npm run bench:redis:ab -- --base COMMIT`: an interleaved A/B of `bench:redis` between a base
 * commit (A) and the working tree's build (B), in the same conditions: the base's source is
 * exported (git archive) to a temporary directory and built there; then rounds of A then B,
 * each the same workload through scripts/bench-redis.mjs (this tree's measurement code, the
 * given build's engine code, its own fresh redis-server). Prints each run's line and the
 * medians, and writes every run's JSON to --json FILE.
 *
 *   node scripts/bench-redis-ab.mjs --base COMMIT [--rounds 3] [--events 20000] [--batch 100] [--json FILE]
 *                                   [--days D] [--no-memo]   (passed on to bench-redis.mjs)
 *                                   [--port P]  (its redis-servers on P … P+3; default 6391)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string' },
    events: { type: 'string' },
    batch: { type: 'string' },
    json: { type: 'string' },
    days: { type: 'string' },
    port: { type: 'string' },
    'no-memo': { type: 'boolean' },
  },
});
// passed on to every run (scripts/bench-redis.mjs)
const extra = [...(values.days ? ['--days', values.days] : []), ...(values['no-memo'] ? ['--no-memo'] : [])];
if (!values.base) throw new Error('--base COMMIT is required');
const root = resolve(import.meta.dirname, '..');
const rounds = Number(values.rounds ?? 3);
const events = values.events ?? '20000';
const batch = values.batch ?? '100';
// four ports from --port (default 6391): another session's A/B may use the default ones
const portBase = Number(values.port ?? 6391);

const dir = mkdtempSync(join(tmpdir(), 'bench-redis-ab-'));
try {
  const baseSha = execFileSync('git', ['rev-parse', values.base], { cwd: root, encoding: 'utf8' }).trim();
  execFileSync('bash', ['-c', `git archive ${baseSha} | tar -x -C ${dir}`], { cwd: root });
  symlinkSync(resolve(root, 'node_modules'), join(dir, 'node_modules'));
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: dir, stdio: 'ignore' });
  const sides = [
    { name: 'A', label: `base ${baseSha.slice(0, 7)}`, dist: join(dir, 'dist') },
    { name: 'B', label: 'this tree', dist: join(root, 'dist') },
  ];
  const runs = [];
  for (let r = 0; r < rounds; r++) {
    for (const side of sides) {
      const out = spawnSync(
        'node',
        [
          join(root, 'scripts/bench-redis.mjs'),
          '--events',
          events,
          '--batch',
          batch,
          '--port',
          String(portBase + (r % 2) * 2 + (side.name === 'A' ? 0 : 1)),
          '--dist',
          side.dist,
          ...extra,
        ],
        { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 },
      );
      if (out.status !== 0) throw new Error(`bench-redis ${side.name} failed:\n${out.stderr}`);
      const res = JSON.parse(out.stdout);
      runs.push({ side: side.name, label: side.label, round: r + 1, ...res });
      console.log(
        `${side.name} (${side.label}) round ${r + 1}: redis cpu ${res.cpu_usec_per_event} µs/event, ` +
          `command time ${res.usec_per_event} µs/event, engine cpu ${res.engine_cpu_usec_per_event} µs/event, ` +
          `calls in scripts ${res.script_calls_per_event}/event, ${res.bytes_per_card} B/card ` +
          `(features ${res.memory_usage.features_bytes_per_card}, memo ${res.memory_usage.memo_bytes_per_card}), ` +
          `load ${res.load_average_1m}`,
      );
    }
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const summary = {};
  for (const side of sides) {
    const mine = runs.filter((x) => x.side === side.name);
    summary[side.name] = {
      label: side.label,
      redis_cpu_usec_per_event: median(mine.map((x) => x.cpu_usec_per_event)),
      redis_command_usec_per_event: median(mine.map((x) => x.usec_per_event)),
      engine_cpu_usec_per_event: median(mine.map((x) => x.engine_cpu_usec_per_event)),
      script_calls_per_event: median(mine.map((x) => x.script_calls_per_event)),
      bytes_per_card: median(mine.map((x) => x.bytes_per_card)),
      features_bytes_per_card: median(mine.map((x) => x.memory_usage.features_bytes_per_card)),
      memo_bytes_per_card: median(mine.map((x) => x.memory_usage.memo_bytes_per_card)),
    };
  }
  const result = {
    date: new Date().toISOString(),
    load_average_1m: loadavg()[0],
    rounds,
    events,
    batch,
    summary,
    runs,
  };
  console.log(`medians: ${JSON.stringify(summary, null, 2)}`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
