/**
 * `fraud-engine sink audit`: the audit trail's sink (src/app/audit-sink.ts) started from the
 * configuration and the options, run until SIGTERM; the batch in flight is then written and its
 * offsets committed before the group is left.
 */
import { configOf, guarded, HELP_WORDS, intOption, parseOrUsage, runUntilStopped } from '../cli/kit.js';
import { DEFAULT_AUDIT_HTTP_PORT, startAuditSink } from '../app/audit-sink.js';
import { createLogger } from '../observability/logger.js';
import { auditErrorExit } from '../sinks/audit/pool.js';

const SHUTDOWN_BUDGET_MS = 10_000;

const HELP = `usage: fraud-engine sink audit [--config config/default.yaml] [--http-port ${DEFAULT_AUDIT_HTTP_PORT}] [--max-rows 1000]
Reads the decisions topic in the consumer group <kafka.group_id>-audit and writes every decision to
PostgreSQL (table decision_audit, one partition per day); reads the fraud labels topic in the group
<kafka.group_id>-audit-labels and stores every label (table label_audit, one row per auth id and
source: a chargeback and an analyst verdict are both kept). Bad messages of either go to
kafka.topic_audit_dlq with the reason. Needs FRAUD_POSTGRES_URL.
  --http-port N   /metrics, /healthz, /readyz (default ${DEFAULT_AUDIT_HTTP_PORT}, env FRAUD_AUDIT_HTTP_PORT; 0 = off)
  --max-rows N    most decisions per INSERT (default 1000)`;

export default function sink(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  if (HELP_WORDS.includes(kind)) {
    console.log(HELP);
    return Promise.resolve(0);
  }
  if (kind !== 'audit') {
    console.error(kind ? `unknown sink '${kind}' (known: audit)\n\n${HELP}` : HELP);
    return Promise.resolve(2);
  }
  return guarded(
    async () => {
      const { values } = parseOrUsage(
        rest,
        { config: { type: 'string' }, 'http-port': { type: 'string' }, 'max-rows': { type: 'string' } },
        HELP,
      );
      const cfg = configOf(values.config);
      const httpPort = intOption(
        'http-port',
        values['http-port'] ?? (process.env.FRAUD_AUDIT_HTTP_PORT || undefined),
        DEFAULT_AUDIT_HTTP_PORT,
      );
      const maxRows = Math.max(1, intOption('max-rows', values['max-rows'], 1000));
      const log = createLogger(cfg.engine.log_level, 'fraud-engine-audit');
      return runUntilStopped(await startAuditSink(cfg, { log, httpPort, maxRows }), log, SHUTDOWN_BUDGET_MS);
    },
    (err) => auditErrorExit(err),
  );
}
