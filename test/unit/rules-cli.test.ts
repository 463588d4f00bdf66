/** `fraud-engine rules validate`: every error as file:line:column rule 'id': reason, exit 1. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import rules from '../../src/commands/rules.js';

describe('rules validate', () => {
  afterEach(() => vi.restoreAllMocks());

  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((m: unknown) => {
      out.push(String(m));
    });
    vi.spyOn(console, 'error').mockImplementation((m: unknown) => {
      err.push(String(m));
    });
    const code = await rules(argv);
    return { code, out, err };
  };

  it('accepts the shipped rules', async () => {
    const r = await run(['validate', 'config/rules']);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^config\/rules: ruleset \S+ OK \(12 rules: 11 active, 1 shadow\)$/);
  });

  it('prints every error with file, line, column, rule and reason, and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-cli-'));
    const file = join(dir, 'rules.yaml');
    writeFileSync(
      file,
      'version: v1\nthresholds: {review: 0.5, decline: 0.9}\nrules:\n' +
        '  - id: a\n    expression: tx.amount > 1.0 && score >\n    action: REVIEW\n' +
        '  - id: b\n    expression: f.card_nb_tx_1dd > 3.0\n    action: DECLINE\n',
    );
    const r = await run(['validate', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([
      `${file}:5:43 rule 'a': CEL: Unexpected token: EOF`,
      `${file}:8:19 rule 'b': CEL: No such key: card_nb_tx_1dd (did you mean f.card_nb_tx_1d?)`,
      `${dir}: 2 error(s)`,
    ]);
  });

  it('reports a structural error with its line, and a missing path as a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-cli-'));
    writeFileSync(
      join(dir, 'r.yaml'),
      'version: v1\nthresholds: {review: 0.5, decline: 0.9}\nrules:\n  - id: a\n    expression: "true"\n    action: BLOCK\n',
    );
    const r = await run(['validate', dir]);
    expect(r.code).toBe(1);
    expect(r.err[0]).toBe(`${join(dir, 'r.yaml')}:6 rule 'a': action: one of DECLINE, REVIEW, APPROVE, TAG:<name>`);
    expect((await run(['validate', join(dir, 'nope')])).code).toBe(2);
    expect((await run(['publish', dir])).code).toBe(2); // --comment is required
  });
});
