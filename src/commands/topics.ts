/** `fraud-engine topics ensure`: creates the configured topics that do not exist yet. */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { createKafka } from '../kafka/client.js';
import { ensureTopics, readTopicSpecs } from '../kafka/topics.js';

export default async function topics(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string' }, 'replication-factor': { type: 'string' } } });
  if (positionals[0] !== 'ensure') { console.error('usage: fraud-engine topics ensure [--config FILE] [--replication-factor N]'); return 2; }
  const cfg = loadConfig(values.config ?? 'config/default.yaml');
  const admin = createKafka(cfg.kafka).admin();
  await admin.connect();
  try {
    const created = await ensureTopics(admin, readTopicSpecs(), Number(values['replication-factor'] ?? 1));
    console.error(created.length ? `created topics: ${created.join(', ')}` : 'all topics exist');
  } finally {
    await admin.disconnect();
  }
  return 0;
}
