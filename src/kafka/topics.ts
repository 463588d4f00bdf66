/** The topic layout of config/topics.tsv, shared with scripts/stack and docker-compose.yml. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import type { EngineConfig } from '../config/config.js';

export interface TopicSpec {
  topic: string;
  partitions: number;
  config: Record<string, string>;
}

export const TOPICS_FILE = resolve(import.meta.dirname, '../../config/topics.tsv');

export function readTopicSpecs(file = TOPICS_FILE): TopicSpec[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const [topic, parts, conf = ''] = l.split('\t');
      const config = Object.fromEntries(
        conf
          .split(',')
          .filter(Boolean)
          .map((kv) => kv.split('=') as [string, string]),
      );
      return { topic: topic!, partitions: Number(parts), config };
    });
}

/** Creates missing topics (single node: replication factor 1 unless given). Returns the created names. */
export async function ensureTopics(admin: Admin, specs: TopicSpec[], replicationFactor = 1): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((s) => ({
      topic: s.topic,
      numPartitions: s.partitions,
      replicationFactor,
      configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
    })),
  });
  return missing.map((s) => s.topic);
}

/**
 * The specs of config/topics.tsv under the names the configuration gives them (kafka.topic_*,
 * e.g. FRAUD_KAFKA_TOPIC_DECISIONS): the file lists the default names.
 */
export function configuredTopicSpecs(k: EngineConfig['kafka'], specs = readTopicSpecs()): TopicSpec[] {
  const names: Record<string, string> = {
    authorizations: k.topic_authorizations,
    decisions: k.topic_decisions,
    'fraud-labels': k.topic_labels,
    'authorizations-dlq': k.topic_dlq,
    'fraud-labels-dlq': k.topic_labels_dlq,
    'decisions-audit-dlq': k.topic_audit_dlq,
  };
  return specs.map((s) => ({ ...s, topic: names[s.topic] ?? s.topic }));
}

/**
 * The topics of config/topics.tsv (renamed as configured when `k` is given) made sure of by an
 * admin of `kafka` (connected for it); returns those created.
 */
export async function ensureConfiguredTopics(
  kafka: Kafka,
  replicationFactor = 1,
  k?: EngineConfig['kafka'],
): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await ensureTopics(admin, k ? configuredTopicSpecs(k) : readTopicSpecs(), replicationFactor);
  } finally {
    await admin.disconnect();
  }
}
