/**
 * `fraud-engine decisions show <auth_id>` and `decisions search --card <token> --from <time>
 * --to <time> …`: the audit trail in PostgreSQL (written by `sink audit`), for analysts. The
 * search is the console's (src/cases/search.ts).
 */
import * as kit from '../cli/kit.js';
import { auditErrorExit, withAuditPool } from '../sinks/audit/pool.js';
import { searchDecisions } from '../cases/search.js';
import { decisionsTable, getDecision } from '../sinks/audit/queries.js';

const HELP = `usage: fraud-engine decisions show <auth_id> [--config FILE]
       fraud-engine decisions search [--card <token>] [--auth-id ID] [--from TIME] [--to TIME]
                                     [--outcome APPROVE|REVIEW|DECLINE] [--rule RULE_ID]
                                     [--limit 100] [--format table|jsonl] [--config FILE]
Every filter is optional (at least one is required); --rule matches active and shadow hits.
TIME: 2026-01-31 (UTC midnight), 2026-01-31T14:00:00Z, or epoch milliseconds. --from is inclusive, --to exclusive.
Reads the audit table decision_audit (needs FRAUD_POSTGRES_URL; filled by 'fraud-engine sink audit').`;

const APP = 'fraud-engine-decisions';

async function decisionsMain(sub: string, rest: string[]): Promise<number> {
  if (sub === 'show') {
    const { values, positionals } = kit.parseOrUsage(rest, { config: { type: 'string' } }, HELP, { positionals: true });
    const authId = positionals[0];
    if (!authId || positionals.length > 1) {
      console.error(HELP);
      return 2;
    }
    const rec = await withAuditPool(kit.configOf(values.config).postgres, APP, (pool) => getDecision(pool, authId));
    if (!rec) {
      console.error(`no decision for auth id '${authId}' in the audit trail`);
      return 1;
    }
    console.log(JSON.stringify(rec, null, 2));
    return 0;
  }
  if (sub === 'search') {
    const { values } = kit.parseOrUsage(
      rest,
      {
        card: { type: 'string' },
        'auth-id': { type: 'string' },
        rule: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        outcome: { type: 'string' },
        limit: { type: 'string' },
        format: { type: 'string' },
        config: { type: 'string' },
      },
      HELP,
    );
    if (!values.card && !values['auth-id'] && !values.rule && !values.from && !values.to && !values.outcome)
      throw new kit.UsageError(
        `give at least one filter (--card, --auth-id, --rule, --from, --to, --outcome)\n\n${HELP}`,
      );
    const format = kit.choiceOption('format', values.format, ['table', 'jsonl'] as const) ?? 'table';
    const outcome = kit.choiceOption('outcome', values.outcome, ['APPROVE', 'REVIEW', 'DECLINE'] as const);
    const q = {
      ...(values.card ? { card: values.card } : {}),
      ...(values['auth-id'] ? { authId: values['auth-id'] } : {}),
      ...(values.rule ? { rule: values.rule } : {}),
      limit: kit.intOption('limit', values.limit, 100, 1),
      ...(values.from ? { from: kit.parseTime('from', values.from) } : {}),
      ...(values.to ? { to: kit.parseTime('to', values.to) } : {}),
      ...(outcome ? { outcome } : {}),
    };
    const rows = await withAuditPool(kit.configOf(values.config).postgres, APP, (pool) => searchDecisions(pool, q));
    const out = format === 'table' ? decisionsTable(rows) : rows.map((r) => JSON.stringify(r)).join('\n');
    if (out) console.log(out);
    return 0;
  }
  throw new kit.UsageError(`unknown subcommand 'decisions ${sub}'\n\n${HELP}`);
}

export default function decisions(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || kit.HELP_WORDS.includes(sub)) {
    console.log(HELP);
    return Promise.resolve(sub ? 0 : 2);
  }
  return kit.guarded(
    () => decisionsMain(sub, rest),
    (err) =>
      auditErrorExit(
        err,
        'the audit table decision_audit does not exist yet: start `fraud-engine sink audit` once (it applies migration 010_audit)',
      ),
  );
}
