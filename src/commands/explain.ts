/**
 * `fraud-engine explain <auth_id>`: reads the stored decision from the audit trail, builds a
 * compact context without any card number or free text, asks the configured OpenAI-compatible
 * chat model for a short explanation an analyst can act on, stores it on the audit row
 * (column `explanation`) and prints it. An analyst tool: the decision path never calls it.
 */
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { ConfigError, loadConfig } from '../config/config.js';
import { openAIChat, AssistantError, type ChatModel } from '../assistant/client.js';
import { buildExplainContext, type ExplainContext, type RuleInfo } from '../assistant/context.js';
import { explainDecision } from '../assistant/explain.js';
import { assistantSettings, NOT_CONFIGURED_EXIT } from '../assistant/settings.js';
import { loadRulesetFiles } from '../rules/load.js';
import type { RulesetDef } from '../rules/types.js';
import { AuditConfigError, createAuditPool, isMissingTable } from '../sinks/audit/pool.js';
import { getDecision, saveExplanation } from '../sinks/audit/queries.js';

const HELP = `usage: fraud-engine explain <auth_id> [--config FILE] [--rules DIR] [--no-store] [--show-context]
Explains a stored decision (audit trail, needs FRAUD_POSTGRES_URL) with an OpenAI-compatible chat model:
  FRAUD_ASSISTANT_BASE_URL, FRAUD_ASSISTANT_MODEL, FRAUD_ASSISTANT_API_KEY (or OPENAI_BASE_URL / OPENAI_MODEL / OPENAI_API_KEY).
The explanation is stored in decision_audit.explanation unless --no-store.
  --rules DIR       ruleset whose rule descriptions are given to the model (default: rules.dir, config/rules)
  --show-context    also print the context sent to the model (JSON, on stderr)`;

export class ExplainError extends Error {}

/** Rule descriptions and thresholds of a ruleset directory; empty when it cannot be read. */
export function ruleInfo(dir: string): { rules: Map<string, RuleInfo>; thresholds: RulesetDef['thresholds'] | null; version: string | null } {
  try {
    const def = loadRulesetFiles(dir);
    return { rules: new Map(def.rules.map((r) => [r.id, { description: r.description, expression: r.expression }])), thresholds: def.thresholds, version: def.version };
  } catch {
    return { rules: new Map(), thresholds: null, version: null };
  }
}

export interface ExplainResult {
  explanation: string;
  context: ExplainContext;
  stored: boolean;
}

/** Reads, explains and (unless store=false) stores; throws ExplainError when there is no such decision. */
export async function explainAuthorization(o: {
  pool: pg.Pool; chat: ChatModel; authId: string; rulesDir?: string; store?: boolean;
}): Promise<ExplainResult> {
  const rec = await getDecision(o.pool, o.authId);
  if (!rec) throw new ExplainError(`no decision for auth id '${o.authId}' in the audit trail (decision_audit)`);
  const info = ruleInfo(o.rulesDir ?? 'config/rules');
  // Thresholds only when the stored decision was made by that ruleset version.
  const thresholds = info.version === rec.ruleset_version ? info.thresholds : null;
  const context = buildExplainContext(rec, { rules: info.rules, thresholds });
  const explanation = await explainDecision(o.chat, context);
  const stored = o.store === false ? false : await saveExplanation(o.pool, rec.auth_id, explanation, o.chat.model);
  return { explanation, context, stored };
}

export default async function explain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { config: { type: 'string' }, rules: { type: 'string' }, 'no-store': { type: 'boolean' }, 'show-context': { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) { console.log(HELP); return 0; }
  const authId = positionals[0];
  if (!authId || positionals.length > 1) { console.error(HELP); return 2; }
  const settings = assistantSettings();
  if (!settings.ok) { console.error(`explain: ${settings.message}`); return NOT_CONFIGURED_EXIT; }

  let pool: pg.Pool;
  let rulesDir: string;
  try {
    const cfg = loadConfig(values.config ?? 'config/default.yaml');
    rulesDir = values.rules ?? cfg.rules.dir;
    pool = createAuditPool(cfg.postgres, { max: 1, applicationName: 'fraud-engine-explain' });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof AuditConfigError) { console.error(err.message); return 2; }
    throw err;
  }
  try {
    const r = await explainAuthorization({ pool, chat: openAIChat(settings.settings), authId, rulesDir, store: !values['no-store'] });
    if (values['show-context']) console.error(JSON.stringify(r.context, null, 2));
    console.log(r.explanation);
    if (!values['no-store']) console.error(r.stored ? `(stored in decision_audit.explanation for ${authId})` : '(not stored: the row is gone)');
    return 0;
  } catch (err) {
    if (err instanceof ExplainError || err instanceof AssistantError) { console.error(`explain: ${err.message}`); return 1; }
    if (isMissingTable(err)) { console.error('explain: the audit table decision_audit does not exist yet: run `fraud-engine sink audit` first'); return 1; }
    throw err;
  } finally {
    await pool.end().catch(() => undefined);
  }
}
