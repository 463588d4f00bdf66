/** `fraud-engine topics ensure`: creates the configured topics that do not exist yet. */
import { configOf, guarded, intOption, parseOrUsage, UsageError } from '../cli/kit.js';
import { createKafka } from '../kafka/client.js';
import { ensureConfiguredTopics } from '../kafka/topics.js';

const HELP = `usage: fraud-engine topics ensure [--config FILE] [--replication-factor N]
Creates the topics of config/topics.tsv that do not exist yet, under the names kafka.topic_* give
them (FRAUD_KAFKA_TOPIC_* overrides included); replication factor default 1.`;

export default function topics(argv: string[]): Promise<number> {
  return guarded(async () => {
    const { values, positionals } = parseOrUsage(
      argv,
      { config: { type: 'string' }, 'replication-factor': { type: 'string' } },
      HELP,
      { positionals: true },
    );
    if (positionals[0] !== 'ensure') throw new UsageError(HELP);
    const replication = intOption('replication-factor', values['replication-factor'], 1, 1);
    const k = configOf(values.config).kafka;
    const created = await ensureConfiguredTopics(createKafka(k), replication, k);
    console.error(created.length ? `created topics: ${created.join(', ')}` : 'all topics exist');
    return 0;
  });
}
