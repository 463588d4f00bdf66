/** docker-compose.yml cannot run here (no Docker engine): keep it parsing and in step with scripts/stack. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = resolve(import.meta.dirname, '../..');
const compose = parse(readFileSync(resolve(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { image: string; ports?: string[]; volumes?: string[] }>;
};
const stack = readFileSync(resolve(root, 'scripts/stack'), 'utf8');
const pinned = (name: string) => new RegExp(`${name}=\\$\\{${name}:-([^}]+)\\}`).exec(stack)?.[1];

describe('docker-compose.yml', () => {
  it('offers the services of scripts/stack plus Prometheus', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'kafka',
      'kafka-topics',
      'postgres',
      'prometheus',
      'redis',
      'schema-registry',
    ]);
  });

  it('pins the same Kafka and Apicurio versions as scripts/stack', () => {
    expect(compose.services.kafka!.image).toBe(`apache/kafka:${pinned('KAFKA_VERSION')}`);
    expect(compose.services['schema-registry']!.image).toBe(`apicurio/apicurio-registry:${pinned('APICURIO_VERSION')}`);
  });

  it('publishes the same loopback ports', () => {
    const host = (svc: string) => compose.services[svc]!.ports!.map((p) => p.split(':').slice(0, 2).join(':'));
    for (const [svc, v] of [
      ['kafka', 'KAFKA_PORT'],
      ['schema-registry', 'REGISTRY_PORT'],
      ['redis', 'REDIS_PORT'],
      ['postgres', 'PG_PORT'],
    ] as const) {
      const port = new RegExp(`^${v}=(\\d+)$`, 'm').exec(stack)?.[1];
      expect(host(svc)).toContain(`127.0.0.1:${port}`);
    }
  });

  it('creates topics from the same config/topics.tsv', () => {
    expect(compose.services['kafka-topics']!.volumes).toContain('./config/topics.tsv:/topics.tsv:ro');
    expect(stack).toContain('config/topics.tsv');
  });
});
