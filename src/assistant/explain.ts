/** Asks the chat model for a short explanation of one decision an analyst can act on. */
import type { ChatMessage, ChatModel } from './client.js';
import type { ExplainContext } from './context.js';

export const EXPLAIN_SYSTEM_PROMPT = `You assist fraud analysts who review card-payment authorizations.
You receive a JSON summary of one decision made by the fraud engine: the authorization, the decision
(outcome APPROVE / REVIEW / DECLINE, model score in [0,1] with the review/decline thresholds, reason codes),
the rules that hit (ACTIVE rules change the outcome, SHADOW rules are only reported), the features that
stand out against the customer's, card's or terminal's usual behaviour, and that usual behaviour.
Write a short explanation (at most 120 words, plain text, no headings):
1. why the engine decided this outcome, naming the two or three strongest drivers with their numbers;
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
