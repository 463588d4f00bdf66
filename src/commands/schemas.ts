/** `fraud-engine schemas register`: registers the Avro schemas (BACKWARD-compatible evolution). */
import { configOf, guarded, parseOrUsage, UsageError } from '../cli/kit.js';
import { codecsFromConfig } from '../cli/clients.js';

const HELP = `usage: fraud-engine schemas register [--config FILE]
Registers config/schemas/*.avsc under <topic>-value for the configured topics; prints the schema ids.`;

export default function schemas(argv: string[]): Promise<number> {
  return guarded(async () => {
    const { values, positionals } = parseOrUsage(argv, { config: { type: 'string' } }, HELP, { positionals: true });
    if (positionals[0] !== 'register') throw new UsageError(HELP);
    console.log(JSON.stringify((await codecsFromConfig(configOf(values.config))).ids));
    return 0;
  });
}
