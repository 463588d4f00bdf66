/**
 * Rules cannot hurt the engine: `matches()` runs on RE2 (linear time), a pattern RE2 refuses is
 * a compile error, a rule whose estimated cost is over the bound is refused when the ruleset
 * compiles (with the rule, the line and the cost in the message), and the rules of one batch
 * have a time budget past which the rest of the batch is decided without them.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { backtestRulesets } from '../../src/pipelines/replay/backtest.js';
import { backtestText } from '../../src/pipelines/replay/backtest-text.js';
import rulesCli from '../../src/commands/rules.js';
import type { AuthorizationEvent } from '../../src/events/types.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import type { Scorer } from '../../src/models/scorer.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { DecisionEngine } from '../../src/pipelines/decision/engine.js';
import { compileRuleset, validateRuleset } from '../../src/rules/compile.js';
import { DEFAULT_RULE_LIMITS, type RuleLimits } from '../../src/rules/cost.js';
import { evaluateRules, ruleContext } from '../../src/rules/evaluate.js';
import { loadRulesetFiles } from '../../src/rules/load.js';
import { patternCacheSize } from '../../src/rules/regex.js';
import type { RuleDef, RulesetDef } from '../../src/rules/types.js';
import { simulate } from '../../src/simulator/index.js';
import { authorization } from '../helpers/events.js';

const ev: AuthorizationEvent = authorization();

const rule = (id: string, expression: string, line = 12): RuleDef => ({
  id,
  description: '',
  expression,
  action: 'REVIEW',
  priority: 0,
  mode: 'active',
  owner: 'test',
  source: { file: 'rules/extra.yaml', line, column: 17 },
});
const ruleset = (rules: RuleDef[]): RulesetDef => ({
  version: 't',
  description: '',
  thresholds: { review: 0.5, decline: 0.9 },
  rules,
  lists: {},
});

/** Evaluates one expression on `event`: 'hit', 'miss' or 'error'. */
function outcome(expression: string, event: Partial<AuthorizationEvent> = {}): 'hit' | 'miss' | 'error' {
  const rs = compileRuleset(ruleset([rule('r', expression)]));
  const r = evaluateRules(rs, ruleContext({ ...ev, ...event }, [], [], null, rs.lists));
  return r.errors.length ? 'error' : r.active.length ? 'hit' : 'miss';
}

const bigList = (n: number): string => `[${Array.from({ length: n }, (_, i) => i).join(', ')}]`;

describe('matches() on RE2', () => {
  it('evaluates a catastrophic-backtracking pattern over 128 characters (to false) and returns', () => {
    // JavaScript's RegExp (cel-js's built-in matches) needs ~2^128 steps for this one.
    const t0 = performance.now();
    expect(outcome('tx.card_token.matches("^(a+)+$")', { card_token: `${'a'.repeat(128)}b` })).toBe('miss');
    expect(outcome('matches(tx.card_token, "^(a+)+$")', { card_token: `${'a'.repeat(128)}b` })).toBe('miss');
    // Inside a comprehension (the macro shares the call node) and on a dyn receiver.
    expect(
      outcome('[tx.card_token, tx.customer_id].exists(x, x.matches("^(a+)+$"))', { card_token: `${'a'.repeat(128)}b` }),
    ).toBe('miss');
    expect(outcome('dyn(tx.card_token).matches("^(a+)+$")', { card_token: `${'a'.repeat(128)}b` })).toBe('miss');
    console.log(`^(a+)+$ over 'a'*128+'b', four rules: ${(performance.now() - t0).toFixed(1)} ms`);
    expect(outcome('tx.card_token.matches("^(a+)+$")', { card_token: 'a'.repeat(128) })).toBe('hit');
  });

  it('keeps the CEL semantics: a match anywhere, RE2 syntax', () => {
    expect(outcome('tx.card_token.matches("^tok_[0-9]+$")')).toBe('hit');
    expect(outcome('tx.card_token.matches("ok_")')).toBe('hit'); // unanchored
    expect(outcome('tx.card_token.matches("^ok_")')).toBe('miss');
    expect(outcome('tx.card_token.matches("(?i)^TOK_\\\\d$")')).toBe('hit'); // RE2 flags and classes
    expect(outcome('tx.ip.matches("^10\\\\.0\\\\.")')).toBe('hit');
    expect(outcome('["x", "tok"].exists(p, tx.card_token.startsWith(p)) && tx.card_token.matches("1$")')).toBe('hit');
    // Not a string: a type error at compile time, named with the method the analyst wrote.
    expect(validateRuleset(ruleset([rule('r', 'tx.amount_minor.matches("1")')]))[0]!.reason).toBe(
      "CEL: found no matching overload for 'int.matches(string)'",
    );
  });

  it('compiles each pattern once, whatever the number of rules and versions using it', () => {
    compileRuleset(ruleset([rule('a', 'tx.mcc.matches("^54[0-9]{2}$")'), rule('b', 'tx.mcc.matches("^54[0-9]{2}$")')]));
    const n = patternCacheSize();
    compileRuleset(ruleset([rule('c', 'tx.mcc.matches("^54[0-9]{2}$")')]));
    expect(patternCacheSize()).toBe(n);
  });

  it.each([
    ['a lookahead', 'tx.card_token.matches("^(?=tok)")', /invalid or unsupported Perl syntax: `\(\?=`/],
    ['a negative lookahead', 'tx.card_token.matches("^(?!tok)")', /invalid or unsupported Perl syntax: `\(\?!`/],
    ['a lookbehind', 'tx.card_token.matches("(?<=t)ok")', /invalid named capture/],
    ['a backreference', 'tx.card_token.matches("(a)\\\\1")', /invalid escape sequence: `\\1`/],
    ['a repeat over 1000', 'tx.card_token.matches("a{1001}")', /invalid repeat count/],
  ])('refuses %s at compile time, with the rule id, the line and the reason', (_what, expression, reason) => {
    const [e] = validateRuleset(ruleset([rule('bad_regex', expression, 12)]));
    expect(e).toBeDefined();
    expect(e!.ruleId).toBe('bad_regex');
    expect(e!.file).toBe('rules/extra.yaml');
    expect(e!.line).toBe(12);
    expect(e!.column).toBe(17 + expression.indexOf('"'));
    expect(e!.reason).toMatch(/^matches\(\): invalid regular expression for RE2: /);
    expect(e!.reason).toMatch(reason);
    expect(() => compileRuleset(ruleset([rule('bad_regex', expression)]))).toThrow(/rule 'bad_regex': matches\(\)/);
  });

  it('refuses a pattern that is not a string literal (it could not be checked when the ruleset compiles)', () => {
    const [e] = validateRuleset(ruleset([rule('dyn_regex', 'tx.card_token.matches(tx.customer_id)')]));
    expect(e!.reason).toMatch(/the pattern must be a string literal/);
    expect(validateRuleset(ruleset([rule('dyn_regex', 'matches(tx.card_token, "^" + tx.customer_id)')]))).toHaveLength(
      1,
    );
  });
});

describe('compile-time cost bound', () => {
  it('refuses nested comprehensions over big literals, naming the rule, the line and the cost against the bound', () => {
    const expression = `${bigList(300)}.exists(x, ${bigList(300)}.exists(y, x == y + 1000))`;
    const errors = validateRuleset(ruleset([rule('quadratic', expression, 40)]));
    expect(errors).toHaveLength(1);
    const e = errors[0]!;
    expect([e.ruleId, e.line, e.file]).toEqual(['quadratic', 40, 'rules/extra.yaml']);
    const m =
      /^cost: estimated ([\d,]+) per evaluation, over rules\.max_rule_cost \(([\d,]+)\); the dearest part: `\[0, 1, 2/.exec(
        e.reason,
      );
    expect(m, e.reason).not.toBeNull();
    const [estimate, bound] = [Number(m![1]!.replaceAll(',', '')), Number(m![2]!.replaceAll(',', ''))];
    expect(bound).toBe(DEFAULT_RULE_LIMITS.maxRuleCost);
    expect(estimate).toBeGreaterThan(300 * 300); // multiplied, not added
    expect(e.message).toContain("rule 'quadratic': cost: estimated");
  });

  it('multiplies by the configured bound for lists whose size is unknown (lists.*), and takes `in lists.x` as a lookup', () => {
    expect(validateRuleset(ruleset([rule('lookup', 'tx.card_token in lists.block_card')]))).toEqual([]);
    const [scan] = validateRuleset(ruleset([rule('scan', 'lists.block_card.exists(k, tx.card_token.startsWith(k))')]));
    expect(scan!.reason).toMatch(/^cost: estimated [\d,]+ per evaluation, over rules\.max_rule_cost/);
    // With a smaller bound for lists, the same rule fits.
    const small: RuleLimits = { ...DEFAULT_RULE_LIMITS, listSizeBound: 10 };
    expect(
      validateRuleset(ruleset([rule('scan', 'lists.block_card.exists(k, tx.card_token.startsWith(k))')]), small),
    ).toEqual([]);
  });

  it('weighs matches() by the longest input and the pattern size', () => {
    const costOf = (expression: string, limits: RuleLimits = { ...DEFAULT_RULE_LIMITS, maxRuleCost: 1e9 }) =>
      compileRuleset(ruleset([rule('r', expression)]), undefined, limits).active[0]!.cost;
    const small = costOf('tx.card_token.matches("^tok_[0-9]+$")');
    expect(costOf('tx.card_token.matches("^tok_[0-9]{1,100}$")')).toBeGreaterThan(small);
    // An unknown string (built by the rule) is taken at its longest: 1024 characters.
    expect(costOf('(tx.card_token + tx.customer_id).matches("^tok_[0-9]+$")')).toBeGreaterThan(small);
    // A large program over an identifier: refused.
    expect(validateRuleset(ruleset([rule('r', 'tx.card_token.matches("^(a|aa){500}$")')]))[0]!.reason).toMatch(
      /^cost: estimated/,
    );
  });

  it('bounds list literals and the expression length', () => {
    const [list] = validateRuleset(ruleset([rule('long_list', `tx.amount_minor in ${bigList(1001)}`, 7)]));
    expect([list!.ruleId, list!.line]).toEqual(['long_list', 7]);
    expect(list!.reason).toBe('a list or map literal has more than rules.max_list_literal (1000) items');
    expect(validateRuleset(ruleset([rule('ok_list', `tx.amount_minor in ${bigList(1000)}`)]))).toEqual([]);
    const long = `tx.amount > 1.0${' || tx.amount > 1.0'.repeat(900)}`;
    const [len] = validateRuleset(ruleset([rule('long_expr', long)]));
    expect(len!.reason).toBe(
      `expression of ${long.length} characters, longer than rules.max_expression_length (16384)`,
    );
  });

  it('passes every shipped rule and the test fixtures comfortably (under a tenth of the bound)', () => {
    const def = loadRulesetFiles('config/rules');
    const rs = compileRuleset(def);
    for (const r of [...rs.active, ...rs.shadow])
      expect(r.cost, r.def.id).toBeLessThan(DEFAULT_RULE_LIMITS.maxRuleCost / 10);
    // The rules of the language tests, the bench's shapes and the docs' examples.
    const fixtures = [
      'tx.card_token.contains("_") && tx.card_token.matches("^tok_[0-9]+$")',
      '["FR", "BE"].exists(c, c == tx.country)',
      'tx.mcc in ["7995", "5967", "4829"] && tx.amount > 20.0',
      'has(f.customer_secs_since_prev_tx) && f.customer_secs_since_prev_tx < 60.0 && f.customer_nb_terminals_1d >= 2.0',
      'f.terminal_nb_tx_1h > 3.0 || f.customer_nb_merchants_1d > 4.0',
      'score > 0.9 && tx.amount > 20.0',
      'tx.hour >= 0 && tx.hour <= 5 && tx.weekday >= 6 && tx.amount > 30.0',
    ];
    for (const x of fixtures)
      expect(compileRuleset(ruleset([rule('r', x)])).active[0]!.cost, x).toBeLessThan(
        DEFAULT_RULE_LIMITS.maxRuleCost / 10,
      );
  });

  it('has the defaults of config/default.yaml', () => {
    const rules = (parse(readFileSync('config/default.yaml', 'utf8')) as { rules: Record<string, number> }).rules;
    expect({
      maxRuleCost: rules.max_rule_cost,
      maxExpressionLength: rules.max_expression_length,
      maxListLiteral: rules.max_list_literal,
      listSizeBound: rules.list_size_bound,
    }).toEqual(DEFAULT_RULE_LIMITS);
  });
});

describe('rules budget per batch', () => {
  const events = [...simulate({ customers: 20, terminals: 40, days: 3, seed: 4 }).transactions()]
    .slice(0, 40)
    .map((t) => t.event);
  const scorer: Scorer = {
    version: 's',
    async score(_rows, n) {
      return new Float32Array(n).fill(0.6);
    },
  };
  const rs = compileRuleset(
    ruleset([
      { ...rule('always_tag', 'true'), action: 'TAG:seen' },
      { ...rule('always_shadow', 'tx.amount >= 0.0'), mode: 'shadow' },
    ]),
  );
  /** A clock that advances 1 ms at every read: event i is checked at i ms into the rules stage. */
  const tickingClock = () => {
    let t = 0;
    return () => t++;
  };

  it('decides the events after the budget without rules, degraded rules_timeout, and counts them', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const engine = new DecisionEngine({
      store: new MemoryFeatureStore(),
      scorer,
      rules: { current: () => rs },
      metrics,
      clock: (e) => e.event_time,
      rulesBudgetMs: 5,
      now: tickingClock(),
    });
    const { decisions } = await engine.decideBatch(events);
    // Read at 0 (start), then before events 1, 2, …: event 6 is checked at 6 ms > 5 ms.
    const early = decisions.slice(0, 6);
    const late = decisions.slice(6);
    for (const d of early) {
      expect(d.rule_hits.map((h) => h.rule_id)).toEqual(['always_tag', 'always_shadow']);
      expect(d.tags).toEqual(['seen']);
      expect(d.degraded).toEqual([]);
    }
    expect(late.length).toBe(events.length - 6);
    for (const d of late) {
      expect(d.rule_hits).toEqual([]);
      expect(d.tags).toEqual([]);
      expect(d.degraded).toEqual(['rules_timeout']);
      // The policy still decides on the model score.
      expect(d.outcome).toBe('REVIEW');
      expect(d.reasons).toEqual(['score>=0.5']);
    }
    const counted = (await metrics.degraded.get()).values.find((v) => v.labels.reason === 'rules_timeout')?.value;
    expect(counted).toBe(events.length - 6);
  });

  it('keeps the batch degradations beside rules_timeout', async () => {
    const engine = new DecisionEngine({
      store: new MemoryFeatureStore(),
      scorer: null,
      rules: { current: () => rs },
      rulesBudgetMs: 2,
      now: tickingClock(),
    });
    const { decisions } = await engine.decideBatch(events);
    expect(decisions[0]!.degraded).toEqual(['model_unavailable']);
    expect(decisions.at(-1)!.degraded).toEqual(['model_unavailable', 'rules_timeout']);
  });

  it('runs every rule on every event without a budget (replay) or within it', async () => {
    for (const opts of [{}, { rulesBudgetMs: 0, now: tickingClock() }, { rulesBudgetMs: 1000, now: tickingClock() }]) {
      const engine = new DecisionEngine({
        store: new MemoryFeatureStore(),
        scorer,
        rules: { current: () => rs },
        ...opts,
      });
      const { decisions } = await engine.decideBatch(events);
      for (const d of decisions) {
        expect(d.rule_hits).toHaveLength(2);
        expect(d.degraded).toEqual([]);
      }
    }
  });
});

describe('rule costs in backtests and at publish', () => {
  afterEach(() => vi.restoreAllMocks());
  const records = [...simulate({ customers: 60, terminals: 120, days: 10, seed: 8 }).transactions()];
  const base = loadRulesetFiles('config/rules');

  it("reports each proposed rule's estimated cost and measured µs per event", async () => {
    const proposed: RulesetDef = {
      ...base,
      version: 'p',
      rules: [
        ...base.rules.filter((r) => r.id !== 'card_velocity_burst'),
        rule('tok_regex', 'tx.card_token.matches("^(a+)+$")'),
      ],
    };
    const r = await backtestRulesets({
      input: 'sim',
      records,
      baseline: compileRuleset(base),
      baselineSource: 'files',
      proposed: compileRuleset(proposed),
      proposedSource: 'dir',
      scorer: null,
    });
    expect(r.cost_events).toBe(records.length);
    const regex = r.rules.find((x) => x.id === 'tok_regex')!;
    expect(regex.cost!.estimate).toBe(compileRuleset(proposed).active.find((x) => x.def.id === 'tok_regex')!.cost);
    expect(regex.cost!.us_per_event).toBeGreaterThan(0);
    for (const row of r.rules.filter((x) => x.id !== 'card_velocity_burst')) expect(row.cost, row.id).not.toBeNull();
    expect(r.rules.find((x) => x.id === 'card_velocity_burst')!.cost).toBeNull(); // removed: not measured
    const text = backtestText(r);
    expect(text).toMatch(/cost \(est\.\)\s+µs\/event/);
    expect(text).toMatch(
      new RegExp(`tok_regex\\s+added.*\\s${regex.cost!.estimate}\\s+${regex.cost!.us_per_event.toFixed(2)}$`, 'm'),
    );
  });

  const cli = async (argv: string[]) => {
    const err: string[] = [];
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((m: unknown) => {
      out.push(String(m));
    });
    vi.spyOn(console, 'error').mockImplementation((m: unknown) => {
      err.push(String(m));
    });
    return { code: await rulesCli(argv), out, err };
  };

  it('refuses to publish a rule over the estimated cost bound, naming the rule and line (before any database)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-cost-'));
    writeFileSync(
      join(dir, 'r.yaml'),
      'version: v1\nthresholds: {review: 0.5, decline: 0.9}\nrules:\n' +
        '  - id: fine\n    expression: tx.amount > 1.0\n    action: REVIEW\n' +
        `  - id: quadratic\n    expression: '${bigList(200)}.exists(x, ${bigList(200)}.exists(y, x == y))'\n    action: REVIEW\n`,
    );
    const r = await cli(['publish', dir, '--comment', 'test']);
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(
      new RegExp(
        `^${join(dir, 'r.yaml')}:8:\\d+ rule 'quadratic': cost: estimated [\\d,]+ per evaluation, over rules\\.max_rule_cost \\(2,500\\)`,
      ),
    );
    expect(r.err[1]).toBe(
      'rules publish: ruleset v1 refused: 1 error(s); nothing published, the active ruleset is unchanged',
    );
    // validate says the same.
    expect((await cli(['validate', dir])).code).toBe(1);
  });

  it('refuses to publish a rule measured over --max-us-per-event, naming the rule', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-cost-'));
    writeFileSync(
      join(dir, 'r.yaml'),
      'version: v1\nthresholds: {review: 0.5, decline: 0.9}\nrules:\n' +
        '  - id: regex_rule\n    expression: tx.customer_id.matches("^[0-9]+7$")\n    action: REVIEW\n',
    );
    // A bound no rule can meet: the measured cost is what refuses it (a benchmark is not a test).
    const r = await cli(['publish', dir, '--comment', 'test', '--max-us-per-event', '0.000001']);
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(
      new RegExp(
        `^${join(dir, 'r.yaml')}:5 rule 'regex_rule': cost: measured [\\d.]+ µs per event over \\d+ events of a simulated history, over --max-us-per-event \\(0\\.000001\\)$`,
      ),
    );
    expect(r.err[1]).toMatch(/refused: 1 error\(s\); nothing published/);
  });
});
