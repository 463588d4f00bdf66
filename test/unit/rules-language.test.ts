/**
 * The rule language as analysts use it: CEL over tx, f, score and lists; typed so that typos
 * fail at compile time with a precise position; missing values and run-time errors never hit
 * and never fail a decision; shadow rules never change an outcome.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuthorizationEvent } from '../../src/events/types.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import type { Scorer } from '../../src/models/scorer.js';
import { DecisionEngine } from '../../src/pipelines/decision/engine.js';
import { compileRuleset, validateRuleset } from '../../src/rules/compile.js';
import { RuleLists } from '../../src/rules/context.js';
import { diffRulesets, diffText, isEmptyDiff } from '../../src/rules/diff.js';
import { evaluateRules, ruleContext } from '../../src/rules/evaluate.js';
import { loadRulesetFiles } from '../../src/rules/load.js';
import { LIST_NAMES, type Lists, type RuleDef, type RulesetDef } from '../../src/rules/types.js';
import { simulate } from '../../src/simulator/index.js';
import { authorization } from '../helpers/events.js';

const ev: AuthorizationEvent = authorization();

const rule = (id: string, expression: string, over: Partial<RuleDef> = {}): RuleDef => ({
  id,
  description: '',
  expression,
  action: 'REVIEW',
  priority: 0,
  mode: 'active',
  owner: 'test',
  ...over,
});
const ruleset = (rules: RuleDef[], lists: RulesetDef['lists'] = {}, version = 't1'): RulesetDef => ({
  version,
  description: '',
  thresholds: { review: 0.5, decline: 0.9 },
  rules,
  lists,
});

/** Evaluates one expression: 'hit', 'miss' or 'error'. */
function outcome(
  expression: string,
  o: {
    f?: Record<string, number | null>;
    score?: number | null;
    lists?: RulesetDef['lists'];
    event?: Partial<AuthorizationEvent>;
  } = {},
): 'hit' | 'miss' | 'error' {
  const rs = compileRuleset(ruleset([rule('r', expression)], o.lists ?? {}));
  const names = Object.keys(o.f ?? {});
  const r = evaluateRules(
    rs,
    ruleContext(
      { ...ev, ...o.event },
      names,
      names.map((n) => o.f![n]!),
      o.score ?? null,
      rs.lists,
    ),
  );
  return r.errors.length ? 'error' : r.active.length ? 'hit' : 'miss';
}

describe('rule language: operators and the transaction', () => {
  it.each([
    ['tx.amount == 250.5', 'hit'],
    ['tx.amount_minor == 25050', 'hit'],
    ['tx.amount_minor > 25000 && tx.amount < 251.0', 'hit'],
    ['tx.amount * 2.0 > 500.0', 'hit'],
    ['tx.amount_minor % 100 == 50', 'hit'],
    ['tx.amount_minor / 100 == 250', 'hit'], // integer division
    ['tx.amount > 300.0 || tx.channel == "ECOM"', 'hit'],
    ['!(tx.channel == "POS")', 'hit'],
    ['tx.channel in ["ECOM", "MOTO"]', 'hit'],
    ['tx.mcc.startsWith("54") && tx.currency == "EUR"', 'hit'],
    ['tx.card_token.contains("_") && tx.card_token.matches("^tok_[0-9]+$")', 'hit'],
    ['size(tx.auth_id) == 2', 'hit'],
    ['tx.amount > 100.0 ? tx.country == "FR" : false', 'hit'],
    ['["FR", "BE"].exists(c, c == tx.country)', 'hit'],
    ['tx.hour == 3 && tx.weekday == 6', 'hit'], // 2026-11-21 03:30 UTC is a Saturday
    ['tx.device_id == "" && tx.email_hash == ""', 'hit'], // nulls read as empty strings
    ['tx.ip != ""', 'hit'],
    ['tx.amount >= 1000.0', 'miss'],
  ] as const)('%s → %s', (expr, want) => {
    expect(outcome(expr)).toBe(want);
  });

  it('computes hour and ISO weekday in UTC for any date', () => {
    // Monday 2024-01-01 00:00 UTC, Sunday 2023-12-31 23:59 UTC, a leap day.
    expect(outcome('tx.weekday == 1 && tx.hour == 0', { event: { event_time: Date.UTC(2024, 0, 1, 0, 0) } })).toBe(
      'hit',
    );
    expect(outcome('tx.weekday == 7 && tx.hour == 23', { event: { event_time: Date.UTC(2023, 11, 31, 23, 59) } })).toBe(
      'hit',
    );
    expect(outcome('tx.weekday == 4 && tx.hour == 12', { event: { event_time: Date.UTC(2024, 1, 29, 12, 0) } })).toBe(
      'hit',
    );
  });

  it('compares ints with ints and doubles with doubles (mixing is a compile error)', () => {
    expect(validateRuleset(ruleset([rule('mix', 'tx.amount_minor == 25050.0')]))).toHaveLength(1);
    expect(validateRuleset(ruleset([rule('ok', 'double(tx.amount_minor) == 25050.0')]))).toHaveLength(0);
  });
});

describe('rule language: features, score and missing values', () => {
  it('reads features by name; a missing feature is a run-time error (no hit), has() guards it', () => {
    expect(outcome('f.card_nb_tx_1d > 10.0', { f: { card_nb_tx_1d: 11 } })).toBe('hit');
    expect(outcome('f.card_nb_tx_1d > 10.0', { f: { card_nb_tx_1d: null } })).toBe('error');
    expect(outcome('has(f.card_nb_tx_1d)', { f: { card_nb_tx_1d: null } })).toBe('miss');
    expect(outcome('!has(f.card_nb_tx_1d) || f.card_nb_tx_1d > 10.0', { f: { card_nb_tx_1d: null } })).toBe('hit');
  });

  it('treats NaN and infinities as missing', () => {
    expect(outcome('has(f.terminal_risk_7d)', { f: { terminal_risk_7d: Number.NaN } })).toBe('miss');
    expect(outcome('has(f.terminal_risk_7d)', { f: { terminal_risk_7d: Number.POSITIVE_INFINITY } })).toBe('miss');
    expect(outcome('has(f.terminal_risk_7d)', { f: { terminal_risk_7d: 0 } })).toBe('hit');
  });

  it('absorbs an error when the other side of && / || decides, as CEL specifies', () => {
    expect(outcome('f.terminal_risk_7d > 0.5 || tx.amount > 100.0', { f: { terminal_risk_7d: null } })).toBe('hit');
    expect(outcome('f.terminal_risk_7d > 0.5 && tx.amount > 1000.0', { f: { terminal_risk_7d: null } })).toBe('miss');
    expect(outcome('f.terminal_risk_7d > 0.5 && tx.amount > 100.0', { f: { terminal_risk_7d: null } })).toBe('error');
  });

  it('has no score when the model was unavailable: rules on it do not hit', () => {
    expect(outcome('score > 0.7', { score: 0.8 })).toBe('hit');
    expect(outcome('score > 0.7', { score: null })).toBe('error');
    expect(outcome('score > 0.7', { score: Number.NaN })).toBe('error');
  });

  it('accepts features given in any order or as a subset', () => {
    const rs = compileRuleset(ruleset([rule('r', 'f.card_nb_tx_7d == 7.0 && f.tx_amount == 1.5')]));
    const hits = evaluateRules(
      rs,
      ruleContext(ev, ['card_nb_tx_7d', 'not_a_feature', 'tx_amount'], [7, 99, 1.5], null, rs.lists),
    );
    expect(hits.active.map((r) => r.def.id)).toEqual(['r']);
    // The engine's order is the fast path: a view on the vector itself.
    const vec = FEATURE_NAMES.map((n) => (n === 'card_nb_tx_7d' ? 7 : n === 'tx_amount' ? 1.5 : null));
    expect(evaluateRules(rs, ruleContext(ev, FEATURE_NAMES, vec, null, rs.lists)).active).toHaveLength(1);
  });
});

describe('rule language: lists', () => {
  it('has every list, looked up by key', () => {
    for (const name of LIST_NAMES) {
      expect(outcome(`tx.card_token in lists.${name}`, { lists: { [name]: ['tok_1'] } })).toBe('hit');
      expect(outcome(`tx.card_token in lists.${name}`, { lists: {} })).toBe('miss');
    }
    expect(outcome('tx.device_id != "" && tx.device_id in lists.block_device', { lists: { block_device: [''] } })).toBe(
      'miss',
    );
    expect(outcome('size(lists.block_ip) == 2', { lists: { block_ip: ['1.1.1.1', '2.2.2.2'] } })).toBe('hit');
  });

  it('takes lists given separately from the ruleset (PostgreSQL), also as a plain object', () => {
    const rs = compileRuleset(
      ruleset([rule('blocked', 'tx.card_token in lists.block_card')]),
      new RuleLists({ block_card: ['tok_1'] }),
    );
    expect(evaluateRules(rs, ruleContext(ev, [], [], null, rs.lists)).active).toHaveLength(1);
    const plain = Object.fromEntries(
      LIST_NAMES.map((n) => [n, new Map<string, true>(n === 'block_card' ? [['tok_1', true]] : [])]),
    ) as unknown as Lists;
    expect(evaluateRules(rs, ruleContext(ev, [], [], null, plain)).active).toHaveLength(1);
  });
});

describe('rule language: compile-time errors', () => {
  const errorOf = (expression: string) => validateRuleset(ruleset([rule('r', expression)]))[0]?.reason;

  it('refuses unknown fields, features and lists, suggesting the closest name', () => {
    expect(errorOf('tx.amout > 1.0')).toBe('CEL: No such key: amout (did you mean tx.amount?)');
    expect(errorOf('f.card_nb_tx_1dd > 1.0')).toBe('CEL: No such key: card_nb_tx_1dd (did you mean f.card_nb_tx_1d?)');
    expect(errorOf('tx.card_token in lists.blok_card')).toBe(
      'CEL: No such key: blok_card (did you mean lists.block_card?)',
    );
    expect(errorOf('tx.zzzzzzzzzzzz == ""')).toMatch(/not a field of tx, a feature of f, or a list of lists/);
    expect(errorOf('txn.amount > 1.0')).toMatch(/Unknown variable: txn/);
  });

  it('refuses type errors and non-boolean rules', () => {
    expect(errorOf('tx.channel > 3')).toMatch(/no such overload/);
    expect(errorOf('tx.amount + 1.0')).toBe('CEL: expression must be a bool, it is double');
    expect(errorOf('tx.amount >')).toMatch(/^CEL: Unexpected token/);
  });

  it('names the file, rule, and the line and column in the file, for plain, quoted and literal block expressions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-lang-'));
    const file = join(dir, 'rules.yaml');
    writeFileSync(
      file,
      [
        'version: v1',
        'thresholds: {review: 0.5, decline: 0.9}',
        'rules:',
        '  - id: plain_bad',
        '    expression: tx.amount > 1.0 && f.card_nb_tx_1dd > 2.0',
        '    action: REVIEW',
        '  - id: quoted_bad',
        '    expression: "tx.channel == \'ECOM\' && tx.amout > 1.0"',
        '    action: REVIEW',
        '  - id: block_bad',
        '    expression: |',
        '      tx.amount > 1.0 &&',
        '        tx.card_token in lists.blok_card',
        '    action: REVIEW',
        '  - id: syntax_bad',
        '    expression: tx.amount > )',
        '    action: REVIEW',
        '',
      ].join('\n'),
    );
    const errors = validateRuleset(loadRulesetFiles(dir));
    expect(errors.map((e) => [e.file, e.ruleId, e.line, e.column])).toEqual([
      [file, 'plain_bad', 5, 38],
      [file, 'quoted_bad', 8, 45],
      [file, 'block_bad', 13, 32],
      [file, 'syntax_bad', 16, 29],
    ]);
    expect(errors[0]!.message).toBe(
      `${file}:line 5:column 38 rule 'plain_bad': CEL: No such key: card_nb_tx_1dd (did you mean f.card_nb_tx_1d?)`,
    );
  });

  it('compiles the shipped default ruleset', () => {
    expect(validateRuleset(loadRulesetFiles('config/rules'))).toEqual([]);
  });
});

describe('rule language: run-time errors', () => {
  it('counts a failing rule as not hit, reports it by id, and evaluates the others', () => {
    const rs = compileRuleset(
      ruleset([
        rule('div_zero', 'tx.amount_minor / (tx.amount_minor - 25050) > 1'),
        rule('overflow', 'tx.amount_minor * 9223372036854775807 > 0'),
        rule('missing_feature', 'f.card_nb_tx_1d > 1.0'),
        rule('fine', 'tx.amount > 1.0', { priority: 5 }),
        rule('shadow_err', 'score > 0.1', { mode: 'shadow' }),
      ]),
    );
    const r = evaluateRules(rs, ruleContext(ev, [], [], null, rs.lists));
    expect(r.active.map((x) => x.def.id)).toEqual(['fine']);
    expect(r.errors.sort()).toEqual(['div_zero', 'missing_feature', 'overflow', 'shadow_err']);
    // The stack-trace limit is restored after evaluation.
    expect(Error.stackTraceLimit).toBeGreaterThan(0);
  });
});

describe('shadow rules', () => {
  const fixedScorer: Scorer = {
    version: 'fixed',
    async score(_rows, n) {
      return Float32Array.from({ length: n }, (_, i) => ((i * 37) % 100) / 100);
    },
  };

  it('never change an outcome, a reason or a tag: they are only reported', async () => {
    const base = loadRulesetFiles('config/rules');
    const active = base.rules.filter((r) => r.mode === 'active');
    // Shadow rules of every action that hit often, at the highest priority.
    const shadows = [
      rule('shadow_decline_all', 'true', { action: 'DECLINE', mode: 'shadow', priority: 10_000 }),
      rule('shadow_approve_all', 'true', { action: 'APPROVE', mode: 'shadow', priority: 10_001 }),
      rule('shadow_review_ecom', 'tx.channel == "ECOM"', { action: 'REVIEW', mode: 'shadow', priority: 5 }),
      rule('shadow_tag', 'tx.amount > 10.0', { action: 'TAG:shadow_tag', mode: 'shadow' }),
    ];
    const sim = simulate({ customers: 60, terminals: 120, days: 10, seed: 5 });
    const events = [...sim.transactions()].map((t) => t.event);
    const decide = async (rules: RuleDef[]) => {
      const rs = compileRuleset(ruleset(rules, {}, 'x'));
      const engine = new DecisionEngine({
        store: new MemoryFeatureStore(),
        scorer: fixedScorer,
        rules: { current: () => rs },
        clock: (e) => e.event_time,
      });
      return (await engine.decideBatch(events)).decisions;
    };
    const without = await decide(active);
    const withShadow = await decide([...active, ...shadows]);
    expect(withShadow).toHaveLength(events.length);
    let shadowHits = 0;
    for (let i = 0; i < events.length; i++) {
      const a = without[i]!;
      const b = withShadow[i]!;
      expect([b.outcome, b.reasons, b.tags]).toEqual([a.outcome, a.reasons, a.tags]);
      expect(b.rule_hits.filter((h) => h.mode === 'ACTIVE')).toEqual(a.rule_hits);
      shadowHits += b.rule_hits.filter((h) => h.mode === 'SHADOW').length;
    }
    expect(shadowHits).toBeGreaterThan(2 * events.length);
    expect(new Set(without.map((d) => d.outcome)).size).toBeGreaterThan(1);
  });
});

describe('ruleset diff', () => {
  it('lists rules added, removed and changed, and threshold changes', () => {
    const a = ruleset([rule('keep', 'true'), rule('gone', 'true'), rule('edit', 'tx.amount > 1.0')], {}, 'a');
    const b: RulesetDef = {
      ...ruleset(
        [rule('keep', 'true'), rule('edit', 'tx.amount > 2.0', { mode: 'shadow' }), rule('new', 'false')],
        {},
        'b',
      ),
      thresholds: { review: 0.4, decline: 0.9 },
    };
    const d = diffRulesets(a, b);
    expect(d.added.map((r) => r.id)).toEqual(['new']);
    expect(d.removed.map((r) => r.id)).toEqual(['gone']);
    expect(d.changed).toEqual([
      {
        id: 'edit',
        changes: {
          expression: { from: 'tx.amount > 1.0', to: 'tx.amount > 2.0' },
          mode: { from: 'active', to: 'shadow' },
        },
      },
    ]);
    expect(d.thresholds).toEqual({ review: { from: 0.5, to: 0.4 } });
    expect(diffText(d)).toContain('~ threshold review: 0.5 -> 0.4');
    expect(isEmptyDiff(diffRulesets(a, { ...a, version: 'a2' }))).toBe(true);
  });
});
