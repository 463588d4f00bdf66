/**
 * `fraud-engine simulate --to-kafka --rate R --duration S`: the load generator
 * (src/bench/load-generator.ts) on the configured topics; prints one JSON summary line on stdout.
 */
import { generateLoad } from '../bench/load-generator.js';
import { configOf, guarded, numberOption, parseOrUsage, UsageError } from '../cli/kit.js';
import { codecsFromConfig } from '../cli/clients.js';
import { createKafka } from '../kafka/client.js';

const HELP = `usage: fraud-engine simulate --to-kafka [--rate 1000] [--duration 60] [--count N] [--label-delay-s 20]
       [--customers 5000] [--terminals 10000] [--seed 0] [--run-id ID] [--bad-every 0] [--config FILE]
  --bad-every N   every Nth message is a malformed payload (for the dead-letter path)`;

export default function simulateToKafka(argv: string[]): Promise<number> {
  return guarded(async () => {
    const { values } = parseOrUsage(
      argv,
      {
        'to-kafka': { type: 'boolean' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        count: { type: 'string' },
        'label-delay-s': { type: 'string' },
        customers: { type: 'string' },
        terminals: { type: 'string' },
        seed: { type: 'string' },
        'run-id': { type: 'string' },
        'bad-every': { type: 'string' },
        config: { type: 'string' },
      },
      HELP,
    );
    const num = (name: keyof typeof values, d: number) => numberOption(name, values[name] as string | undefined, d);
    const rate = num('rate', 1000);
    if (rate <= 0) throw new UsageError('--rate must be positive');
    const cfg = configOf(values.config);
    const kafka = createKafka(cfg.kafka, undefined, '-loadgen');
    const summary = await generateLoad(
      kafka,
      await codecsFromConfig(cfg),
      { authorizations: cfg.kafka.topic_authorizations, labels: cfg.kafka.topic_labels },
      {
        rate,
        durationS: num('duration', 60),
        maxCount: num('count', Infinity),
        labelDelayMs: num('label-delay-s', 20) * 1000,
        badEvery: num('bad-every', 0),
        runId: values['run-id'] ?? `load-${Date.now().toString(36)}`,
        ...(values.customers !== undefined ? { customers: num('customers', 0) } : {}),
        terminals: num('terminals', 10000),
        seed: num('seed', 0),
      },
    );
    console.log(JSON.stringify(summary));
    return 0;
  });
}
