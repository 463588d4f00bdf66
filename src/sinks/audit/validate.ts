/**
 * What the audit sink accepts from `decisions` beyond the schema: anyone who can write to the
 * topic can write to the audit trail, so a decision is held to the engine's own bounds and
 * refused (dead-lettered, withheld) when any of its strings holds a card number: no PAN is
 * ever stored in an audit row. Returns the DLQ reason, or null.
 */
import type { Decision } from '../../events/types.js';
import { identifierHasPan } from '../../security/pan.js';

const MAX_ID = 128;
const MAX_TEXT = 256;
const MAX_LIST = 256;

function text(v: unknown, max: number): boolean {
  return typeof v === 'string' && v.length <= max;
}

export function validateDecision(d: Decision): string | null {
  if (!text(d.auth_id, MAX_ID) || d.auth_id.length === 0) return 'invalid_decision:auth_id';
  if (!text(d.card_token, MAX_ID) || d.card_token.length === 0) return 'invalid_decision:card_token';
  if (!text(d.model_version, MAX_TEXT)) return 'invalid_decision:model_version';
  if (!text(d.ruleset_version, MAX_TEXT)) return 'invalid_decision:ruleset_version';
  const lists = { reasons: d.reasons, tags: d.tags, degraded: d.degraded } as const;
  for (const [k, list] of Object.entries(lists)) {
    if (!Array.isArray(list) || list.length > MAX_LIST || !list.every((s) => text(s, MAX_TEXT)))
      return `invalid_decision:${k}`;
  }
  if (
    !Array.isArray(d.rule_hits) ||
    d.rule_hits.length > MAX_LIST ||
    !d.rule_hits.every((h) => text(h.rule_id, MAX_TEXT) && text(h.action, MAX_TEXT))
  )
    return 'invalid_decision:rule_hits';
  const features = Object.keys(d.features ?? {});
  if (features.length > MAX_LIST || !features.every((k) => text(k, MAX_TEXT))) return 'invalid_decision:features';
  for (const k of ['event_time', 'decided_time'] as const)
    if (!Number.isSafeInteger(d[k])) return `invalid_decision:${k}`;

  const strings: [string, string][] = [
    ['auth_id', d.auth_id],
    ['card_token', d.card_token],
    ['model_version', d.model_version],
    ['ruleset_version', d.ruleset_version],
    ...d.reasons.map((s): [string, string] => ['reasons', s]),
    ...d.tags.map((s): [string, string] => ['tags', s]),
    ...d.degraded.map((s): [string, string] => ['degraded', s]),
    ...features.map((s): [string, string] => ['features', s]),
    ...d.rule_hits.flatMap((h): [string, string][] => [
      ['rule_hits', h.rule_id],
      ['rule_hits', h.action],
    ]),
  ];
  for (const [k, s] of strings) if (s.length >= 13 && identifierHasPan(s)) return `pan_in_decision:${k}`;
  // A number can be a card number too (a feature value of 4111111111111111).
  for (const v of Object.values(d.features ?? {})) {
    if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) >= 1e12 && identifierHasPan(String(Math.abs(v))))
      return 'pan_in_decision:features';
  }
  return null;
}
