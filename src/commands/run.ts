/**
 * `fraud-engine run`: the online engine (src/app/engine.ts) started from the configuration and
 * the options, run until SIGTERM; then it stops fetching, finishes the batch in flight, commits
 * and disconnects (bounded to 10 s; src/cli/kit.ts runUntilStopped).
 */
import { configOf, guarded, parseOrUsage, runUntilStopped } from '../cli/kit.js';
import { startEngine, type EngineHandle } from '../app/engine.js';
import { createLogger } from '../observability/logger.js';

const HELP = `usage: fraud-engine run [--config config/default.yaml] [--model FILE] [--rules DIR]
Environment overrides: FRAUD_<SECTION>_<KEY>, e.g. FRAUD_KAFKA_BROKERS, FRAUD_REDIS_URL, FRAUD_ENGINE_HTTP_PORT.`;

const SHUTDOWN_BUDGET_MS = 10_000;

export default function run(argv: string[]): Promise<number> {
  return guarded(async () => {
    const { values } = parseOrUsage(
      argv,
      { config: { type: 'string' }, model: { type: 'string' }, rules: { type: 'string' } },
      HELP,
    );
    const cfg = configOf(values.config);
    const log = createLogger(cfg.engine.log_level);
    let engine: EngineHandle;
    try {
      engine = await startEngine(cfg, { modelPath: values.model, rulesDir: values.rules, log });
    } catch (err) {
      // A start-up failure exits non-zero even if a client library still holds a socket or a timer.
      log.fatal({ err: (err as Error).message }, 'engine failed to start');
      console.error(`fraud-engine run: ${(err as Error).message}`);
      setTimeout(() => process.exit(1), 200).unref();
      return 1;
    }
    return runUntilStopped(engine, log, SHUTDOWN_BUDGET_MS);
  });
}
