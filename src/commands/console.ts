/** `fraud-engine console`: the analysts' web console, until SIGTERM / SIGINT. */
import { configOf, guarded, intOption, parseOrUsage } from '../cli/kit.js';
import { startConsole } from '../console/start.js';

const HELP = `usage: fraud-engine console [--config FILE] [--host H] [--port N]
Serves the analysts' web console (default http://127.0.0.1:8080; console.* in the configuration).
The database must be migrated (fraud-engine migrate) and have users (fraud-engine users add).`;

export default function consoleCommand(argv: string[]): Promise<number> {
  return guarded(async () => {
    const { values } = parseOrUsage(
      argv,
      { config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' } },
      HELP,
    );
    const cfg = configOf(values.config);
    const c = await startConsole(cfg, {
      host: values.host,
      port: intOption('port', values.port, cfg.console.http_port),
    });
    console.error(`console: ${c.url}`);
    await new Promise<void>((resolve) => {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
    });
    await c.close();
    return 0;
  });
}
