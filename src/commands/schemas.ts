/** `fraud-engine schemas register`: registers the Avro schemas (BACKWARD-compatible evolution). */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { codecsFromConfig } from '../config/clients.js';

export default async function schemas(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string' } } });
  if (positionals[0] !== 'register') { console.error('usage: fraud-engine schemas register [--config FILE]'); return 2; }
  const cfg = loadConfig(values.config ?? 'config/default.yaml');
  const codecs = await codecsFromConfig(cfg);
  console.log(JSON.stringify(codecs.ids));
  return 0;
}
