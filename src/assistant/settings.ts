/**
 * Where the analyst assistant's model lives: any OpenAI-compatible chat-completions API
 * (OpenAI, Azure-compatible gateways, vLLM, Ollama, LM Studio, …), from the environment only.
 *
 *   FRAUD_ASSISTANT_MODEL     (or OPENAI_MODEL)     the chat model                  required
 *   FRAUD_ASSISTANT_API_KEY   (or OPENAI_API_KEY)   the API key                     required unless a base URL is set
 *   FRAUD_ASSISTANT_BASE_URL  (or OPENAI_BASE_URL)  e.g. http://127.0.0.1:11434/v1  default https://api.openai.com/v1
 *   FRAUD_ASSISTANT_TIMEOUT_MS                      per request, default 60000
 *
 * The assistant is an analyst tool: nothing on the decision path imports it.
 */

export interface AssistantSettings {
  model: string;
  apiKey: string;
  /** Undefined = the OpenAI API. */
  baseURL: string | undefined;
  timeoutMs: number;
}

export type SettingsResult = { ok: true; settings: AssistantSettings } | { ok: false; message: string };

/** Exit code of an assistant command run without configuration. */
export const NOT_CONFIGURED_EXIT = 2;

const pick = (env: NodeJS.ProcessEnv, ...names: string[]): string | undefined => {
  for (const n of names) {
    const v = env[n]?.trim();
    if (v) return v;
  }
  return undefined;
};

export function assistantSettings(env: NodeJS.ProcessEnv = process.env): SettingsResult {
  const model = pick(env, 'FRAUD_ASSISTANT_MODEL', 'OPENAI_MODEL');
  const apiKey = pick(env, 'FRAUD_ASSISTANT_API_KEY', 'OPENAI_API_KEY');
  const baseURL = pick(env, 'FRAUD_ASSISTANT_BASE_URL', 'OPENAI_BASE_URL');
  const missing: string[] = [];
  if (!model)
    missing.push(
      '  FRAUD_ASSISTANT_MODEL     the chat model, e.g. gpt-4o-mini or llama3.1:8b (fallback: OPENAI_MODEL)',
    );
  if (!apiKey && !baseURL) {
    missing.push('  FRAUD_ASSISTANT_API_KEY   the API key (fallback: OPENAI_API_KEY), and/or');
    missing.push(
      '  FRAUD_ASSISTANT_BASE_URL  an OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1 (fallback: OPENAI_BASE_URL;',
    );
    missing.push('                            default https://api.openai.com/v1, which needs the key)');
  }
  if (missing.length || !model) {
    return {
      ok: false,
      message:
        `the analyst assistant is not configured: set these environment variables\n${missing.join('\n')}\n` +
        'e.g. FRAUD_ASSISTANT_BASE_URL=http://127.0.0.1:11434/v1 FRAUD_ASSISTANT_MODEL=llama3.1:8b (a local server needs no key)',
    };
  }
  const timeout = Number(env.FRAUD_ASSISTANT_TIMEOUT_MS ?? 60_000);
  return {
    ok: true,
    settings: {
      model,
      // Local servers ignore the key, but the client refuses to start without one.
      apiKey: apiKey ?? 'not-needed',
      baseURL,
      timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 60_000,
    },
  };
}
