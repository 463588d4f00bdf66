/** The rules editor's validation: the compiler's errors at their line and column of the draft text. */
import { describe, expect, it } from 'vitest';
import { checkDraft, offsetOf } from '../../src/console/rules/validate.js';
import { nextVersion } from '../../src/console/routes/rules.js';
import { DEFAULT_RULE_LIMITS } from '../../src/rules/cost.js';
import { rulesetYaml } from '../../src/rules/files.js';
import { loadRulesetFiles } from '../../src/rules/load.js';

const HEAD = 'version: v9\nthresholds: {review: 0.5, decline: 0.9}\nrules:\n';
const check = (text: string) => checkDraft(text, DEFAULT_RULE_LIMITS, null);

describe('rules draft check', () => {
  it('maps line and column to the offset in the text', () => {
    const t = 'ab\ncdef\n\ng';
    expect(offsetOf(t, 1, 1)).toBe(0);
    expect(offsetOf(t, 2, 3)).toBe(5);
    expect(t[offsetOf(t, 2, 3)]).toBe('e');
    expect(offsetOf(t, 2, null)).toBe(3);
    expect(offsetOf(t, 2, 99)).toBe(7); // clamped to the line's end
    expect(offsetOf(t, 4, 1)).toBe(9);
    expect(offsetOf(t, 9, 1)).toBe(t.length);
    expect(offsetOf(t, null, null)).toBe(0);
  });

  it('points at a CEL error in a plain scalar: the line and the column of the bad token', () => {
    const text = HEAD + '  - id: big\n    expression: tx.amount > 100.0 && tx.amout > 1.0\n    action: REVIEW\n';
    const c = check(text);
    expect(c.ok).toBe(false);
    const e = c.errors[0]!;
    expect(e.line).toBe(5);
    expect(e.rule).toBe('big');
    expect(e.column).not.toBeNull();
    expect(text.slice(e.offset).startsWith('tx.amout') || text.slice(e.offset).startsWith('amout')).toBe(true);
    expect(e.message).toMatch(/^line 5, column \d+: rule 'big': CEL: .*amout/);
  });

  it('points into a quoted scalar and a literal block at the same character', () => {
    const quoted = HEAD + '  - id: q\n    expression: "tx.amount > \'x\'"\n    action: REVIEW\n';
    const block =
      HEAD + '  - id: b\n    expression: |\n      tx.amount > 1.0 &&\n        score > "y"\n    action: REVIEW\n';
    const q = check(quoted).errors[0]!;
    expect(q.line).toBe(5);
    expect(q.offset).toBeGreaterThan(offsetOf(quoted, 5, null));
    const b = check(block).errors[0]!;
    expect(b.line).toBe(7);
    expect(b.column).not.toBeNull();
    expect(b.offset).toBeGreaterThan(offsetOf(block, 7, null));
    expect(b.offset).toBeLessThan(offsetOf(block, 8, null));
  });

  it("gives only the line for a folded expression (its columns are not the text's)", () => {
    const text = HEAD + '  - id: f\n    expression: >\n      tx.amount >\n      "z"\n    action: REVIEW\n';
    const e = check(text).errors[0]!;
    expect(e.rule).toBe('f');
    expect(e.column).toBeNull();
    expect(e.message).toMatch(/^line \d+: rule 'f'/);
  });

  it('reports YAML and structure errors at their line', () => {
    const yaml = check(HEAD + '  - id: a\n    expression: [unclosed\n');
    expect(yaml.ok).toBe(false);
    expect(yaml.errors[0]!.message).toMatch(/^line \d+, column \d+: YAML/);
    const action = check(HEAD + '  - id: a\n    expression: tx.amount > 1.0\n    action: BLOCK\n');
    expect(action.errors[0]!.line).toBe(6);
    expect(action.errors[0]!.message).toContain("rule 'a': action:");
  });

  it('accepts the shipped rules written as one file (as a new draft starts) and diffs a change against them', () => {
    const active = loadRulesetFiles('config/rules');
    const text = rulesetYaml(active, ['a comment']);
    const same = checkDraft(text, DEFAULT_RULE_LIMITS, active);
    expect(same.ok).toBe(true);
    expect(same.diffLines.at(-1)).toBe('(no rule or threshold changes)');
    expect(same.summary).toMatch(/rules \(\d+ active, \d+ shadow\) compile$/);
    const changed = checkDraft(text.replace(/decline: [\d.]+/, 'decline: 0.97'), DEFAULT_RULE_LIMITS, active);
    expect(changed.diffLines.some((l) => l.startsWith('~ threshold decline:'))).toBe(true);
  });

  it('names a fresh version for a draft', () => {
    const now = new Date('2026-12-01T10:05:00Z');
    expect(nextVersion('2026.11.1', now)).toBe('2026.11.1-d202612011005');
    expect(nextVersion('2026.11.1-d202612011005', now)).toBe('2026.11.1-d202612011005');
    expect(nextVersion('x'.repeat(64), now)).toHaveLength(64);
  });
});
