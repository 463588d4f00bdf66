/** The pure parts of review cases: medians, verdict checks, and the decisions page's query parsing. */
import { describe, expect, it } from 'vitest';
import { median } from '../../src/cases/detail.js';
import { CaseError } from '../../src/cases/errors.js';
import { checkVerdict, MAX_NOTE } from '../../src/cases/verdicts.js';
import { queryOf } from '../../src/console/routes/decisions.js';
import { ConsoleRefusal } from '../../src/console/server.js';
import { age } from '../../src/console/views/format.js';

const form = (over: Partial<Record<'card' | 'auth' | 'from' | 'to' | 'outcome' | 'rule' | 'limit', string>> = {}) => ({
  card: '',
  auth: '',
  from: '',
  to: '',
  outcome: '',
  rule: '',
  limit: '',
  ...over,
});

describe('review cases: pure parts', () => {
  it('median of odd, even and empty samples', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  it('a verdict must be known, its note short and free of card numbers', () => {
    expect(() => checkVerdict('fraud', 'ok')).not.toThrow();
    expect(() => checkVerdict('maybe', '')).toThrow(CaseError);
    expect(() => checkVerdict('fraud', 'x'.repeat(MAX_NOTE + 1))).toThrow(/too long/);
    expect(() => checkVerdict('legitimate', 'card 4111-1111-1111-1111 called')).toThrow(/card number/);
  });

  it('the search form: datetime-local read as UTC, bad outcome / time / empty range refused', () => {
    expect(queryOf(form({ card: 'tok', from: '2026-12-01T09:30', to: '2026-12-01T10:00', limit: '500' }))).toEqual({
      card: 'tok',
      from: Date.UTC(2026, 11, 1, 9, 30),
      to: Date.UTC(2026, 11, 1, 10, 0),
      limit: 500,
    });
    expect(queryOf(form({ limit: '99999' })).limit).toBe(100);
    expect(() => queryOf(form({ outcome: 'MAYBE' }))).toThrow(ConsoleRefusal);
    expect(() => queryOf(form({ from: 'yesterday' }))).toThrow(/not a date/);
    expect(() => queryOf(form({ from: '2026-12-02T00:00', to: '2026-12-01T00:00' }))).toThrow(/must be before/);
  });

  it('ages read as a person would say them', () => {
    expect(age(45_000)).toBe('45 s');
    expect(age(125 * 60_000)).toBe('2 h 5 min');
    expect(age(3 * 86_400_000 + 4 * 3_600_000)).toBe('3 d 4 h');
  });
});
