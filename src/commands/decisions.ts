/**
 * `fraud-engine decisions show <auth_id>` and `decisions search --card <token> --from <time>
 * --to <time>`: the audit trail in PostgreSQL (written by `sink audit`), for analysts.
 */
import type pg from 'pg';
import {
  choiceOption,
  configOf,
  guarded,
  HELP_WORDS,
  intOption,
  parseOrUsage,
  parseTime,
  UsageError,
} from '../cli/kit.js';
import { table } from '../observability/table.js';
import { AuditConfigError, createAuditPool, isMissingTable } from '../sinks/audit/pool.js';
import { getDecision, searchDecisions, type AuditRecord } from '../sinks/audit/queries.js';

const HELP = `usage: fraud-engine decisions show <auth_id> [--config FILE]
       fraud-engine decisions search --card <token> [--from TIME] [--to TIME] [--outcome APPROVE|REVIEW|DECLINE]
                                     [--limit 100] [--format table|jsonl] [--config FILE]
TIME: 2026-01-31 (UTC midnight), 2026-01-31T14:00:00Z, or epoch milliseconds. --from is inclusive, --to exclusive.
Reads the audit table decision_audit (needs FRAUD_POSTGRES_URL; filled by 'fraud-engine sink audit').`;

const fmtScore = (s: number | null) => (s === null ? '-' : s.toFixed(3));

/** A fixed-width table of decisions, one per line, newest first. */
export function formatTable(rows: readonly AuditRecord[]): string {
  const lines = rows.map((r) => [
    r.event_time,
    r.auth_id,
    r.outcome,
    fmtScore(r.score),
    r.reasons.join(',') || '-',
    r.rule_hits.map((h) => (h.mode === 'SHADOW' ? `(${h.rule_id})` : h.rule_id)).join(',') || '-',
    r.degraded.join(',') || '-',
  ]);
  const head = ['event_time', 'auth_id', 'outcome', 'score', 'reasons', 'rule_hits', 'degraded'];
  return `${table([head, ...lines])}\n(${rows.length} decision${rows.length === 1 ? '' : 's'}; shadow rule hits in parentheses)`;
}

async function withPool<T>(configFile: string | undefined, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = createAuditPool(configOf(configFile).postgres, { max: 1, applicationName: 'fraud-engine-decisions' });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

async function decisionsMain(sub: string, rest: string[]): Promise<number> {
  if (sub === 'show') {
    const { values, positionals } = parseOrUsage(rest, { config: { type: 'string' } }, HELP, { positionals: true });
    const authId = positionals[0];
    if (!authId || positionals.length > 1) {
      console.error(HELP);
      return 2;
    }
    const rec = await withPool(values.config, (pool) => getDecision(pool, authId));
    if (!rec) {
      console.error(`no decision for auth id '${authId}' in the audit trail`);
      return 1;
    }
    console.log(JSON.stringify(rec, null, 2));
    return 0;
  }
  if (sub === 'search') {
    const { values } = parseOrUsage(
      rest,
      {
        card: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        outcome: { type: 'string' },
        limit: { type: 'string' },
        format: { type: 'string' },
        config: { type: 'string' },
      },
      HELP,
    );
    if (!values.card) throw new UsageError(`--card is required\n\n${HELP}`);
    const format = choiceOption('format', values.format, ['table', 'jsonl'] as const) ?? 'table';
    const outcome = choiceOption('outcome', values.outcome, ['APPROVE', 'REVIEW', 'DECLINE'] as const);
    const q = {
      card: values.card,
      limit: intOption('limit', values.limit, 100, 1),
      ...(values.from ? { from: parseTime('from', values.from) } : {}),
      ...(values.to ? { to: parseTime('to', values.to) } : {}),
      ...(outcome ? { outcome } : {}),
    };
    const rows = await withPool(values.config, (pool) => searchDecisions(pool, q));
    const out = format === 'table' ? formatTable(rows) : rows.map((r) => JSON.stringify(r)).join('\n');
    if (out) console.log(out);
    return 0;
  }
  throw new UsageError(`unknown subcommand 'decisions ${sub}'\n\n${HELP}`);
}

export default function decisions(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || HELP_WORDS.includes(sub)) {
    console.log(HELP);
    return Promise.resolve(sub ? 0 : 2);
  }
  return guarded(
    () => decisionsMain(sub, rest),
    (err) => {
      if (err instanceof AuditConfigError) {
        console.error(err.message);
        return 2;
      }
      if (isMissingTable(err)) {
        console.error(
          'the audit table decision_audit does not exist yet: start `fraud-engine sink audit` once (it applies migration 010_audit)',
        );
        return 1;
      }
      return undefined;
    },
  );
}
