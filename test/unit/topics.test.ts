/** The topic layout of config/topics.tsv under the configured names (FRAUD_KAFKA_TOPIC_* overrides). */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { configuredTopicSpecs, readTopicSpecs } from '../../src/kafka/topics.js';

describe('configured topics', () => {
  it('keeps the default names when none is overridden', () => {
    const cfg = loadConfig('config/default.yaml', {});
    expect(configuredTopicSpecs(cfg.kafka)).toEqual(readTopicSpecs());
  });

  it('renames each topic as configured, keeping its partitions and settings', () => {
    const cfg = loadConfig('config/default.yaml', {
      FRAUD_KAFKA_TOPIC_DECISIONS: 'x-decisions',
      FRAUD_KAFKA_TOPIC_AUDIT_DLQ: 'x-audit-dlq',
    });
    const specs = configuredTopicSpecs(cfg.kafka);
    const byName = Object.fromEntries(specs.map((s) => [s.topic, s]));
    const file = Object.fromEntries(readTopicSpecs().map((s) => [s.topic, s]));
    expect(specs.map((s) => s.topic)).toEqual([
      'authorizations',
      'x-decisions',
      'fraud-labels',
      'authorizations-dlq',
      'fraud-labels-dlq',
      'x-audit-dlq',
    ]);
    expect(byName['x-decisions']).toEqual({ ...file.decisions, topic: 'x-decisions' });
    expect(byName['x-audit-dlq']?.config).toEqual(file['decisions-audit-dlq']?.config);
  });
});
