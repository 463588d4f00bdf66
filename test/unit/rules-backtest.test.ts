/** `rules backtest`: one replay, both rulesets evaluated on the same features and scores. */
import { describe, expect, it } from 'vitest';
import { backtestRulesets } from '../../src/pipelines/replay/backtest.js';
import { backtestText } from '../../src/pipelines/replay/backtest-text.js';
import type { Scorer } from '../../src/models/scorer.js';
import { compileRuleset } from '../../src/rules/compile.js';
import { loadRulesetFiles } from '../../src/rules/load.js';
import type { RulesetDef } from '../../src/rules/types.js';
import { simulate } from '../../src/simulator/index.js';

/** A deterministic score from the feature row (so both sides must see the same one). */
const scorer: Scorer = {
  version: 'fake-1',
  async score(rows, n) {
    const width = rows.length / n;
    return Float32Array.from({ length: n }, (_, i) => Math.min(1, (rows[i * width]! % 97) / 97));
  },
};

describe('rules backtest', () => {
  const sim = simulate({ customers: 150, terminals: 300, days: 20, seed: 9 });
  const records = [...sim.transactions()];
  const base = loadRulesetFiles('config/rules');

  it('finds no change when the proposal equals the baseline', async () => {
    const rs = compileRuleset(base);
    const r = await backtestRulesets({
      input: 'sim',
      records,
      baseline: rs,
      baselineSource: 'files',
      proposed: compileRuleset({ ...base, version: 'same' }),
      proposedSource: 'files',
      scorer,
      labelDelayDays: 7,
    });
    expect(r.transactions).toBe(records.length);
    expect(r.frauds).toBe(records.filter((x) => x.fraud).length);
    expect(r.outcome_changes).toBe(0);
    expect(r.outcomes.base).toEqual(r.outcomes.new);
    for (const rule of r.rules) expect(rule.hits.base).toBe(rule.hits.new);
  });

  it('counts hits, outcome changes, frauds and false positives of an added rule and of new thresholds', async () => {
    const proposed: RulesetDef = {
      ...base,
      version: 'proposed',
      thresholds: { review: base.thresholds.review, decline: 0.99 },
      rules: [
        ...base.rules,
        {
          id: 'decline_big',
          description: '',
          expression: 'tx.amount > 150.0',
          action: 'DECLINE',
          priority: 50,
          mode: 'active',
          owner: 't',
        },
      ],
    };
    const r = await backtestRulesets({
      input: 'sim',
      records,
      baseline: compileRuleset(base),
      baselineSource: 'files',
      proposed: compileRuleset(proposed),
      proposedSource: 'dir',
      scorer,
    });
    const big = records.filter((x) => x.event.amount_minor > 15_000);
    const row = r.rules.find((x) => x.id === 'decline_big')!;
    expect(row.change).toBe('added');
    expect(row.hits).toEqual({ base: 0, new: big.length });
    expect(row.fraud_hits.new).toBe(big.filter((x) => x.fraud).length);
    expect(row.legit_hits.new).toBe(big.filter((x) => !x.fraud).length);
    // Every transaction above 150 is declined in the proposal.
    expect(r.outcomes.new.DECLINE).toBeGreaterThanOrEqual(big.length);
    expect(r.outcome_changes).toBe(Object.values(r.transitions).reduce((a, b) => a + b, 0));
    expect(r.outcome_changes).toBeGreaterThan(0);
    expect(r.frauds_stopped.new).toBeGreaterThanOrEqual(big.filter((x) => x.fraud).length);
    const text = backtestText(r);
    expect(text).toMatch(/decline_big\s+added/);
    expect(text).toMatch(/thresholds: review [\d.]+, decline [\d.]+ -> 0\.99/);
    expect(text).toMatch(/false positives \(of \d+ legit\)/);
  });
});
