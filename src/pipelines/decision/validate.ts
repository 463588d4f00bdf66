/**
 * Validation of a decoded authorization: what the Avro schema cannot say. Returns the
 * reason an event is unusable, or null. Limits keep one bad producer from hurting everyone.
 */
import { CHANNELS, type AuthorizationEvent } from '../../events/types.js';
import { MAX_ID_LENGTH as MAX_ID, MAX_TEXT_LENGTH as MAX_TEXT } from '../../events/limits.js';
import { MINUTE_MS } from '../../events/time.js';
import { identifierHasPan } from '../../security/pan.js';

const MAX_AMOUNT_MINOR = 1e12;
const EARLIEST = Date.UTC(2000, 0, 1);

export interface ValidationOptions {
  /** Wall clock (ms). */
  now?: number;
  /**
   * How far ahead of the clock an event_time may be (gateway clock skew). A later one would
   * become its entities' newest event and trim their history early.
   */
  maxFutureMs?: number;
}

export const DEFAULT_MAX_FUTURE_MS = 5 * MINUTE_MS;

const ID_FIELDS = ['auth_id', 'card_token', 'customer_id', 'terminal_id'] as const;
const OPT_FIELDS = ['merchant_id', 'mcc', 'device_id', 'ip', 'email_hash', 'country'] as const;

/**
 * Identifiers are stored (Redis keys, features) and emitted (decisions): a card number in one
 * of them is refused like a PAN in the card token. Free text (description) is neither stored
 * nor emitted, so it may hold anything; logs mask it and the DLQ withholds it.
 */
export const PAN_CHECKED_FIELDS = [
  'card_token',
  'auth_id',
  'customer_id',
  'terminal_id',
  'merchant_id',
  'device_id',
  'ip',
  'email_hash',
  'mcc',
  'country',
] as const;

export function panInIdentifier(ev: AuthorizationEvent): string | null {
  for (const k of PAN_CHECKED_FIELDS) {
    const v = ev[k];
    if (typeof v === 'string' && v.length >= 13 && identifierHasPan(v))
      return k === 'card_token' ? 'pan_in_card_token' : `pan_in_identifier:${k}`;
  }
  return null;
}

export function validateAuthorization(ev: AuthorizationEvent, o: ValidationOptions = {}): string | null {
  const now = o.now ?? Date.now();
  for (const k of ID_FIELDS) {
    const v = ev[k];
    if (typeof v !== 'string' || v.length === 0) return `invalid_field:${k}:empty`;
    if (v.length > MAX_ID) return `invalid_field:${k}:too_long`;
  }
  for (const k of OPT_FIELDS) {
    const v = ev[k];
    if (v !== null && (typeof v !== 'string' || v.length > MAX_ID)) return `invalid_field:${k}:too_long`;
  }
  // Cards are referred to by token: a PAN in an identifier means the gateway leaked one.
  const pan = panInIdentifier(ev);
  if (pan) return pan;
  if (ev.description !== null && ev.description.length > MAX_TEXT) return 'invalid_field:description:too_long';
  if (!Number.isSafeInteger(ev.amount_minor) || ev.amount_minor < 0 || ev.amount_minor > MAX_AMOUNT_MINOR) {
    return 'invalid_field:amount_minor:out_of_range';
  }
  if (!/^[A-Z]{3}$/.test(ev.currency)) return 'invalid_field:currency:not_iso4217';
  if (!CHANNELS.includes(ev.channel)) return 'invalid_field:channel';
  if (!Number.isSafeInteger(ev.event_time) || ev.event_time < EARLIEST) return 'invalid_field:event_time:out_of_range';
  if (ev.event_time > now + (o.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS)) return 'event_time_in_future';
  return null;
}
