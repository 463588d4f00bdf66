/**
 * `fraud-engine decisions show <auth_id>` and `decisions search --card <token> --from <time>
 * --to <time>`: the audit trail in PostgreSQL (written by `sink audit`), for analysts.
 */
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { ConfigError, loadConfig } from '../config/config.js';
import type { Outcome } from '../events/types.js';
import { AuditConfigError, createAuditPool, isMissingTable } from '../sinks/audit/pool.js';
import { getDecision, searchDecisions, type AuditRecord, type SearchQuery } from '../sinks/audit/queries.js';

const HELP = `usage: fraud-engine decisions show <auth_id> [--config FILE]
       fraud-engine decisions search --card <token> [--from TIME] [--to TIME] [--outcome APPROVE|REVIEW|DECLINE]
                                     [--limit 100] [--format table|jsonl] [--config FILE]
TIME: 2026-01-31 (UTC midnight), 2026-01-31T14:00:00Z, or epoch milliseconds. --from is inclusive, --to exclusive.
Reads the audit table decision_audit (needs FRAUD_POSTGRES_URL; filled by 'fraud-engine sink audit').`;

/** Epoch ms of `2026-01-31`, an ISO date-time, or epoch ms digits; throws naming the option. */
export function parseTime(name: string, v: string): number {
  const t = /^\d{10,}$/.test(v) ? Number(v) : Date.parse(/T|\s\d/.test(v) ? v : `${v}T00:00:00Z`);
  if (!Number.isFinite(t)) throw new Error(`--${name}: not a time: '${v}' (use 2026-01-31, 2026-01-31T14:00:00Z or epoch ms)`);
  return t;
}

const fmtScore = (s: number | null) => (s === null ? '-' : s.toFixed(3));

/** A fixed-width table of decisions, one per line, newest first. */
export function formatTable(rows: readonly AuditRecord[]): string {
  const header = ['event_time', 'auth_id', 'outcome', 'score', 'reasons', 'rule_hits', 'degraded'];
  const lines = rows.map((r) => [
    r.event_time, r.auth_id, r.outcome, fmtScore(r.score), r.reasons.join(',') || '-',
    r.rule_hits.map((h) => (h.mode === 'SHADOW' ? `(${h.rule_id})` : h.rule_id)).join(',') || '-', r.degraded.join(',') || '-',
  ]);
  const width = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(width[i]!))).join('  ');
  return [fmt(header), ...lines.map(fmt), `(${rows.length} decision${rows.length === 1 ? '' : 's'}; shadow rule hits in parentheses)`].join('\n');
}

export function formatJsonLines(rows: readonly AuditRecord[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n');
}

async function withPool<T>(configFile: string | undefined, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const cfg = loadConfig(configFile ?? 'config/default.yaml');
  const pool = createAuditPool(cfg.postgres, { max: 1, applicationName: 'fraud-engine-decisions' });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

export default async function decisions(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') { console.log(HELP); return sub ? 0 : 2; }
  try {
    if (sub === 'show') {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { config: { type: 'string' }, help: { type: 'boolean' } } });
      if (values.help) { console.log(HELP); return 0; }
      const authId = positionals[0];
      if (!authId || positionals.length > 1) { console.error(HELP); return 2; }
      const rec = await withPool(values.config, (pool) => getDecision(pool, authId));
      if (!rec) { console.error(`no decision for auth id '${authId}' in the audit trail`); return 1; }
      console.log(JSON.stringify(rec, null, 2));
      return 0;
    }
    if (sub === 'search') {
      const { values } = parseArgs({
        args: rest,
        options: {
          card: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, outcome: { type: 'string' },
          limit: { type: 'string' }, format: { type: 'string' }, config: { type: 'string' }, help: { type: 'boolean' },
        },
      });
      if (values.help) { console.log(HELP); return 0; }
      if (!values.card) { console.error(`--card is required\n\n${HELP}`); return 2; }
      const format = values.format ?? 'table';
      if (format !== 'table' && format !== 'jsonl') { console.error('--format must be table or jsonl'); return 2; }
      if (values.outcome && !['APPROVE', 'REVIEW', 'DECLINE'].includes(values.outcome)) { console.error('--outcome must be APPROVE, REVIEW or DECLINE'); return 2; }
      const limit = Number(values.limit ?? 100);
      if (!Number.isInteger(limit) || limit < 1) { console.error('--limit must be a positive integer'); return 2; }
      const q: SearchQuery = {
        card: values.card, limit,
        ...(values.from ? { from: parseTime('from', values.from) } : {}),
        ...(values.to ? { to: parseTime('to', values.to) } : {}),
        ...(values.outcome ? { outcome: values.outcome as Outcome } : {}),
      };
      const rows = await withPool(values.config, (pool) => searchDecisions(pool, q));
      const out = format === 'table' ? formatTable(rows) : formatJsonLines(rows);
      if (out) console.log(out);
      return 0;
    }
    console.error(`unknown subcommand 'decisions ${sub}'\n\n${HELP}`);
    return 2;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof AuditConfigError) { console.error(err.message); return 2; }
    if (isMissingTable(err)) { console.error('the audit table decision_audit does not exist yet: start `fraud-engine sink audit` once (it applies migration 010_audit)'); return 1; }
    if (err instanceof Error && err.message.startsWith('--')) { console.error(err.message); return 2; }
    throw err;
  }
}
