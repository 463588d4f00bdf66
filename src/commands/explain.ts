/**
 * `fraud-engine explain <auth_id>`: an analyst explanation of a stored decision from the
 * configured OpenAI-compatible chat model, stored on the audit row (src/assistant/explain.ts).
 * An analyst tool: the decision path never calls it.
 */
import { openAIChat, AssistantError } from '../assistant/client.js';
import { ExplainError, explainStored } from '../assistant/explain.js';
import { assistantSettings, NOT_CONFIGURED_EXIT } from '../assistant/settings.js';
import { configOf, guarded, parseOrUsage } from '../cli/kit.js';
import { auditErrorExit } from '../sinks/audit/pool.js';

const HELP = `usage: fraud-engine explain <auth_id> [--config FILE] [--rules DIR] [--no-store] [--show-context]
Explains a stored decision (audit trail, needs FRAUD_POSTGRES_URL) with an OpenAI-compatible chat model:
  FRAUD_ASSISTANT_BASE_URL, FRAUD_ASSISTANT_MODEL, FRAUD_ASSISTANT_API_KEY (or OPENAI_BASE_URL / OPENAI_MODEL / OPENAI_API_KEY).
The explanation is stored in decision_audit.explanation unless --no-store.
  --rules DIR       ruleset whose rule descriptions are given to the model (default: rules.dir, config/rules)
  --show-context    also print the context sent to the model (JSON, on stderr)`;

export default function explain(argv: string[]): Promise<number> {
  return guarded(
    async () => {
      const { values, positionals } = parseOrUsage(
        argv,
        {
          config: { type: 'string' },
          rules: { type: 'string' },
          'no-store': { type: 'boolean' },
          'show-context': { type: 'boolean' },
        },
        HELP,
        { positionals: true },
      );
      const authId = positionals[0];
      if (!authId || positionals.length > 1) {
        console.error(HELP);
        return 2;
      }
      const settings = assistantSettings();
      if (!settings.ok) {
        console.error(`explain: ${settings.message}`);
        return NOT_CONFIGURED_EXIT;
      }
      const cfg = configOf(values.config);
      const r = await explainStored(cfg.postgres, {
        chat: openAIChat(settings.settings),
        authId,
        rulesDir: values.rules ?? cfg.rules.dir,
        store: !values['no-store'],
      });
      if (values['show-context']) console.error(JSON.stringify(r.context, null, 2));
      console.log(r.explanation);
      if (!values['no-store'])
        console.error(
          r.stored ? `(stored in decision_audit.explanation for ${authId})` : '(not stored: the row is gone)',
        );
      return 0;
    },
    (err) => {
      if (err instanceof ExplainError || err instanceof AssistantError) {
        console.error(`explain: ${err.message}`);
        return 1;
      }
      return auditErrorExit(
        err,
        'explain: the audit table decision_audit does not exist yet: run `fraud-engine sink audit` first',
      );
    },
  );
}
