/**
 * The audit trail's sink started from a configuration: the audit migrations applied, `decisions`
 * consumed in the group `<kafka.group_id>-audit` and written to PostgreSQL (decision_audit,
 * partitioned by day), `fraud-labels` consumed in the group `<kafka.group_id>-audit-labels` and
 * upserted into label_audit (one row per auth id and label source), /metrics /healthz /readyz served on its own port (default 9465). Stopping
 * writes the batch in flight and commits its offsets before the group is left. The caller owns
 * the lifecycle (`fraud-engine sink audit`, tests).
 */
import type { Server } from 'node:http';
import type pg from 'pg';
import type { Logger } from 'pino';
import { fatalLatch } from '../cli/kit.js';
import { codecsFromConfig } from '../cli/clients.js';
import type { EngineConfig } from '../config/config.js';
import { createKafka, IDEMPOTENT_PRODUCER } from '../kafka/client.js';
import { startHealthHttp } from '../observability/http.js';
import { createLogger } from '../observability/logger.js';
import { validateLabel } from '../pipelines/labels/validate.js';
import { migrate } from '../storage/migrate.js';
import { probePool } from '../storage/pool.js';
import { createAuditMetrics, type AuditMetrics } from '../sinks/audit/metrics.js';
import { createAuditPool } from '../sinks/audit/pool.js';
import { auditConsumerConfig, auditRunnerSettingsOf, KafkaAuditRunner } from '../sinks/audit/runner.js';
import { AuditWriter } from '../sinks/audit/writer.js';
import { KafkaLabelAuditRunner, labelAuditConsumerConfig } from '../sinks/audit/label-runner.js';
import { LabelAuditWriter } from '../sinks/audit/label-writer.js';

export const DEFAULT_AUDIT_HTTP_PORT = 9465;

export interface AuditSinkOptions {
  log?: Logger;
  /** 0 disables the HTTP server. Default 9465. */
  httpPort?: number;
  httpHost?: string;
  maxRows?: number;
  /** Consumer group; default `<kafka.group_id>-audit` (labels: the same + `-labels`). */
  groupId?: string;
}

export interface AuditSinkHandle {
  runner: KafkaAuditRunner;
  writer: AuditWriter;
  /** The fraud labels' consumer (label_audit). */
  labels: KafkaLabelAuditRunner;
  metrics: AuditMetrics;
  pool: pg.Pool;
  http: Server | null;
  /** Settles when the consumer keeps crashing although run again: exit for the supervisor. */
  fatal: Promise<Error>;
  stop(): Promise<void>;
}

/** Connects, migrates and starts consuming; the caller owns the lifecycle (signals, tests). */
export async function startAuditSink(cfg: EngineConfig, opts: AuditSinkOptions = {}): Promise<AuditSinkHandle> {
  const log = opts.log ?? createLogger(cfg.engine.log_level, 'fraud-engine-audit');
  const metrics = createAuditMetrics();
  // What has been opened so far, closed in reverse order if start-up fails half-way.
  const opened: (() => Promise<unknown>)[] = [];
  try {
    const pool = createAuditPool(cfg.postgres);
    pool.on('error', (err) => log.warn({ err }, 'postgres pool error'));
    opened.push(() => pool.end());
    const m = await migrate(pool);
    if (m.applied.length) log.info({ applied: m.applied }, 'audit migrations applied');

    const kafka = createKafka(cfg.kafka, log, '-audit');
    const codecs = await codecsFromConfig(cfg);
    const consumer = kafka.consumer(auditConsumerConfig(cfg, opts.groupId));
    await consumer.connect();
    opened.push(() => consumer.disconnect());
    const labelConsumer = kafka.consumer(labelAuditConsumerConfig(cfg, opts.groupId));
    await labelConsumer.connect();
    opened.push(() => labelConsumer.disconnect());
    // For the sink's dead letters (decisions it cannot decode, validate or write).
    const producer = kafka.producer(IDEMPOTENT_PRODUCER);
    await producer.connect();
    opened.push(() => producer.disconnect());
    const writer = new AuditWriter(pool);
    const { fatal, onFatal } = fatalLatch();
    const runner = new KafkaAuditRunner({
      consumer,
      producer,
      codecs,
      writer,
      ...auditRunnerSettingsOf(cfg),
      log,
      metrics,
      maxRows: opts.maxRows,
      probe: async () => {
        await pool.query('SELECT 1');
      },
      onFatal,
    });

    const labels = new KafkaLabelAuditRunner({
      consumer: labelConsumer,
      producer,
      codecs,
      writer: new LabelAuditWriter(pool),
      topic: cfg.kafka.topic_labels,
      dlq: cfg.kafka.topic_audit_dlq,
      log,
      metrics,
      validate: (l, now) => validateLabel(l, { now }),
      maxMessageBytes: cfg.engine.max_message_bytes,
      probe: async () => {
        await pool.query('SELECT 1');
      },
      onFatal,
    });

    const pgProbe = probePool(pool);
    opened.push(async () => pgProbe.stop());
    const port = opts.httpPort ?? DEFAULT_AUDIT_HTTP_PORT;
    const host = opts.httpHost ?? cfg.engine.http_host;
    const http = await startHealthHttp({
      host,
      port,
      registry: metrics.registry,
      checks: () => ({ ...runner.checks(pgProbe.ok()), labels: labels.isRunning }),
    });
    if (http) opened.push(() => new Promise((r) => http.close(r)));

    await runner.start();
    await labels.start();
    log.info(
      {
        topic: cfg.kafka.topic_decisions,
        labels: cfg.kafka.topic_labels,
        ...(http ? { metrics: `http://${host}:${port}/metrics` } : {}),
      },
      'audit sink running',
    );

    return {
      runner,
      writer,
      labels,
      metrics,
      pool,
      http,
      fatal,
      async stop() {
        pgProbe.stop();
        await runner.stop().catch((err: unknown) => log.warn({ err }, 'audit consumer stop failed'));
        await labels.stop().catch((err: unknown) => log.warn({ err }, 'audit labels consumer stop failed'));
        await producer.disconnect().catch(() => undefined);
        if (http) await new Promise((r) => http.close(r));
        await pool.end().catch(() => undefined);
        log.info({ ...runner.counts(), labels: labels.counts() }, 'audit sink stopped');
      },
    };
  } catch (err) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw err;
  }
}
