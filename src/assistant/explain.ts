/**
 * Explaining a stored decision to an analyst: the decision read from the audit trail, a compact
 * context without any card number or free text (./context.ts), a short explanation asked of the
 * chat model, stored on the audit row (column `explanation`). Never on the decision path.
 */
import type pg from 'pg';
import type { EngineConfig } from '../config/config.js';
import { loadRulesetFiles } from '../rules/load.js';
import type { RulesetDef } from '../rules/types.js';
import { createAuditPool } from '../sinks/audit/pool.js';
import { getDecision, saveExplanation } from '../sinks/audit/queries.js';
import type { ChatMessage, ChatModel } from './client.js';
import { buildExplainContext, type ExplainContext, type RuleInfo } from './context.js';

export const EXPLAIN_SYSTEM_PROMPT = `You assist fraud analysts who review card-payment authorizations.
You receive a JSON summary of one decision made by the fraud engine: the authorization, the decision
(outcome APPROVE / REVIEW / DECLINE, model score in [0,1] with the review/decline thresholds, reason codes),
the rules that hit (ACTIVE rules change the outcome, SHADOW rules are only reported), the features that
stand out against the customer's, card's or terminal's usual behaviour, that usual behaviour, and the
model's top factors (model_factors: each feature's exact contribution to the model's log-odds; positive
raises the fraud risk, negative lowers it; the largest first; empty when not computed).
Write a short explanation (at most 120 words, plain text, no headings):
1. why the engine decided this outcome, naming the two or three strongest drivers with their numbers
   (for the model's part, prefer its top factors);
2. what the analyst should check or do next (e.g. contact the cardholder, review the terminal, block the device).
Use only facts from the summary; say so when information is missing (e.g. the decision was degraded).
Never ask for or mention card numbers.`;

export function explainMessages(ctx: ExplainContext): ChatMessage[] {
  return [
    { role: 'system', content: EXPLAIN_SYSTEM_PROMPT },
    { role: 'user', content: `Decision summary (JSON):\n${JSON.stringify(ctx, null, 1)}` },
  ];
}

export async function explainDecision(chat: ChatModel, ctx: ExplainContext): Promise<string> {
  return chat.complete(explainMessages(ctx));
}

export class ExplainError extends Error {}

/** Rule descriptions and thresholds of a ruleset directory; empty when it cannot be read. */
export function ruleInfo(dir: string): {
  rules: Map<string, RuleInfo>;
  thresholds: RulesetDef['thresholds'] | null;
  version: string | null;
} {
  try {
    const def = loadRulesetFiles(dir);
    return {
      rules: new Map(def.rules.map((r) => [r.id, { description: r.description, expression: r.expression }])),
      thresholds: def.thresholds,
      version: def.version,
    };
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
  pool: pg.Pool;
  chat: ChatModel;
  authId: string;
  rulesDir?: string;
  store?: boolean;
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

/** explainAuthorization on a one-connection audit pool of `postgres` (fraud-engine-explain), ended after. */
export async function explainStored(
  postgres: EngineConfig['postgres'],
  o: Omit<Parameters<typeof explainAuthorization>[0], 'pool'>,
): Promise<ExplainResult> {
  const pool = createAuditPool(postgres, { max: 1, applicationName: 'fraud-engine-explain' });
  try {
    return await explainAuthorization({ ...o, pool });
  } finally {
    await pool.end().catch(() => undefined);
  }
}
