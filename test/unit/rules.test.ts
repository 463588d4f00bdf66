import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileRuleset, validateRuleset } from '../../src/rules/compile.js';
import { activeHitsOnScore, evaluateRules, ruleContext } from '../../src/rules/evaluate.js';
import { loadRulesetFiles } from '../../src/rules/load.js';
import { RuleError, type RuleDef, type RulesetDef } from '../../src/rules/types.js';
import { applyPolicy } from '../../src/pipelines/decision/policy.js';
import type { AuthorizationEvent } from '../../src/events/types.js';
import { authorization } from '../helpers/events.js';

const ev: AuthorizationEvent = authorization({ event_time: Date.UTC(2026, 10, 21, 3, 0), amount_minor: 25_000 });

function rule(
  id: string,
  expression: string,
  action: RuleDef['action'] = 'REVIEW',
  priority = 0,
  mode: RuleDef['mode'] = 'active',
): RuleDef {
  return { id, description: '', expression, action, priority, mode, owner: 'test' };
}
function ruleset(rules: RuleDef[], lists: RulesetDef['lists'] = {}): RulesetDef {
  return { version: 't1', description: '', thresholds: { review: 0.5, decline: 0.9 }, rules, lists };
}
function evalOne(
  expression: string,
  f: Record<string, number | null> = {},
  score: number | null = null,
  lists: RulesetDef['lists'] = {},
) {
  const rs = compileRuleset(ruleset([rule('r', expression)], lists));
  const names = Object.keys(f);
  return evaluateRules(
    rs,
    ruleContext(
      ev,
      names,
      names.map((n) => f[n]!),
      score,
      rs.lists,
    ),
  );
}

describe('rule language (CEL)', () => {
  it('evaluates operators over tx, features and score', () => {
    expect(evalOne('tx.amount > 200.0 && tx.channel == "ECOM"').active).toHaveLength(1);
    expect(evalOne('tx.amount_minor == 25000').active).toHaveLength(1);
    expect(evalOne('tx.hour <= 6 && tx.weekday == 6').active).toHaveLength(1); // 2026-11-21 is a Saturday
    expect(evalOne('tx.mcc in ["5411", "7995"]').active).toHaveLength(1);
    expect(evalOne('f.customer_nb_tx_1d >= 3.0', { customer_nb_tx_1d: 3 }).active).toHaveLength(1);
    expect(evalOne('f.customer_nb_tx_1d >= 3.0', { customer_nb_tx_1d: 2 }).active).toHaveLength(0);
    expect(evalOne('score > 0.7', {}, 0.8).active).toHaveLength(1);
  });

  it('treats a missing feature as a run-time error: not hit, reported by rule id', () => {
    const r = evalOne('f.customer_secs_since_prev_tx < 60.0', { customer_secs_since_prev_tx: null });
    expect(r.active).toHaveLength(0);
    expect(r.errors).toEqual(['r']);
    expect(
      evalOne('has(f.customer_secs_since_prev_tx) && f.customer_secs_since_prev_tx < 60.0', {
        customer_secs_since_prev_tx: null,
      }).errors,
    ).toEqual([]);
    // Without a model score, `score` is absent: rules on it error and do not hit.
    expect(evalOne('score > 0.5').errors).toEqual(['r']);
  });

  it('looks up lists by key; a null field reads as "" (it matches a list holding "" unless the rule guards it)', () => {
    expect(evalOne('tx.card_token in lists.block_card', {}, null, { block_card: ['tok_1'] }).active).toHaveLength(1);
    expect(evalOne('tx.card_token in lists.block_card', {}, null, { block_card: ['tok_2'] }).active).toHaveLength(0);
    expect(evalOne('tx.device_id in lists.block_device', {}, null, { block_device: [''] }).active).toHaveLength(1);
    expect(
      evalOne('tx.device_id != "" && tx.device_id in lists.block_device', {}, null, { block_device: [''] }).active,
    ).toHaveLength(0);
  });

  it('rejects an expression that does not compile, naming the rule, line and column', () => {
    const bad = { ...rule('bad_rule', 'tx.amount > '), source: { file: 'rules.yaml', line: 7 } };
    expect(() => compileRuleset(ruleset([bad]))).toThrowError(
      /rules\.yaml:line 7:column 13 rule 'bad_rule': CEL: Unexpected token: EOF/,
    );
    const notBool = { ...rule('not_bool', 'tx.amount + 1.0'), source: { file: 'r.yaml', line: 3 } };
    expect(validateRuleset(ruleset([notBool]))[0]!.message).toMatch(
      /rule 'not_bool': CEL: expression must be a bool, it is double/,
    );
    const unknownVar = rule('unknown_var', 'txn.amount > 1.0');
    expect(validateRuleset(ruleset([unknownVar]))).toHaveLength(1);
  });
});

describe('ruleset files', () => {
  it('loads the shipped default ruleset and compiles it', () => {
    const rs = compileRuleset(loadRulesetFiles('config/rules'));
    expect(rs.version).toBe('default-2');
    expect(rs.active.length).toBeGreaterThan(5);
    expect(rs.shadow.map((r) => r.def.id)).toEqual(['night_high_amount_shadow']);
    expect(rs.active.map((r) => r.def.priority)).toEqual(
      [...rs.active.map((r) => r.def.priority)].sort((a, b) => b - a),
    );
  });

  it('names the file, rule id and line of a bad key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    writeFileSync(
      join(dir, 'r.yaml'),
      'version: v2\nthresholds: {review: 0.5, decline: 0.9}\nrules:\n  - id: ok_rule\n    expression: tx.amount > 1.0\n    action: REVIEW\n  - id: typo_rule\n    expression: tx.amount > 1.0\n    action: REVIEWW\n',
    );
    let err: unknown;
    try {
      loadRulesetFiles(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuleError);
    expect((err as RuleError).message).toBe(
      `${join(dir, 'r.yaml')}:line 9 rule 'typo_rule': action: one of DECLINE, REVIEW, APPROVE, TAG:<name>`,
    );
  });

  it('refuses inverted thresholds and duplicate ids', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    writeFileSync(join(dir, 'r.yaml'), 'version: v2\nthresholds: {review: 0.9, decline: 0.5}\nrules: []\n');
    expect(() => loadRulesetFiles(dir)).toThrow(/thresholds: review and decline/);
    writeFileSync(
      join(dir, 'r.yaml'),
      'version: v2\nthresholds: {review: 0.5, decline: 0.9}\nrules:\n  - {id: a, expression: "true", action: REVIEW}\n  - {id: a, expression: "true", action: DECLINE}\n',
    );
    expect(() => loadRulesetFiles(dir)).toThrow(/rule 'a': duplicate rule id/);
  });
});

describe('decision policy', () => {
  const th = { review: 0.5, decline: 0.9 };
  const hitsOf = (...rules: RuleDef[]) => compileRuleset(ruleset(rules)).active;

  it('maps the score to outcomes by threshold', () => {
    expect(applyPolicy(0.1, th, []).outcome).toBe('APPROVE');
    expect(applyPolicy(0.5, th, [])).toEqual({ outcome: 'REVIEW', reasons: ['score>=0.5'], tags: [] });
    expect(applyPolicy(0.95, th, []).outcome).toBe('DECLINE');
    expect(applyPolicy(null, th, []).outcome).toBe('APPROVE');
  });

  it('takes DECLINE over REVIEW over APPROVE', () => {
    const r = applyPolicy(0.6, th, hitsOf(rule('rev', 'true', 'REVIEW', 1), rule('dec', 'true', 'DECLINE', 2)));
    expect(r.outcome).toBe('DECLINE');
    expect(r.reasons).toEqual(['score>=0.5', 'rule:dec', 'rule:rev']);
  });

  it('lets an allowlist override the score and lower-priority rules, not higher ones', () => {
    expect(
      applyPolicy(0.99, th, hitsOf(rule('allow', 'true', 'APPROVE', 500), rule('rev', 'true', 'REVIEW', 100))),
    ).toEqual({ outcome: 'APPROVE', reasons: ['override:allow'], tags: [] });
    expect(
      applyPolicy(0.99, th, hitsOf(rule('allow', 'true', 'APPROVE', 500), rule('block', 'true', 'DECLINE', 900)))
        .outcome,
    ).toBe('DECLINE');
  });

  it('collects tags without changing the outcome', () => {
    expect(applyPolicy(0.1, th, hitsOf(rule('t', 'true', 'TAG:watch', 1)))).toEqual({
      outcome: 'APPROVE',
      reasons: [],
      tags: ['watch'],
    });
  });
});

describe("a challenger's would-be hits (activeHitsOnScore)", () => {
  const rs = compileRuleset(
    ruleset([
      rule('decline_known', 'f.customer_nb_tx_30d >= 12.0 && score >= 0.45', 'DECLINE', 200),
      rule('big_amount', 'tx.amount > 200.0', 'REVIEW', 100),
      rule('scored_at_all', 'score >= 0.0', 'TAG:scored' as RuleDef['action'], 50),
    ]),
  );
  const names = ['customer_nb_tx_30d'];
  const ctx = (score: number | null) => ruleContext(ev, names, [20], score, rs.lists);

  it('marks the rules that read the score', () => {
    expect(rs.active.map((r) => [r.def.id, r.readsScore])).toEqual([
      ['decline_known', true],
      ['big_amount', false],
      ['scored_at_all', true],
    ]);
  });

  it('evaluates the score rules on the other score and keeps the other hits as they were', () => {
    const champion = evaluateRules(rs, ctx(0.1)).active;
    expect(champion.map((r) => r.def.id)).toEqual(['big_amount', 'scored_at_all']);
    const onChallenger = activeHitsOnScore(rs, ctx(0.9), champion);
    expect(onChallenger.map((r) => r.def.id)).toEqual(['decline_known', 'big_amount', 'scored_at_all']);
    expect(applyPolicy(0.9, rs.thresholds, onChallenger).outcome).toBe('DECLINE');
    // A rule that does not read the score is taken from the hits given, not evaluated again.
    expect(activeHitsOnScore(rs, ctx(0.9), []).map((r) => r.def.id)).toEqual(['decline_known', 'scored_at_all']);
    // No score (the challenger failed): a score rule errors or is false, so it does not hit.
    expect(activeHitsOnScore(rs, ctx(null), champion).map((r) => r.def.id)).toEqual(['big_amount']);
  });
});
