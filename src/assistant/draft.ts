/**
 * Drafting one CEL rule from a rule described in plain words: the model answers in a strict JSON
 * shape; the caller validates the draft (shape, then the rules compiler); a rejected draft is
 * sent back with the error message, at most `maxAttempts` times in all. Nothing is published.
 */
import { FEATURES } from '../features/definitions.js';
import { LIST_NAMES } from '../rules/types.js';
import type { ChatMessage, ChatModel } from './client.js';
import { scrubText } from './redact.js';

export interface DraftedRule {
  id: string;
  description: string;
  expression: string;
  action: string;
}

export interface DraftAttempt {
  answer: string;
  /** Why the draft was rejected; null for the accepted one. */
  error: string | null;
}

export interface DraftResult {
  rule: DraftedRule | null;
  attempts: DraftAttempt[];
}

const ID_RE = /^[a-z][a-z0-9_]{0,63}$/;
const ACTION_RE = /^(DECLINE|REVIEW|APPROVE|TAG:[a-z0-9_]{1,64})$/;

export function draftSystemPrompt(
  examples: readonly { id: string; description: string; expression: string; action: string }[] = [],
): string {
  const features = FEATURES.map(
    (f) => `  f.${f.name}${f.nullWhen ? ' (may be absent: guard with has())' : ''}: ${f.description}`,
  ).join('\n');
  const ex = examples
    .slice(0, 4)
    .map(
      (r) =>
        `  ${JSON.stringify({ id: r.id, description: r.description, expression: r.expression, action: r.action })}`,
    )
    .join('\n');
  return `You write fraud rules for a card-payment decision engine, in CEL (Common Expression Language).
A rule is ONE boolean CEL expression over these variables:
  tx     the authorization (a map): auth_id, card_token, customer_id, terminal_id, merchant_id, mcc, currency, channel
         ("POS", "ECOM", "ATM", "MOTO", "UNKNOWN"), device_id, ip, email_hash, country (strings; "" when unknown),
         amount (double, major units, e.g. 250.0), amount_minor (int, cents), hour (int, 0-23 UTC), weekday (int, 1=Mon..7=Sun)
  f      features by name (all doubles; compare with double literals such as 2.0, never 2):
${features}
  score  the model's fraud probability in [0,1] (double; when the model was unavailable a rule using it counts as not hit)
  lists  ${LIST_NAMES.map((n) => `lists.${n}`).join(', ')} (use: tx.card_token in lists.block_card)
CEL: && || ! == != < <= > >= in, has(f.name) before a feature that may be absent; functions: has(), size(),
startsWith(), endsWith(), contains(). Int and double never mix: tx.hour >= 22 (int), tx.amount > 100.0 (double).
action: one of "DECLINE", "REVIEW", "APPROVE" (an allow-list override), or "TAG:<lower_snake_name>" (annotate only).
id: lower snake case, at most 64 characters, not one of the existing ids.
${ex ? `Existing rules, for style:\n${ex}\n` : ''}
Answer with ONLY one JSON object, no prose, no code fence:
{"id": "...", "description": "...", "expression": "...", "action": "..."}`;
}

/** Parses the model's answer: a JSON object, possibly wrapped in a code fence or prose. Throws with a reason. */
export function parseDraft(answer: string): DraftedRule {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(answer);
  let text = (fenced ? fenced[1]! : answer).trim();
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) throw new Error('the answer is not a JSON object');
  text = text.slice(start, end + 1);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`the answer is not valid JSON: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('the answer is not a JSON object');
  const o = raw as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !['id', 'description', 'expression', 'action'].includes(k));
  if (extra.length)
    throw new Error(`unexpected keys ${extra.join(', ')}: the object has exactly id, description, expression, action`);
  for (const k of ['id', 'description', 'expression', 'action'] as const) {
    if (typeof o[k] !== 'string' || (o[k] as string).trim() === '')
      throw new Error(`"${k}" must be a non-empty string`);
  }
  const rule = {
    id: (o.id as string).trim(),
    description: (o.description as string).trim(),
    expression: (o.expression as string).trim(),
    action: (o.action as string).trim(),
  };
  if (!ID_RE.test(rule.id))
    throw new Error(
      `"id" must be lower snake case (a-z, 0-9, _), starting with a letter, at most 64 characters: '${rule.id}'`,
    );
  if (!ACTION_RE.test(rule.action))
    throw new Error(`"action" must be DECLINE, REVIEW, APPROVE or TAG:<lower_snake_name>: '${rule.action}'`);
  return rule;
}

export interface DraftOptions {
  chat: ChatModel;
  /** The rule in plain words, as the analyst wrote it. */
  request: string;
  /** Compiles the draft; returns the error message, or null when it is valid. */
  validate: (rule: DraftedRule) => string | null;
  /** Rules of the current ruleset, shown as examples (and their ids are taken). */
  examples?: readonly DraftedRule[];
  maxAttempts?: number;
}

export async function draftRule(o: DraftOptions): Promise<DraftResult> {
  const max = o.maxAttempts ?? 3;
  const messages: ChatMessage[] = [
    { role: 'system', content: draftSystemPrompt(o.examples) },
    { role: 'user', content: `Write one rule for: ${scrubText(o.request)}` },
  ];
  const attempts: DraftAttempt[] = [];
  for (let i = 0; i < max; i++) {
    const answer = await o.chat.complete(messages);
    let error: string | null;
    let rule: DraftedRule | null = null;
    try {
      rule = parseDraft(answer);
      error = o.validate(rule);
    } catch (err) {
      error = (err as Error).message;
    }
    attempts.push({ answer, error });
    if (error === null && rule) return { rule, attempts };
    messages.push({ role: 'assistant', content: answer });
    messages.push({
      role: 'user',
      content: `That rule was rejected: ${error}\nAnswer again with ONE corrected rule, only the JSON object {"id", "description", "expression", "action"}.`,
    });
  }
  return { rule: null, attempts };
}
