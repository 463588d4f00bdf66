/**
 * `fraud-engine rules draft "<rule in plain words>" --input <history file>` (alias `draft-rule`):
 * asks the configured chat model for ONE CEL rule, validates it with the rules compiler (sending
 * the compiler's error back, at most 3 attempts), backtests it on the history against the current
 * ruleset (src/assistant/draft-backtest.ts), and prints the rule as YAML ready to paste under
 * `rules:` in config/rules with what it would have changed. Never publishes.
 */
import { existsSync } from 'node:fs';
import { openAIChat, AssistantError } from '../assistant/client.js';
import { draftAndBacktest } from '../assistant/draft-backtest.js';
import { assistantSettings, NOT_CONFIGURED_EXIT } from '../assistant/settings.js';
import * as kit from '../cli/kit.js';
import { readHistoryFile } from '../events/history/index.js';
import { engineScorerIfPresent } from '../models/onnx-scorer.js';
import { ruleBacktestText } from '../pipelines/replay/backtest-text.js';
import { loadRulesetFiles } from '../rules/load.js';
import { RuleError } from '../rules/types.js';

const HELP = `usage: fraud-engine rules draft "<rule in plain words>" --input FILE [--format csv|jsonl] [--config config/default.yaml]
         [--rules DIR] [--model FILE] [--label-delay-days 7]
         [--priority 150] [--mode active|shadow] [--owner NAME] [--max-attempts 3] [--json]
       (also: fraud-engine draft-rule …)
Asks an OpenAI-compatible chat model (FRAUD_ASSISTANT_BASE_URL, FRAUD_ASSISTANT_MODEL, FRAUD_ASSISTANT_API_KEY, or
OPENAI_*) for one CEL rule, checks it with the rules compiler, and backtests it on the history file (replay with the
current ruleset, then with the draft added as an active rule). Prints the rule as YAML for config/rules; publishes nothing.
  --rules DIR    the current ruleset (default: the configuration's rules.dir, config/rules)
  --model FILE   ONNX model, metadata beside it (default: the configuration's model.path, FRAUD_MODEL_PATH)`;

export async function rulesDraft(argv: string[]): Promise<number> {
  return kit.guarded(async () => {
    const { values, positionals } = kit.parseOrUsage(
      argv,
      {
        input: { type: 'string' },
        format: { type: 'string' },
        rules: { type: 'string' },
        model: { type: 'string' },
        config: { type: 'string' },
        'label-delay-days': { type: 'string' },
        priority: { type: 'string' },
        mode: { type: 'string' },
        owner: { type: 'string' },
        'max-attempts': { type: 'string' },
        json: { type: 'boolean' },
      },
      HELP,
      { positionals: true },
    );
    const request = positionals.join(' ').trim();
    if (!request || !values.input) {
      console.error(HELP);
      return 2;
    }
    const settings = assistantSettings();
    if (!settings.ok) {
      console.error(`rules draft: ${settings.message}`);
      return NOT_CONFIGURED_EXIT;
    }

    const format = kit.formatOption(values.format);
    const s = {
      priority: kit.intOption('priority', values.priority, 150, 0),
      mode: kit.choiceOption('mode', values.mode, ['active', 'shadow'] as const) ?? 'active',
      owner: values.owner ?? process.env.USER ?? 'assistant-draft',
    };
    const maxAttempts = kit.intOption('max-attempts', values['max-attempts'], 3, 1);
    const delay = kit.numberOption('label-delay-days', values['label-delay-days'], 7);
    if (values.model && !existsSync(values.model)) throw new kit.UsageError(`--model: no such file: ${values.model}`);
    const cfg = kit.configOf(values.config);
    const rulesDir = values.rules ?? cfg.rules.dir;

    const base = loadRulesetFiles(rulesDir); // a RuleError: the current ruleset does not load (below)
    const records = await readHistoryFile(values.input, format);
    const modelPath = values.model ?? cfg.model.path;
    const scorer = await engineScorerIfPresent(modelPath);
    if (!scorer) console.error(`rules draft: no model at ${modelPath}: the backtest runs on rules only (score absent)`);

    const r = await draftAndBacktest({
      chat: openAIChat(settings.settings),
      request,
      records,
      base,
      scorer,
      settings: s,
      maxAttempts,
      labelDelayDays: delay,
    });
    r.draft.attempts.forEach((a, i) => {
      if (a.error) console.error(`attempt ${i + 1}/${maxAttempts} rejected: ${a.error}`);
    });
    if (!r.rule || !r.backtest || !r.yaml) {
      console.error(
        `rules draft: no valid rule after ${r.draft.attempts.length} attempt(s); last answer:\n${r.draft.attempts.at(-1)?.answer ?? ''}`,
      );
      return 1;
    }
    if (values.json) {
      console.log(
        JSON.stringify({ rule: r.rule, yaml: r.yaml, backtest: r.backtest, attempts: r.draft.attempts }, null, 2),
      );
    } else {
      console.log(`# paste under 'rules:' in ${rulesDir}/*.yaml (not published)\n${r.yaml}\n`);
      console.log(ruleBacktestText(r.backtest, values.input));
    }
    return 0;
  }, draftErrorExit);
}

/** The errors a user can act on: the current ruleset does not load, the chat model failed (exit 1). */
function draftErrorExit(err: unknown): number | undefined {
  if (err instanceof RuleError) console.error(`rules draft: the current ruleset does not load: ${err.message}`);
  else if (err instanceof AssistantError) console.error(`rules draft: ${err.message}`);
  else return undefined;
  return 1;
}

export default rulesDraft;
