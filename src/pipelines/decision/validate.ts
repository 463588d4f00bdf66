/**
 * Validation of a decoded authorization: what the Avro schema cannot say. Returns the
 * reason an event is unusable, or null. Limits keep one bad producer from hurting everyone.
 */
import { CHANNELS, type AuthorizationEvent } from '../../events/types.js';
import { MAX_ID_LENGTH as MAX_ID, MAX_TEXT_LENGTH as MAX_TEXT } from '../../events/limits.js';
import { looksLikePan } from '../../observability/logger.js';

const MAX_AMOUNT_MINOR = 1e12;
const EARLIEST = Date.UTC(2000, 0, 1);
const DAY = 86_400_000;

const ID_FIELDS = ['auth_id', 'card_token', 'customer_id', 'terminal_id'] as const;
const OPT_FIELDS = ['merchant_id', 'mcc', 'device_id', 'ip', 'email_hash', 'country'] as const;

export function validateAuthorization(ev: AuthorizationEvent, now = Date.now()): string | null {
  for (const k of ID_FIELDS) {
    const v = ev[k];
    if (typeof v !== 'string' || v.length === 0) return `invalid_field:${k}:empty`;
    if (v.length > MAX_ID) return `invalid_field:${k}:too_long`;
  }
  // Cards are referred to by token: a PAN here means the gateway leaked one.
  if (looksLikePan(ev.card_token)) return 'pan_in_card_token';
  for (const k of OPT_FIELDS) {
    const v = ev[k];
    if (v !== null && (typeof v !== 'string' || v.length > MAX_ID)) return `invalid_field:${k}:too_long`;
  }
  if (ev.description !== null && ev.description.length > MAX_TEXT) return 'invalid_field:description:too_long';
  if (!Number.isSafeInteger(ev.amount_minor) || ev.amount_minor < 0 || ev.amount_minor > MAX_AMOUNT_MINOR) {
    return 'invalid_field:amount_minor:out_of_range';
  }
  if (!/^[A-Z]{3}$/.test(ev.currency)) return 'invalid_field:currency:not_iso4217';
  if (!CHANNELS.includes(ev.channel)) return 'invalid_field:channel';
  if (!Number.isFinite(ev.event_time) || ev.event_time < EARLIEST || ev.event_time > now + DAY) {
    return 'invalid_field:event_time:out_of_range';
  }
  return null;
}
