/**
 * The demo run: the engine's main job end to end on the local stack. Creates the topics,
 * starts the engine (`run`) and the load generator (`simulate --to-kafka`) as separate
 * processes, reads the decision and dead-letter topics like the gateway would
 * (./gateway-view.ts), prints a live line every 5 s on stderr and ends with one JSON summary on
 * stdout. 0 when every event was decided or dead-lettered, else 1. Beside them, the analysts'
 * workspace (src/app/demo-console.ts): the audit sink and the console, whose URL and demo logins
 * are printed at the start; with `keepConsole` they (and the engine) keep serving after the
 * load until SIGINT / SIGTERM.
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import pino from 'pino';
import { startDemoConsole, type DemoConsole } from '../app/demo-console.js';
import { ChildEngineProcess, ROOT } from '../cli/child-engine.js';
import { codecsFromConfig } from '../cli/clients.js';
import type { EngineConfig } from '../config/config.js';
import { createKafka } from '../kafka/client.js';
import { ensureConfiguredTopics } from '../kafka/topics.js';
import { createLogger } from '../observability/logger.js';
import { GatewayView } from './gateway-view.js';
import { readFromNow, sleep } from './kafka.js';
import { loadArgs, startLoadGenerator } from './load-generator.js';

export async function runDemo(
  cfg: EngineConfig,
  { rate, duration, keepConsole = false }: { rate: number; duration: number; keepConsole?: boolean },
): Promise<number> {
  const runId = `demo-${Date.now().toString(36)}`;
  const logDir = resolve(ROOT, '.stack/logs');
  mkdirSync(logDir, { recursive: true });
  const engineLog = resolve(logDir, 'engine-demo.log');
  const consoleLog = resolve(logDir, 'console-demo.log');

  const kafka = createKafka(cfg.kafka, undefined, '-demo');
  await ensureConfiguredTopics(kafka, 1, cfg.kafka);
  const view = new GatewayView(await codecsFromConfig(cfg), cfg.kafka.topic_dlq, `${runId}-`);

  // The workspace first (migrations, users, history, audit sink, console), so that its URL and
  // logins are printed before the load and the review queue fills while it runs.
  const engineUrl = `http://${cfg.engine.http_host}:${cfg.engine.http_port}`;
  const workspace: DemoConsole = await startDemoConsole(cfg, {
    log: createLogger(cfg.engine.log_level, 'fraud-demo-console', pino.destination({ dest: consoleLog, sync: false })),
    engineMetricsUrl: `${engineUrl}/metrics`,
  });
  console.error(
    [
      `[demo] console: ${workspace.url}  (log: ${consoleLog})`,
      ...workspace.logins.map((l) => `[demo]   sign in as ${l.username} / ${l.password}  (${l.roles.join(', ')})`),
      `[demo]   these passwords are new for this run; rule backtests replay ${workspace.historyFile}`,
    ].join('\n'),
  );

  console.error(`[demo] starting the engine (log: ${engineLog})`);
  const logStream = createWriteStream(engineLog, { flags: 'a' });
  await once(logStream, 'open');
  const engine = ChildEngineProcess.start({
    // The engine reads rules as its own read-only role when the stack has one (npm run demo grants it).
    env: process.env.FRAUD_ENGINE_POSTGRES_URL
      ? { ...process.env, FRAUD_POSTGRES_URL: process.env.FRAUD_ENGINE_POSTGRES_URL }
      : process.env,
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
    if (keepConsole) {
      console.error(`[demo] the console keeps serving at ${workspace.url} (the engine too): Ctrl-C to stop`);
      await untilSignalled();
    }
    return view.exact(summary) ? 0 : 1;
  } finally {
    clearInterval(ticker);
    load?.process.kill('SIGTERM');
    await reader.disconnect().catch(() => undefined);
    await engine.stop();
    await workspace.stop();
  }
}

function untilSignalled(): Promise<void> {
  return new Promise((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
  });
}
