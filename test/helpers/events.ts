/** Event fixtures for tests: a valid authorization, changed where a test says so. */
import type { AuthorizationEvent } from '../../src/events/types.js';

export function authorization(over: Partial<AuthorizationEvent> = {}): AuthorizationEvent {
  return {
    auth_id: 'a1',
    event_time: Date.UTC(2026, 10, 21, 3, 30),
    card_token: 'tok_1',
    customer_id: 'c1',
    terminal_id: 't1',
    merchant_id: 'm1',
    mcc: '5411',
    amount_minor: 25_050,
    currency: 'EUR',
    channel: 'ECOM',
    device_id: null,
    ip: '10.0.0.1',
    email_hash: null,
    country: 'FR',
    description: null,
    ...over,
  };
}

/** The fields of an authorization that may be null. */
const OPTIONAL_FIELDS = ['merchant_id', 'mcc', 'device_id', 'ip', 'email_hash', 'country', 'description'] as const;

/**
 * A valid authorization with every optional field empty (null), changed where a test says so;
 * its Avro encoding ends with the channel and five null unions (device_id … description).
 */
export function bareAuthorization(over: Partial<AuthorizationEvent> = {}): AuthorizationEvent {
  const empty = Object.fromEntries(OPTIONAL_FIELDS.map((f) => [f, null])) as Partial<AuthorizationEvent>;
  return authorization({ ...empty, ...over });
}
