/**
 * `fraud-engine models compare --from D --to D`: the champion and the challenger side by side on
 * the audit trail (decision_audit) joined with the labels that arrived (label_audit, both
 * written by `sink audit`). The labelling rule and the figures: src/evaluation/compare.ts; the
 * challenger's would-be outcomes: src/pipelines/compare/models-compare.ts.
 */
import * as kit from '../cli/kit.js';
import { compareOnAuditTrail } from '../pipelines/compare/models-compare.js';
import { modelsCompareText } from '../pipelines/compare/models-compare-text.js';
import { rulesetByVersion } from '../rules/by-version.js';
import { PgRulesetStore } from '../rules/pg-store.js';
import { labelledDecisionPages } from '../sinks/audit/labelled.js';
import { auditErrorExit, withAuditPool } from '../sinks/audit/pool.js';

const DEFAULT_LABEL_DELAY_DAYS = 7;

const HELP = `usage: fraud-engine models compare --from TIME --to TIME [--label-delay-days ${DEFAULT_LABEL_DELAY_DAYS}] [--as-of TIME]
                                [--format text|json] [--config FILE]
The champion (score and outcome as decided) and the challenger (challenger_score, and the outcome
the policy would have given on it with the same ruleset thresholds and active rule hits) side by
side on the decisions of [--from, --to) (event time) in the audit trail, joined with the labels
that arrived (chargebacks and analyst verdicts, stored by 'fraud-engine sink audit'):
AUC ROC, average precision, card precision@100 (per UTC day the 100 cards of highest score),
decline precision and recall, false-decline rate (declined legitimate / all legitimate), review rate.

Labels: a decision is fraud when any label known at --as-of says fraud; legitimate when none does
and its label window has passed (event_time + label delay <= --as-of); otherwise (a recent decision
whose chargeback may still come) it is not counted. Rows without a challenger score are left out of
the challenger's column (the count is printed); a column "champion, same rows" compares like for like.

  --label-delay-days N  days after which a decision without a fraud label is legitimate (default ${DEFAULT_LABEL_DELAY_DAYS})
  --as-of TIME          labels known at this time, label windows closed by it (default: now)
  --format text|json    a table (default) or the report as JSON
TIME: 2026-01-31 (UTC midnight), 2026-01-31T14:00:00Z, or epoch milliseconds.
Needs FRAUD_POSTGRES_URL. Rulesets: the published versions in PostgreSQL, else the files of rules.dir.`;

const APP = 'fraud-engine-models-compare';

export default function modelsCompare(argv: string[]): Promise<number> {
  return kit.guarded(
    async () => {
      const { values } = kit.parseOrUsage(
        argv,
        {
          from: { type: 'string' },
          to: { type: 'string' },
          'label-delay-days': { type: 'string' },
          'as-of': { type: 'string' },
          format: { type: 'string' },
          config: { type: 'string' },
        },
        HELP,
      );
      const from = kit.parseTime('from', kit.required(values.from, '--from', HELP));
      const to = kit.parseTime('to', kit.required(values.to, '--to', HELP));
      if (to <= from) throw new kit.UsageError(`--to must be after --from\n\n${HELP}`);
      const labelDelayDays = kit.numberOption('label-delay-days', values['label-delay-days'], DEFAULT_LABEL_DELAY_DAYS);
      const asOf = values['as-of'] ? kit.parseTime('as-of', values['as-of']) : Date.now();
      const format = kit.choiceOption('format', values.format, ['text', 'json'] as const) ?? 'text';
      const cfg = kit.configOf(values.config);
      const report = await withAuditPool(cfg.postgres, APP, (pool) =>
        compareOnAuditTrail(
          labelledDecisionPages(pool, { from, to, asOf }),
          rulesetByVersion(new PgRulesetStore(pool), cfg.rules.dir),
          { from, to, asOf, labelDelayDays },
        ),
      );
      console.log(format === 'json' ? JSON.stringify(report, null, 2) : modelsCompareText(report));
      return 0;
    },
    (err) =>
      auditErrorExit(
        err,
        'the audit tables do not exist yet: run `fraud-engine migrate` (or start `fraud-engine sink audit` once)',
      ),
  );
}
