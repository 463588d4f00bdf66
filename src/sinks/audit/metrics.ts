/** The audit sink's Prometheus metrics, on a registry of its own (it is a process of its own). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../../observability/metrics.js';

// Seconds, Prometheus's base unit.
const LATENCY_SECONDS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];

export function createAuditMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectProcessMetrics(registry, 'fraud_audit_process_');
  return {
    registry,
    rows: new Counter({
      name: 'fraud_audit_rows_total',
      help: 'Decision rows written to PostgreSQL (rate = rows per second)',
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'fraud_audit_duplicates_total',
      help: 'Redelivered decisions already stored (not written again)',
      registers: [registry],
    }),
    skipped: new Counter({
      name: 'fraud_audit_skipped_total',
      help: 'Decisions and labels (reason label:*) sent to the sink dead-letter topic (undecodable, invalid, refused by PostgreSQL), by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    labels: new Counter({
      name: 'fraud_audit_labels_total',
      help: 'Fraud labels stored in label_audit (new, or replacing an older label of the same source), by verdict',
      labelNames: ['fraud'] as const,
      registers: [registry],
    }),
    labelDuplicates: new Counter({
      name: 'fraud_audit_label_duplicates_total',
      help: 'Fraud labels already stored or older than the stored one (nothing written)',
      registers: [registry],
    }),
    writeErrors: new Counter({
      name: 'fraud_audit_write_errors_total',
      help: 'Failed batch writes (retried; offsets not committed)',
      registers: [registry],
    }),
    batchLatency: new Histogram({
      name: 'fraud_audit_batch_latency_seconds',
      help: 'Latency of one batch: decode, write to PostgreSQL, commit offsets, in seconds',
      buckets: LATENCY_SECONDS,
      registers: [registry],
    }),
    batchRows: new Histogram({
      name: 'fraud_audit_batch_rows',
      help: 'Decisions per written batch',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'fraud_audit_consumer_lag',
      help: 'Messages behind the high watermark, by topic and partition',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
  };
}

export type AuditMetrics = ReturnType<typeof createAuditMetrics>;
