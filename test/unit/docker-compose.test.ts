/**
 * docker-compose.yml cannot run here (no Docker engine): keep it parsing, in step with
 * scripts/stack, and its fraud-engine services locked down with no secret in the file.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = resolve(import.meta.dirname, '../..');
type Service = {
  image: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
};
// merge: the fraud-engine services share their settings through a YAML merge key (<<).
const compose = parse(readFileSync(resolve(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const stack = readFileSync(resolve(root, 'scripts/stack'), 'utf8');
const pinned = (name: string) => new RegExp(`${name}=\\$\\{${name}:-([^}]+)\\}`).exec(stack)?.[1];

describe('docker-compose.yml', () => {
  it('offers the services of scripts/stack plus Prometheus, and the engine, audit sink and console', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'audit-sink',
      'console',
      'engine',
      'kafka',
      'kafka-topics',
      'migrate',
      'postgres',
      'prometheus',
      'redis',
      'schema-registry',
      'schemas',
    ]);
  });

  it("runs the image's commands read-only, as the Dockerfile allows, with the secrets from the environment", () => {
    const commands = {
      engine: 'run',
      'audit-sink': 'sink audit',
      console: 'console',
      schemas: 'schemas register',
      migrate: 'migrate --engine-role fraud_engine',
    };
    for (const [name, command] of Object.entries(commands)) {
      const svc = compose.services[name]!;
      expect(svc.command?.join(' '), name).toBe(command);
      expect(svc.image, name).toMatch(/fraud-engine/);
      expect([svc.read_only, svc.tmpfs, svc.cap_drop], name).toEqual([true, ['/tmp'], ['ALL']]);
      const env = svc.environment ?? {};
      // Every password is a reference to the environment or .env, never a value.
      for (const [k, v] of Object.entries(env).filter(([k]) => /PASSWORD/.test(k)))
        expect(v, `${name} ${k}`).toMatch(/^\$\{FRAUD_[A-Z_]+:[-?][^}]*\}$/);
      expect(Object.values(env).join(' '), name).not.toMatch(/:\/\/[^/@\s]*:[^/@\s$]+@/);
      expect(env.FRAUD_KAFKA_BROKERS, name).toBe('kafka:19092');
    }
    // The health check probes each process's own port.
    expect(compose.services.engine!.environment!.FRAUD_HEALTHCHECK_PORT).toBe('9464');
    expect(compose.services['audit-sink']!.environment!.FRAUD_HEALTHCHECK_PORT).toBe(
      compose.services['audit-sink']!.environment!.FRAUD_AUDIT_HTTP_PORT,
    );
    expect(compose.services.console!.environment!.FRAUD_HEALTHCHECK_PORT).toBe(
      compose.services.console!.environment!.FRAUD_CONSOLE_HTTP_PORT,
    );
  });

  it('migrates before the engine starts, and the engine reads rules as its own read-only role', () => {
    for (const svc of ['engine', 'console'])
      expect(compose.services[svc]!.depends_on?.migrate, svc).toEqual({ condition: 'service_completed_successfully' });
    expect(compose.services.migrate!.depends_on?.postgres).toEqual({ condition: 'service_healthy' });
    expect(new URL(compose.services.engine!.environment!.FRAUD_POSTGRES_URL!).username).toBe('fraud_engine');
    expect(compose.services.engine!.environment!.PGPASSWORD).toMatch(/^\$\{FRAUD_ENGINE_PG_PASSWORD:/);
    // The role itself: created on a new volume from the same SQL as scripts/stack.
    expect(compose.services.postgres!.volumes).toContain('./scripts/stack.d/engine-role.sql:/engine-role.sql:ro');
    expect(stack).toContain('engine-role.sql');
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
