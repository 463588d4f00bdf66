/**
 * `fraud-engine rules draft "<rule in plain words>" --input <history file>` (alias `draft-rule`):
 * asks the configured chat model for ONE CEL rule, validates it with the rules compiler (sending
 * the compiler's error back, at most 3 attempts), then backtests it by replaying the history
 * with the current ruleset and with the current ruleset plus the draft, and prints the rule as
 * YAML ready to paste under `rules:` in config/rules with what it would have changed. Never publishes.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { openAIChat, AssistantError, type ChatModel } from '../assistant/client.js';
import { draftRule, type DraftResult, type DraftedRule } from '../assistant/draft.js';
import { assistantSettings, NOT_CONFIGURED_EXIT } from '../assistant/settings.js';
import { readHistoryFile, type HistoryFormat, type HistoryRecord } from '../events/history/index.js';
import type { Outcome } from '../events/types.js';
import { interleaveLabels } from '../features/label-feed.js';
import { MemoryFeatureStore } from '../features/memory-store.js';
import { FEATURE_NAMES } from '../features/names.js';
import { OnnxScorer } from '../models/onnx-scorer.js';
import type { Scorer } from '../models/scorer.js';
import { createMetrics } from '../observability/metrics.js';
import { DecisionEngine } from '../pipelines/decision/engine.js';
import { replayFeed } from '../pipelines/replay/replay.js';
import { compileRuleset, validateRuleset } from '../rules/compile.js';
import { StaticRulesetSource } from '../rules/file-source.js';
import { loadRulesetFiles } from '../rules/load.js';
import { RuleError, type RuleAction, type RuleDef, type RulesetDef } from '../rules/types.js';

const DEFAULT_MODEL = 'models/model.onnx';

const HELP = `usage: fraud-engine rules draft "<rule in plain words>" --input FILE [--format csv|jsonl]
         [--rules config/rules] [--model ${DEFAULT_MODEL}] [--label-delay-days 7]
         [--priority 150] [--mode active|shadow] [--owner NAME] [--max-attempts 3] [--json]
       (also: fraud-engine draft-rule …)
Asks an OpenAI-compatible chat model (FRAUD_ASSISTANT_BASE_URL, FRAUD_ASSISTANT_MODEL, FRAUD_ASSISTANT_API_KEY, or
OPENAI_*) for one CEL rule, checks it with the rules compiler, and backtests it on the history file (replay with the
current ruleset, then with the draft added as an active rule). Prints the rule as YAML for config/rules; publishes nothing.`;

const OUTCOMES: readonly Outcome[] = ['APPROVE', 'REVIEW', 'DECLINE'];
const stopped = (o: Outcome) => o !== 'APPROVE';

export interface DraftSettings {
  priority: number;
  mode: 'active' | 'shadow';
  owner: string;
}

export function toRuleDef(d: DraftedRule, s: DraftSettings): RuleDef {
  return {
    id: d.id, description: d.description, expression: d.expression, action: d.action as RuleAction,
    priority: s.priority, mode: s.mode, owner: s.owner, source: { file: 'draft', line: 1 },
  };
}

/** The compiler's verdict on a draft against a ruleset: null when it compiles and its id is free. */
export function validateDraft(base: RulesetDef, d: DraftedRule, s: DraftSettings): string | null {
  if (base.rules.some((r) => r.id === d.id)) return `id '${d.id}' already exists in ruleset ${base.version}: choose another id`;
  const errors: RuleError[] = validateRuleset({ ...base, rules: [toRuleDef(d, s)] });
  return errors.length ? errors.map((e) => e.message).join('; ') : null;
}

/** The rule as a YAML list item, indented to paste under `rules:` in config/rules/*.yaml. */
export function ruleYaml(rule: RuleDef, comment: string[] = []): string {
  const item = { id: rule.id, description: rule.description, expression: rule.expression, action: rule.action, priority: rule.priority, mode: rule.mode, owner: rule.owner };
  const body = stringify([item], { lineWidth: 0 }).trimEnd().split('\n').map((l) => `  ${l}`);
  return [...comment.map((c) => `  # ${c}`), ...body].join('\n');
}

export interface Backtest {
  transactions: number;
  labelled: number;
  frauds: number;
  model: string;
  baseline_ruleset: string;
  proposed_ruleset: string;
  rule: {
    id: string;
    hits: number;
    fraud_hits: number;
    /** Hits on transactions labelled legitimate. */
    false_positives: number;
    unlabelled_hits: number;
    /** fraud_hits / labelled hits; null without labelled hits. */
    precision: number | null;
    /** fraud_hits / frauds; null without frauds. */
    recall: number | null;
    runtime_errors: number;
  };
  outcomes: {
    baseline: Record<Outcome, number>;
    proposed: Record<Outcome, number>;
    changed: number;
    transitions: Record<string, number>;
    frauds_stopped_baseline: number;
    frauds_stopped_proposed: number;
    frauds_newly_stopped: number;
    legit_newly_stopped: number;
  };
}

interface Replayed { auth: string; outcome: Outcome; fraud: boolean | null; hit: boolean }

async function replayOutcomes(records: readonly HistoryRecord[], scorer: Scorer | null, ruleset: RulesetDef, ruleId: string | null, delayDays: number) {
  const metrics = createMetrics({ defaultMetrics: false });
  const store = new MemoryFeatureStore();
  // decided_time = event_time: both replays are reproducible and comparable line by line.
  const engine = new DecisionEngine({ store, scorer, rules: new StaticRulesetSource(compileRuleset(ruleset)), metrics, clock: (ev) => ev.event_time });
  const out: Replayed[] = [];
  for await (const r of replayFeed(engine, store, interleaveLabels(records, delayDays))) {
    const d = r.decision;
    out.push({ auth: d.auth_id, outcome: d.outcome, fraud: r.fraud, hit: ruleId !== null && d.rule_hits.some((h) => h.rule_id === ruleId && h.mode === 'ACTIVE') });
  }
  await store.close();
  const errors = ruleId === null ? 0 : ((await metrics.ruleErrors.get()).values.find((v) => v.labels.rule === ruleId)?.value ?? 0);
  return { out, errors };
}

/** Replays the history with the base ruleset and with the rule added (as an active rule), and compares. */
export async function backtestRule(o: { records: readonly HistoryRecord[]; base: RulesetDef; rule: RuleDef; scorer: Scorer | null; labelDelayDays?: number }): Promise<Backtest> {
  const delay = o.labelDelayDays ?? 7;
  const proposedDef: RulesetDef = { ...o.base, version: `${o.base.version}+draft.${o.rule.id}`, rules: [...o.base.rules, { ...o.rule, mode: 'active' }] };
  const base = await replayOutcomes(o.records, o.scorer, o.base, null, delay);
  const prop = await replayOutcomes(o.records, o.scorer, proposedDef, o.rule.id, delay);
  const count = (): Record<Outcome, number> => ({ APPROVE: 0, REVIEW: 0, DECLINE: 0 });
  const bt: Backtest = {
    transactions: base.out.length, labelled: 0, frauds: 0, model: o.scorer?.version ?? 'none',
    baseline_ruleset: o.base.version, proposed_ruleset: proposedDef.version,
    rule: { id: o.rule.id, hits: 0, fraud_hits: 0, false_positives: 0, unlabelled_hits: 0, precision: null, recall: null, runtime_errors: prop.errors },
    outcomes: { baseline: count(), proposed: count(), changed: 0, transitions: {}, frauds_stopped_baseline: 0, frauds_stopped_proposed: 0, frauds_newly_stopped: 0, legit_newly_stopped: 0 },
  };
  for (let i = 0; i < base.out.length; i++) {
    const b = base.out[i]!;
    const p = prop.out[i]!;
    if (b.auth !== p.auth) throw new Error(`backtest: replays diverged at ${i} (${b.auth} vs ${p.auth})`);
    if (b.fraud !== null) bt.labelled++;
    if (b.fraud === true) bt.frauds++;
    bt.outcomes.baseline[b.outcome]++;
    bt.outcomes.proposed[p.outcome]++;
    if (b.fraud === true && stopped(b.outcome)) bt.outcomes.frauds_stopped_baseline++;
    if (b.fraud === true && stopped(p.outcome)) bt.outcomes.frauds_stopped_proposed++;
    if (p.hit) {
      bt.rule.hits++;
      if (b.fraud === true) bt.rule.fraud_hits++;
      else if (b.fraud === false) bt.rule.false_positives++;
      else bt.rule.unlabelled_hits++;
    }
    if (b.outcome !== p.outcome) {
      bt.outcomes.changed++;
      const k = `${b.outcome}->${p.outcome}`;
      bt.outcomes.transitions[k] = (bt.outcomes.transitions[k] ?? 0) + 1;
      if (!stopped(b.outcome) && stopped(p.outcome)) {
        if (b.fraud === true) bt.outcomes.frauds_newly_stopped++;
        else if (b.fraud === false) bt.outcomes.legit_newly_stopped++;
      }
    }
  }
  const labelledHits = bt.rule.fraud_hits + bt.rule.false_positives;
  bt.rule.precision = labelledHits ? bt.rule.fraud_hits / labelledHits : null;
  bt.rule.recall = bt.frauds ? bt.rule.fraud_hits / bt.frauds : null;
  return bt;
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);

export function backtestText(bt: Backtest, input: string): string {
  const o = bt.outcomes;
  const tr = Object.entries(o.transitions).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  return [
    `backtest on ${input}: ${bt.transactions} transactions, ${bt.labelled} labelled, ${bt.frauds} frauds; model ${bt.model}; ruleset ${bt.baseline_ruleset} -> ${bt.proposed_ruleset} (draft evaluated as active)`,
    `  rule hits        ${bt.rule.hits}: frauds caught ${bt.rule.fraud_hits}, false positives ${bt.rule.false_positives}, unlabelled ${bt.rule.unlabelled_hits}; precision ${pct(bt.rule.precision)}, recall ${pct(bt.rule.recall)}`,
    `  runtime errors   ${bt.rule.runtime_errors}${bt.rule.runtime_errors ? ' (counted as not hit: guard absent features with has())' : ''}`,
    `  outcomes         ${OUTCOMES.map((k) => `${k} ${o.baseline[k]} -> ${o.proposed[k]}`).join(', ')}`,
    `  outcome changes  ${o.changed} (${tr}); frauds newly stopped ${o.frauds_newly_stopped}, legitimate newly stopped ${o.legit_newly_stopped}`,
    `  frauds stopped   ${o.frauds_stopped_baseline} -> ${o.frauds_stopped_proposed} of ${bt.frauds}`,
  ].join('\n');
}

export interface DraftAndBacktest {
  draft: DraftResult;
  rule: RuleDef | null;
  yaml: string | null;
  backtest: Backtest | null;
}

/** The whole of `rules draft` without the CLI: draft, validate, backtest. */
export async function draftAndBacktest(o: {
  chat: ChatModel; request: string; records: readonly HistoryRecord[]; base: RulesetDef; scorer: Scorer | null;
  settings?: Partial<DraftSettings>; maxAttempts?: number; labelDelayDays?: number;
}): Promise<DraftAndBacktest> {
  const s: DraftSettings = { priority: o.settings?.priority ?? 150, mode: o.settings?.mode ?? 'active', owner: o.settings?.owner ?? 'assistant-draft' };
  const draft = await draftRule({
    chat: o.chat, request: o.request, maxAttempts: o.maxAttempts,
    validate: (d) => validateDraft(o.base, d, s),
    examples: o.base.rules.filter((r) => r.mode === 'active').slice(-4),
  });
  if (!draft.rule) return { draft, rule: null, yaml: null, backtest: null };
  const rule = toRuleDef(draft.rule, s);
  delete rule.source;
  const backtest = await backtestRule({ records: o.records, base: o.base, rule, scorer: o.scorer, labelDelayDays: o.labelDelayDays });
  const yaml = ruleYaml(rule, [
    `drafted by ${o.chat.model} from: ${JSON.stringify(o.request).slice(0, 200)}`,
    `backtest: ${backtest.rule.hits} hits, ${backtest.rule.fraud_hits} frauds, ${backtest.rule.false_positives} false positives, ${backtest.outcomes.changed} outcome changes (review before publishing)`,
  ]);
  return { draft, rule, yaml, backtest };
}

function intArg(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}
class UsageError extends Error {}

export async function rulesDraft(argv: string[]): Promise<number> {
  let values, positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv, allowPositionals: true,
      options: {
        input: { type: 'string' }, format: { type: 'string' }, rules: { type: 'string' }, model: { type: 'string' },
        'label-delay-days': { type: 'string' }, priority: { type: 'string' }, mode: { type: 'string' }, owner: { type: 'string' },
        'max-attempts': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) { console.log(HELP); return 0; }
  const request = positionals.join(' ').trim();
  if (!request || !values.input) { console.error(HELP); return 2; }
  const settingsResult = assistantSettings();
  if (!settingsResult.ok) { console.error(`rules draft: ${settingsResult.message}`); return NOT_CONFIGURED_EXIT; }

  let s: DraftSettings;
  let maxAttempts: number;
  let delay: number;
  try {
    if (values.format && values.format !== 'csv' && values.format !== 'jsonl') throw new UsageError('--format must be csv or jsonl');
    if (values.mode && values.mode !== 'active' && values.mode !== 'shadow') throw new UsageError('--mode must be active or shadow');
    s = { priority: intArg('priority', values.priority, 150, 0), mode: (values.mode ?? 'active') as DraftSettings['mode'], owner: values.owner ?? process.env.USER ?? 'assistant-draft' };
    maxAttempts = intArg('max-attempts', values['max-attempts'], 3, 1);
    delay = Number(values['label-delay-days'] ?? 7);
    if (!(delay >= 0)) throw new UsageError('--label-delay-days must be a number >= 0');
    if (values.model && !existsSync(values.model)) throw new UsageError(`--model: no such file: ${values.model}`);
  } catch (err) {
    if (err instanceof UsageError) { console.error(err.message); return 2; }
    throw err;
  }

  let base: RulesetDef;
  try {
    base = loadRulesetFiles(values.rules ?? 'config/rules');
  } catch (err) {
    if (err instanceof RuleError) { console.error(`rules draft: the current ruleset does not load: ${err.message}`); return 1; }
    throw err;
  }
  const records = await readHistoryFile(values.input, values.format as HistoryFormat | undefined);
  const modelPath = values.model ?? DEFAULT_MODEL;
  const scorer = existsSync(modelPath) ? await OnnxScorer.load(modelPath, { expectedFeatures: FEATURE_NAMES }) : null;
  if (!scorer) console.error(`rules draft: no model at ${modelPath}: the backtest runs on rules only (score absent)`);

  let r: DraftAndBacktest;
  try {
    r = await draftAndBacktest({ chat: openAIChat(settingsResult.settings), request, records, base, scorer, settings: s, maxAttempts, labelDelayDays: delay });
  } catch (err) {
    if (err instanceof AssistantError) { console.error(`rules draft: ${err.message}`); return 1; }
    throw err;
  }
  r.draft.attempts.forEach((a, i) => {
    if (a.error) console.error(`attempt ${i + 1}/${maxAttempts} rejected: ${a.error}`);
  });
  if (!r.rule || !r.backtest || !r.yaml) {
    console.error(`rules draft: no valid rule after ${r.draft.attempts.length} attempt(s); last answer:\n${r.draft.attempts.at(-1)?.answer ?? ''}`);
    return 1;
  }
  if (values.json) {
    console.log(JSON.stringify({ rule: r.rule, yaml: r.yaml, backtest: r.backtest, attempts: r.draft.attempts }, null, 2));
  } else {
    console.log(`# paste under 'rules:' in ${values.rules ?? 'config/rules'}/*.yaml (not published)\n${r.yaml}\n`);
    console.log(backtestText(r.backtest, values.input));
  }
  return 0;
}

export default rulesDraft;
