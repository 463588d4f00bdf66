/**
 * Validation of a decoded fraud label: what the schema cannot say. A label changes terminal
 * risk features for everyone, so its identifiers and times are held to the same bounds as an
 * authorization's. Returns the DLQ reason, or null.
 */
import type { LabelEvent } from '../../events/types.js';
import { identifierHasPan } from '../../security/pan.js';
import { DEFAULT_MAX_FUTURE_MS } from '../decision/validate.js';

const MAX_ID = 128;
const EARLIEST = Date.UTC(2000, 0, 1);
const IDS = ['auth_id', 'card_token', 'customer_id', 'terminal_id'] as const;

export function validateLabel(l: LabelEvent, o: { now?: number; maxFutureMs?: number } = {}): string | null {
  const now = o.now ?? Date.now();
  for (const k of IDS) {
    const v = l[k];
    if (typeof v !== 'string' || v.length === 0) return `invalid_field:${k}:empty`;
    if (v.length > MAX_ID) return `invalid_field:${k}:too_long`;
    if (v.length >= 13 && identifierHasPan(v))
      return k === 'card_token' ? 'pan_in_card_token' : `pan_in_identifier:${k}`;
  }
  if (typeof l.source !== 'string' || l.source.length > 64) return 'invalid_field:source:too_long';
  if (identifierHasPan(l.source)) return 'pan_in_identifier:source';
  if (typeof l.fraud !== 'boolean') return 'invalid_field:fraud';
  const future = now + (o.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS);
  for (const k of ['tx_time', 'label_time'] as const) {
    const t = l[k];
    if (!Number.isSafeInteger(t) || t < EARLIEST) return `invalid_field:${k}:out_of_range`;
    if (t > future) return `${k}_in_future`;
  }
  if (l.label_time < l.tx_time) return 'invalid_field:label_time:before_tx_time';
  return null;
}
