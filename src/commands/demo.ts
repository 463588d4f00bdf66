/**
 * `fraud-engine demo` (npm run demo): the engine's main job end to end on the local stack.
 * Creates topics and registers schemas, starts the engine (`run`) and the load generator
 * (`simulate --to-kafka`) as separate processes, reads the decision and dead-letter topics
 * like the gateway would, prints a live summary every few seconds, and ends with one JSON line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BIN, ChildEngineProcess, ROOT } from '../cli/child-engine.js';
import { loadConfig } from '../config/config.js';
import { codecsFromConfig } from '../config/clients.js';
import { createKafka } from '../kafka/client.js';
import { ensureTopics, readTopicSpecs } from '../kafka/topics.js';
import { percentileNearestRank } from '../observability/percentiles.js';


const round1 = (x: number) => Math.round(x * 10) / 10;


export default async function demo(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { rate: { type: 'string' }, duration: { type: 'string' }, config: { type: 'string' } } });
  const rate = Number(values.rate ?? 1000);
  const duration = Number(values.duration ?? 60);
  const cfg = loadConfig(values.config ?? resolve(ROOT, 'config/default.yaml'));
  const runId = `demo-${Date.now().toString(36)}`;
  const logDir = resolve(ROOT, '.stack/logs');
  mkdirSync(logDir, { recursive: true });
  const engineLog = resolve(logDir, 'engine-demo.log');

  const kafka = createKafka(cfg.kafka, undefined, '-demo');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, readTopicSpecs());
  await admin.disconnect();
  const codecs = await codecsFromConfig(cfg);

  console.error(`[demo] starting the engine (log: ${engineLog})`);
  const logStream = createWriteStream(engineLog, { flags: 'a' });
  await once(logStream, 'open');
  const engine = ChildEngineProcess.start({ env: process.env, httpHost: cfg.engine.http_host, httpPort: cfg.engine.http_port, stdio: ['ignore', logStream, logStream] });
  const metricsUrl = engine.url;

  // The gateway's view: a separate consumer of decisions and dead letters.
  const reader = kafka.consumer({ groupId: `${runId}-reader`, maxWaitTimeInMs: 20 });
  const latencies: number[] = [];
  let window: number[] = [];
  const outcomes: Record<string, number> = { APPROVE: 0, REVIEW: 0, DECLINE: 0 };
  const rules = new Map<string, number>();
  let decisions = 0, dlq = 0, degraded = 0;
  const prefix = `${runId}-`;
  let joined = false;
  reader.on(reader.events.GROUP_JOIN, () => { joined = true; });
  let load: ChildProcess | null = null;
  let ticker: NodeJS.Timeout | undefined;
  try {
    await engine.waitReady({ timeoutMs: 90_000, intervalMs: 250, detail: () => `see its log: ${engineLog}` });
    console.error(`[demo] engine ready; metrics at ${metricsUrl}/metrics`);
    await reader.connect();
    await reader.subscribe({ topics: [cfg.kafka.topic_decisions, cfg.kafka.topic_dlq], fromBeginning: false });
    await reader.run({
      eachMessage: async ({ topic, message }) => {
        if (topic === cfg.kafka.topic_dlq) {
          if (message.key && message.headers?.['dlq.reason']) dlq++;
          return;
        }
        const d = await codecs.decodeDecision(message.value);
        if (!d.auth_id.startsWith(prefix)) return; // someone else's traffic
        const ms = Date.now() - d.event_time;
        latencies.push(ms);
        window.push(ms);
        decisions++;
        if (d.degraded.length) degraded++;
        outcomes[d.outcome] = (outcomes[d.outcome] ?? 0) + 1;
        for (const h of d.rule_hits) rules.set(h.rule_id, (rules.get(h.rule_id) ?? 0) + 1);
      },
    });
    while (!joined) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500)); // let the reader settle on the latest offsets

    console.error(`[demo] load: ${rate} events/s for ${duration} s (run ${runId})`);
    load = spawn(process.execPath, [BIN, 'simulate', '--to-kafka', '--rate', String(rate), '--duration', String(duration),
      '--run-id', runId, '--bad-every', '5000', '--seed', String(Math.floor(Math.random() * 1e6))], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let loadOut = '';
    load.stdout!.on('data', (b: Buffer) => { loadOut += b.toString(); });
    const loadDone = new Promise<number>((r) => load!.on('exit', (code) => r(code ?? 1)));

    const started = Date.now();
    let last = started, lastCount = 0;
    ticker = setInterval(() => {
      const now = Date.now();
      const eps = ((decisions - lastCount) * 1000) / (now - last);
      const w = window.sort((a, b) => a - b);
      const top = [...rules.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k}=${v}`).join(' ');
      console.error(`[demo] t=${Math.round((now - started) / 1000)}s decided=${decisions} ${Math.round(eps)} ev/s p50=${round1(percentileNearestRank(w, 50))}ms p99=${round1(percentileNearestRank(w, 99))}ms ` +
        `approve=${outcomes.APPROVE} review=${outcomes.REVIEW} decline=${outcomes.DECLINE} dlq=${dlq} degraded=${degraded} top rules: ${top || '-'}`);
      window = [];
      last = now; lastCount = decisions;
    }, 5000);
    const loadCode = await loadDone;
    if (loadCode !== 0) throw new Error(`load generator exited with code ${loadCode}`);
    const summary = JSON.parse(loadOut.trim().split('\n').pop() ?? '{}') as { sent: number; malformed: number; seconds: number };
    // Drain: wait until every sent event has its decision (bounded).
    const drainUntil = Date.now() + 30_000;
    while ((decisions < summary.sent || dlq < summary.malformed) && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 200));
    clearInterval(ticker);
    const sorted = latencies.sort((a, b) => a - b);
    console.error(`[demo] done: metrics were served at ${metricsUrl}/metrics, engine log ${engineLog}`);
    console.log(JSON.stringify({
      events: summary.sent + summary.malformed, decisions, dlq, degraded,
      rate_eps: Math.round((summary.sent + summary.malformed) / summary.seconds),
      p50_ms: round1(percentileNearestRank(sorted, 50)), p99_ms: round1(percentileNearestRank(sorted, 99)), outcomes,
    }));
    return decisions === summary.sent && dlq === summary.malformed ? 0 : 1;
  } finally {
    clearInterval(ticker);
    load?.kill('SIGTERM');
    await reader.disconnect().catch(() => undefined);
    await engine.stop();
  }
}
