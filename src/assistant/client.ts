/** A chat model behind the `openai` client, pointed at any OpenAI-compatible base URL. */
import OpenAI from 'openai';
import { scrubText } from './redact.js';
import type { AssistantSettings } from './settings.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatModel {
  readonly model: string;
  /** The assistant's answer to the conversation (text; empty answers are errors). */
  complete(messages: readonly ChatMessage[]): Promise<string>;
}

export class AssistantError extends Error {}

export function openAIChat(settings: AssistantSettings): ChatModel {
  const client = new OpenAI({
    apiKey: settings.apiKey,
    ...(settings.baseURL ? { baseURL: settings.baseURL } : {}),
    timeout: settings.timeoutMs,
    maxRetries: 1,
  });
  return {
    model: settings.model,
    async complete(messages) {
      // Last line of defence: nothing PAN-shaped leaves the process, whatever built the prompt.
      const safe = messages.map((m) => ({ role: m.role, content: scrubText(m.content) }));
      let res: OpenAI.Chat.Completions.ChatCompletion;
      try {
        res = await client.chat.completions.create({ model: settings.model, messages: safe });
      } catch (err) {
        const where = settings.baseURL ?? 'https://api.openai.com/v1';
        throw new AssistantError(`the model at ${where} (${settings.model}) failed: ${(err as Error).message}`);
      }
      const text = res.choices[0]?.message?.content?.trim();
      if (!text) throw new AssistantError(`the model ${settings.model} gave an empty answer`);
      return text;
    },
  };
}
