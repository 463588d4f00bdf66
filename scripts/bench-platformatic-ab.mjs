#!/usr/bin/env node
// kafkajs against @platformatic/kafka (issue 17), A/B on the local broker: one preloaded topic of
// encoded authorizations (6 partitions, as the bench's), then `fraud-engine bench passthrough
// --client kafkajs|platformatic` over it in turn, interleaved (A B, B A, ...), each with its own
// consumer group and its own output topic. Consume then produce, no work: an idempotent producer
// (acks=all), offsets committed after each acknowledged send, a 20 ms fetch wait.
// Per run: the passthrough process's utime+stime from /proc from its ready line (group joined) to
// the n-th output (read from the output topic's offsets every 50 ms), events/s over the same
// window, and the machine's load average.
// usage: node scripts/bench-platformatic-ab.mjs [--n 100000] [--rounds 3]
//   (npm run build first; the stack's env: source .stack/stack.env)
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../dist/config/config.js';
import { codecsFromConfig } from '../dist/cli/clients.js';
import { createKafka } from '../dist/kafka/client.js';
import { createTopics, deleteTopics, preload, sleep } from '../dist/bench/kafka.js';
import { cpuSeconds } from '../dist/bench/proc-cpu.js';

const { values } = parseArgs({
  options: { n: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' } },
});
const n = Number(values.n);
const rounds = Number(values.rounds);
const CLIENTS = ['kafkajs', 'platformatic'];
const ROOT = resolve(import.meta.dirname, '..');

const cfg = loadConfig(resolve(ROOT, 'config/default.yaml'));
const runId = `pab-${Date.now().toString(36)}`;
const input = `${runId}-in`;
const kafka = createKafka(cfg.kafka, undefined, '-pab');
const admin = kafka.admin();
const outputOf = (client, round) => `${runId}-out-${client}-${round}`;
const created = [input];
for (let r = 0; r < rounds; r++) for (const client of CLIENTS) created.push(outputOf(client, r));

async function outputCount(topic) {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

async function runOne(client, round) {
  const output = outputOf(client, round);
  const child = spawn(
    process.execPath,
    [
      resolve(ROOT, 'bin/fraud-engine.js'),
      'bench',
      'passthrough',
      '--client',
      client,
      '--input',
      input,
      '--output',
      output,
      '--group',
      `${runId}-${client}-${round}`,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: process.env },
  );
  let out = '';
  const exited = new Promise((r) => child.once('exit', r));
  child.stdout.on('data', (b) => (out += b.toString()));
  const until = Date.now() + 300_000;
  while (!out.split('\n').includes('ready') && Date.now() < until && child.exitCode === null) await sleep(20);
  // From its ready line (group joined, partitions assigned) to the n-th output: both clients'
  // first fetch is inside the window, their start-up outside.
  const t0 = performance.now();
  const cpu0 = cpuSeconds(child.pid);
  const load0 = loadavg()[0];
  let done = 0;
  while (done < n && Date.now() < until && child.exitCode === null) {
    done = await outputCount(output);
    if (done < n) await sleep(50);
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(child.pid) - cpu0;
  const load1 = loadavg()[0];
  child.kill('SIGTERM');
  await exited;
  const events = done;
  return {
    client,
    round,
    events,
    seen: JSON.parse(out.trim().split('\n').pop() ?? '{}').seen,
    cpu_s: Math.round(cpu * 100) / 100,
    cpu_us_per_event: Math.round((cpu / events) * 1e7) / 10,
    wall_s: Math.round(wall * 100) / 100,
    eps: Math.round(events / wall),
    loadavg_1m: [Math.round(load0 * 100) / 100, Math.round(load1 * 100) / 100],
  };
}

try {
  await admin.connect();
  await createTopics(kafka, created);
  const codecs = await codecsFromConfig(cfg, {
    authorizations: input,
    decisions: `${input}-decisions`,
    labels: `${input}-labels`,
  });
  await preload(kafka, codecs, input, n, runId);
  const results = [];
  for (let r = 0; r < rounds; r++) {
    for (const client of r % 2 ? [...CLIENTS].reverse() : CLIENTS) {
      const res = await runOne(client, r);
      results.push(res);
      console.log(JSON.stringify(res));
    }
  }
  const summary = {};
  for (const client of CLIENTS) {
    const mine = results.filter((x) => x.client === client);
    const mean = (k) => Math.round(mine.reduce((a, x) => a + x[k], 0) / mine.length);
    summary[client] = {
      cpu_us_per_event: mine.map((x) => x.cpu_us_per_event),
      eps: mine.map((x) => x.eps),
      mean_cpu_us_per_event: mean('cpu_us_per_event'),
      mean_eps: mean('eps'),
    };
  }
  console.log(JSON.stringify({ n, rounds, summary, node: process.version }));
} finally {
  await deleteTopics(kafka, created);
  await admin.disconnect();
}
