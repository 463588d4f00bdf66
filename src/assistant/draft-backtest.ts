/**
 * `rules draft` without the command line: ask the chat model for one rule (./draft.ts), validate
 * it with the rules compiler against the current ruleset, then backtest it on history with the
 * one backtest engine (src/pipelines/replay/backtest.ts). Publishes nothing.
 */
import type { HistoryRecord } from '../events/history/index.js';
import type { Scorer } from '../models/scorer.js';
import { backtestRule, type RuleBacktestSummary } from '../pipelines/replay/backtest.js';
import { validateRuleset } from '../rules/compile.js';
import { ruleYaml } from '../rules/files.js';
import type { RuleAction, RuleDef, RuleError, RulesetDef } from '../rules/types.js';
import type { ChatModel } from './client.js';
import { draftRule, type DraftedRule, type DraftResult } from './draft.js';

export interface DraftSettings {
  priority: number;
  mode: 'active' | 'shadow';
  owner: string;
}

export function toRuleDef(d: DraftedRule, s: DraftSettings): RuleDef {
  return {
    id: d.id,
    description: d.description,
    expression: d.expression,
    action: d.action as RuleAction,
    priority: s.priority,
    mode: s.mode,
    owner: s.owner,
    source: { file: 'draft', line: 1 },
  };
}

/** The compiler's verdict on a draft against a ruleset: null when it compiles and its id is free. */
export function validateDraft(base: RulesetDef, d: DraftedRule, s: DraftSettings): string | null {
  if (base.rules.some((r) => r.id === d.id))
    return `id '${d.id}' already exists in ruleset ${base.version}: choose another id`;
  const errors: RuleError[] = validateRuleset({ ...base, rules: [toRuleDef(d, s)] });
  return errors.length ? errors.map((e) => e.message).join('; ') : null;
}

export interface DraftAndBacktest {
  draft: DraftResult;
  rule: RuleDef | null;
  yaml: string | null;
  backtest: RuleBacktestSummary | null;
}

/** Draft, validate, backtest. */
export async function draftAndBacktest(o: {
  chat: ChatModel;
  request: string;
  records: readonly HistoryRecord[];
  base: RulesetDef;
  scorer: Scorer | null;
  settings?: Partial<DraftSettings>;
  maxAttempts?: number;
  labelDelayDays?: number;
}): Promise<DraftAndBacktest> {
  const s: DraftSettings = {
    priority: o.settings?.priority ?? 150,
    mode: o.settings?.mode ?? 'active',
    owner: o.settings?.owner ?? 'assistant-draft',
  };
  const draft = await draftRule({
    chat: o.chat,
    request: o.request,
    maxAttempts: o.maxAttempts,
    validate: (d) => validateDraft(o.base, d, s),
    examples: o.base.rules.filter((r) => r.mode === 'active').slice(-4),
  });
  if (!draft.rule) return { draft, rule: null, yaml: null, backtest: null };
  const rule = toRuleDef(draft.rule, s);
  delete rule.source;
  const backtest = await backtestRule({
    records: o.records,
    base: o.base,
    rule,
    scorer: o.scorer,
    labelDelayDays: o.labelDelayDays,
  });
  const yaml = ruleYaml(rule, [
    `drafted by ${o.chat.model} from: ${JSON.stringify(o.request).slice(0, 200)}`,
    `backtest: ${backtest.rule.hits} hits, ${backtest.rule.fraud_hits} frauds, ${backtest.rule.false_positives} false positives, ${backtest.outcomes.changed} outcome changes (review before publishing)`,
  ]);
  return { draft, rule, yaml, backtest };
}
