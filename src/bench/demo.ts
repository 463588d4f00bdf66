/**
 * The demo run: the engine's main job end to end on the local stack. Creates the topics,
 * starts the engine (`run`) and the load generator (`simulate --to-kafka`) as separate
 * processes, reads the decision and dead-letter topics like the gateway would
 * (./gateway-view.ts), prints a live line every 5 s on stderr and ends with one JSON summary on
 * stdout. 0 when every event was decided or dead-lettered, else 1.
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ChildEngineProcess, ROOT } from '../cli/child-engine.js';
import { codecsFromConfig } from '../cli/clients.js';
import type { EngineConfig } from '../config/config.js';
import { createKafka } from '../kafka/client.js';
import { ensureConfiguredTopics } from '../kafka/topics.js';
import { GatewayView } from './gateway-view.js';
import { readFromNow, sleep } from './kafka.js';
import { loadArgs, startLoadGenerator } from './load-generator.js';

export async function runDemo(
  cfg: EngineConfig,
  { rate, duration }: { rate: number; duration: number },
): Promise<number> {
  const runId = `demo-${Date.now().toString(36)}`;
  const logDir = resolve(ROOT, '.stack/logs');
  mkdirSync(logDir, { recursive: true });
  const engineLog = resolve(logDir, 'engine-demo.log');

  const kafka = createKafka(cfg.kafka, undefined, '-demo');
  await ensureConfiguredTopics(kafka);
  const view = new GatewayView(await codecsFromConfig(cfg), cfg.kafka.topic_dlq, `${runId}-`);

  console.error(`[demo] starting the engine (log: ${engineLog})`);
  const logStream = createWriteStream(engineLog, { flags: 'a' });
  await once(logStream, 'open');
  const engine = ChildEngineProcess.start({
    env: process.env,
    httpHost: cfg.engine.http_host,
    httpPort: cfg.engine.http_port,
    stdio: ['ignore', logStream, logStream],
  });
  // The gateway's view: a separate consumer of decisions and dead letters.
  const reader = kafka.consumer({ groupId: `${runId}-reader`, maxWaitTimeInMs: 20 });
  let load: ReturnType<typeof startLoadGenerator> | null = null;
  let ticker: NodeJS.Timeout | undefined;
  try {
    await engine.waitReady({ timeoutMs: 90_000, intervalMs: 250, detail: () => `see its log: ${engineLog}` });
    console.error(`[demo] engine ready; metrics at ${engine.url}/metrics`);
    await readFromNow(
      reader,
      [cfg.kafka.topic_decisions, cfg.kafka.topic_dlq],
      { eachMessage: ({ topic, message }) => view.onMessage(topic, message) },
      { pollMs: 100, settleMs: 1500 },
    );

    console.error(`[demo] load: ${rate} events/s for ${duration} s (run ${runId})`);
    load = startLoadGenerator(
      loadArgs({ rate, duration, runId, badEvery: 5000, seed: Math.floor(Math.random() * 1e6) }),
    );
    ticker = setInterval(() => console.error(`[demo] ${view.tick()}`), 5000);
    const summary = await load.summary;
    // Drain: wait until every sent event has its decision (bounded).
    const drainUntil = Date.now() + 30_000;
    while (!view.complete(summary) && Date.now() < drainUntil) await sleep(200);
    clearInterval(ticker);
    console.error(`[demo] done: metrics were served at ${engine.url}/metrics, engine log ${engineLog}`);
    console.log(JSON.stringify(view.summary(summary)));
    return view.exact(summary) ? 0 : 1;
  } finally {
    clearInterval(ticker);
    load?.process.kill('SIGTERM');
    await reader.disconnect().catch(() => undefined);
    await engine.stop();
  }
}
