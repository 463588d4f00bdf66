/**
 * Evaluates a compiled ruleset against one event. A rule that errors at run time (a
 * missing feature, say) counts as not hit and is reported, so the caller can count it by
 * rule id; it never fails the decision.
 */
import type { AuthorizationEvent } from '../events/types.js';
import { MINOR_PER_MAJOR } from '../events/types.js';
import type { CompiledRule, CompiledRuleset, RuleContext } from './compile.js';

export interface RuleEvaluation {
  active: CompiledRule[];
  shadow: CompiledRule[];
  errors: string[];
}

function run(rules: readonly CompiledRule[], ctx: RuleContext, hits: CompiledRule[], errors: string[]): void {
  for (const rule of rules) {
    try {
      if (rule.test(ctx) === true) hits.push(rule);
    } catch {
      errors.push(rule.def.id);
    }
  }
}

export function evaluateRules(rs: CompiledRuleset, ctx: RuleContext): RuleEvaluation {
  const out: RuleEvaluation = { active: [], shadow: [], errors: [] };
  run(rs.active, ctx, out.active, out.errors);
  run(rs.shadow, ctx, out.shadow, out.errors);
  return out;
}

/**
 * The CEL view of an event: nulls become empty strings so that `tx.device_id in lists.x`
 * is simply false; amounts in major units; hour and weekday in UTC.
 */
export function ruleContext(
  ev: AuthorizationEvent,
  names: readonly string[],
  vector: readonly (number | null)[],
  score: number | null,
  lists: CompiledRuleset['lists'],
): RuleContext {
  const d = new Date(ev.event_time);
  const f: Record<string, number> = {};
  for (let i = 0; i < names.length; i++) {
    const v = vector[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) f[names[i]!] = v;
  }
  const ctx: RuleContext = {
    tx: {
      auth_id: ev.auth_id,
      card_token: ev.card_token,
      customer_id: ev.customer_id,
      terminal_id: ev.terminal_id,
      merchant_id: ev.merchant_id ?? '',
      mcc: ev.mcc ?? '',
      amount: ev.amount_minor / MINOR_PER_MAJOR,
      amount_minor: BigInt(ev.amount_minor),
      currency: ev.currency,
      channel: ev.channel,
      device_id: ev.device_id ?? '',
      ip: ev.ip ?? '',
      email_hash: ev.email_hash ?? '',
      country: ev.country ?? '',
      hour: BigInt(d.getUTCHours()),
      weekday: BigInt(((d.getUTCDay() + 6) % 7) + 1),
    },
    f,
    lists,
  };
  if (score !== null && Number.isFinite(score)) ctx.score = score;
  return ctx;
}
