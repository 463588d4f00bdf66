/**
 * `fraud-engine demo` (npm run demo): the demo run of src/bench/demo.ts (the engine and the
 * load generator on the local stack, read like the gateway would, and the console beside them)
 * from the options.
 */
import { resolve } from 'node:path';
import { runDemo } from '../bench/demo.js';
import { ROOT } from '../cli/child-engine.js';
import { configOf, guarded, numberOption, parseOrUsage } from '../cli/kit.js';

const HELP = `usage: fraud-engine demo [--rate 1000] [--duration 60] [--console] [--config FILE]
The engine and the load generator on the local stack (scripts/stack up; npm run demo starts it),
a live line every 5 s on stderr, one JSON summary on stdout; exit 1 unless every event was decided
or dead-lettered. The engine's log: .stack/logs/engine-demo.log.
Beside them: the migrations applied, the audit sink (it fills the review queue) and the console
(console.http_port, default 8080; a free port if taken), whose URL and two demo logins (ana,
analyst; bob, analyst and approver; new passwords every run) are printed at the start. The
console's log: .stack/logs/console-demo.log. Needs FRAUD_POSTGRES_URL.
  --console   keep the console (and the engine) serving after the load, until Ctrl-C / SIGTERM`;

export default function demo(argv: string[]): Promise<number> {
  return guarded(async () => {
    const { values } = parseOrUsage(
      argv,
      {
        rate: { type: 'string' },
        duration: { type: 'string' },
        console: { type: 'boolean' },
        config: { type: 'string' },
      },
      HELP,
    );
    const rate = numberOption('rate', values.rate, 1000);
    const duration = numberOption('duration', values.duration, 60);
    const cfg = configOf(values.config ?? resolve(ROOT, 'config/default.yaml'));
    return runDemo(cfg, { rate, duration, keepConsole: values.console ?? false });
  });
}
