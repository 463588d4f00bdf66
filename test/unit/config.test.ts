import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { validateAuthorization } from '../../src/pipelines/decision/validate.js';
import { maskPans } from '../../src/security/pan.js';
import type { AuthorizationEvent } from '../../src/events/types.js';

function tmpConfig(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'c.yaml');
  writeFileSync(f, text);
  return f;
}

describe('configuration', () => {
  it('loads the shipped defaults and applies FRAUD_<SECTION>_<KEY> overrides', () => {
    const cfg = loadConfig('config/default.yaml', { FRAUD_KAFKA_BROKERS: 'a:1, b:2', FRAUD_ENGINE_MAX_BATCH: '250' });
    expect(cfg.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(cfg.engine.max_batch).toBe(250);
    expect(cfg.kafka.topic_authorizations).toBe('authorizations');
  });

  it('names the bad key', () => {
    expect(() => loadConfig('config/default.yaml', { FRAUD_ENGINE_MAX_BATCH: 'lots' }))
      .toThrow(new ConfigError('FRAUD_ENGINE_MAX_BATCH (engine.max_batch)', "expected a non-negative integer, got 'lots'"));
    expect(() => loadConfig('config/default.yaml', { FRAUD_KAFKA_SASL_MECHANISM: 'kerberos' })).toThrow(/kafka.sasl_mechanism\): 'kerberos' is not one of/);
    const typo = tmpConfig('kafka:\n  brokerz: x\n');
    expect(() => loadConfig(typo, {})).toThrow(/invalid configuration: kafka.brokerz: unknown key/);
    const missing = tmpConfig('kafka:\n  brokers: x\n');
    expect(() => loadConfig(missing, {})).toThrow(/kafka.client_id: missing/);
  });
});

describe('authorization validation', () => {
  const ok: AuthorizationEvent = {
    auth_id: 'a1', event_time: Date.UTC(2026, 0, 1), card_token: 'tok_1', customer_id: 'c1', terminal_id: 't1', merchant_id: null,
    mcc: null, amount_minor: 100, currency: 'EUR', channel: 'POS', device_id: null, ip: null, email_hash: null, country: null, description: null,
  };
  it('accepts a valid event and names the first bad field', () => {
    expect(validateAuthorization(ok)).toBeNull();
    expect(validateAuthorization({ ...ok, auth_id: '' })).toBe('invalid_field:auth_id:empty');
    expect(validateAuthorization({ ...ok, amount_minor: -1 })).toBe('invalid_field:amount_minor:out_of_range');
    expect(validateAuthorization({ ...ok, currency: 'eur' })).toBe('invalid_field:currency:not_iso4217');
    expect(validateAuthorization({ ...ok, event_time: 5 })).toBe('invalid_field:event_time:out_of_range');
    expect(validateAuthorization({ ...ok, event_time: Date.now() + 3 * 86_400_000 })).toBe('event_time_in_future');
    // The skew allowed for the gateway's clock: 5 minutes unless configured.
    const now = Date.UTC(2026, 11, 1);
    expect(validateAuthorization({ ...ok, event_time: now + 299_000 }, { now })).toBeNull();
    expect(validateAuthorization({ ...ok, event_time: now + 301_000 }, { now })).toBe('event_time_in_future');
    expect(validateAuthorization({ ...ok, event_time: now + 301_000 }, { now, maxFutureMs: 600_000 })).toBeNull();
    expect(validateAuthorization({ ...ok, description: 'x'.repeat(5000) })).toBe('invalid_field:description:too_long');
  });
  it('refuses a card number where a token belongs', () => {
    expect(validateAuthorization({ ...ok, card_token: '4111111111111111' })).toBe('pan_in_card_token');
  });
});

describe('PAN masking', () => {
  it('masks Luhn-valid card numbers, with or without separators, and leaves other digits', () => {
    expect(maskPans('card 4111 1111 1111 1111 declined')).toBe('card [PAN] declined');
    expect(maskPans('5500-0000-0000-0004')).toBe('[PAN]');
    expect(maskPans('order 1234567890123')).toBe('order 1234567890123'); // not Luhn-valid
    expect(maskPans('auth 42')).toBe('auth 42');
  });
});
