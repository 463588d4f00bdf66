/**
 * `models compare`'s library: the labelling rule, each model's figures (hand-computed on small
 * cases), the challenger's would-be outcome from the decision policy, and the report over pages
 * of audit rows.
 */
import { describe, expect, it } from 'vitest';
import { compareModels, labelOf, modelFigures, type LabelledDecision } from '../../src/evaluation/compare.js';
import { DAY_MS as DAY } from '../../src/events/time.js';
import type { Outcome } from '../../src/events/types.js';
import { compareOnAuditTrail, wouldBeOutcome, type AuditLabelRow } from '../../src/pipelines/compare/models-compare.js';
import { modelsCompareText } from '../../src/pipelines/compare/models-compare-text.js';
import type { RuleDef, RulesetDef } from '../../src/rules/types.js';
import { authorization } from '../helpers/events.js';

const D1 = Date.UTC(2026, 10, 2, 10);
const D2 = D1 + DAY;

const row = (
  time: number,
  card: string,
  fraud: boolean,
  champion: [number | null, Outcome],
  challenger: [number, Outcome | null] | null = null,
): LabelledDecision => ({
  time,
  card,
  fraud,
  champion: { version: 'champ-1', score: champion[0], outcome: champion[1] },
  challenger: challenger ? { version: 'chall-1', score: challenger[0], outcome: challenger[1] } : null,
});

// Six labelled decisions over two days; the challenger scored the first four.
const ROWS: LabelledDecision[] = [
  row(D1, 'A', true, [0.9, 'DECLINE'], [0.6, 'REVIEW']),
  row(D1 + 1, 'B', false, [0.8, 'DECLINE'], [0.2, 'APPROVE']),
  row(D1 + 2, 'C', true, [0.3, 'REVIEW'], [0.95, 'DECLINE']),
  row(D1 + 3, 'D', false, [0.1, 'APPROVE'], [0.05, 'APPROVE']),
  row(D2, 'A', false, [0.2, 'APPROVE']),
  row(D2 + 1, 'E', true, [0.7, 'APPROVE']),
];

describe('models compare: labels', () => {
  const asOf = Date.UTC(2026, 11, 1);
  it('fraud when a fraud label is known, whenever; legitimate only once the label window has passed', () => {
    expect(labelOf(asOf - DAY, true, asOf, 7 * DAY)).toBe('fraud');
    expect(labelOf(asOf - 8 * DAY, false, asOf, 7 * DAY)).toBe('legit');
    expect(labelOf(asOf - 7 * DAY, false, asOf, 7 * DAY)).toBe('legit'); // the window closes at asOf exactly
    expect(labelOf(asOf - 7 * DAY + 1, false, asOf, 7 * DAY)).toBeNull();
    expect(labelOf(asOf - DAY, false, asOf, 0)).toBe('legit');
  });
});

describe('models compare: figures (hand-computed)', () => {
  it("the champion's figures over all its rows", () => {
    const f = compareModels(ROWS, 2).champion;
    // frauds A(0.9) C(0.3) E(0.7), legit B(0.8) D(0.1) A(0.2): ordered pairs 3 + 2 + 2 of 9.
    expect(f.auc_roc).toBe(0.7778);
    // ranked + - + + - -: 1/3·1 + 1/3·2/3 + 1/3·3/4
    expect(f.average_precision).toBe(0.8056);
    // day 1 top 2 cards A(fraud) B → 1/2; day 2 A removed (detected), E(fraud) → 1/2
    expect(f.card_precision_at_100).toBe(0.5);
    expect(f).toMatchObject({
      rows: 6,
      frauds: 3,
      legit: 3,
      versions: { 'champ-1': 6 },
      declined: 2,
      reviewed: 1,
      decline_precision: 0.5,
      decline_recall: 0.3333,
      false_decline_rate: 0.3333,
      review_rate: 0.1667,
    });
  });

  it('the challenger on the rows it scored, and the champion on those same rows', () => {
    const c = compareModels(ROWS, 2);
    expect(c.challengers).toHaveLength(1);
    const { version, challenger, champion_same_rows: same } = c.challengers[0]!;
    expect(version).toBe('chall-1');
    expect(challenger).toEqual({
      rows: 4,
      frauds: 2,
      legit: 2,
      versions: { 'chall-1': 4 },
      auc_roc: 1,
      average_precision: 1,
      card_precision_at_100: 1,
      declined: 1,
      reviewed: 1,
      decline_precision: 1,
      decline_recall: 0.5,
      false_decline_rate: 0,
      review_rate: 0.25,
    });
    expect(same).toEqual({
      rows: 4,
      frauds: 2,
      legit: 2,
      versions: { 'champ-1': 4 },
      auc_roc: 0.75,
      average_precision: 0.8333,
      card_precision_at_100: 0.5,
      declined: 2,
      reviewed: 1,
      decline_precision: 0.5,
      decline_recall: 0.5,
      false_decline_rate: 0.5,
      review_rate: 0.25,
    });
    expect(c.excluded).toEqual({
      champion_without_score: 0,
      challenger_without_score: 2,
      challenger_ruleset_unknown: 0,
    });
  });

  it('leaves out rows without a score, or whose ruleset is unknown, and says how many', () => {
    const c = compareModels([
      ...ROWS,
      row(D2 + 2, 'F', true, [null, 'DECLINE'], [0.99, 'DECLINE']), // degraded champion
      row(D2 + 3, 'G', false, [0.4, 'REVIEW'], [0.5, null]), // ruleset unknown
    ]);
    expect(c.excluded).toEqual({
      champion_without_score: 1,
      challenger_without_score: 2,
      challenger_ruleset_unknown: 1,
    });
    expect(c.champion.rows).toBe(7);
    expect(c.challengers[0]!.challenger.rows).toBe(5);
    expect(c.challengers[0]!.champion_same_rows.rows).toBe(4);
  });

  it('undefined ratios are null, not NaN (no fraud, nothing declined)', () => {
    const f = modelFigures([{ time: D1, card: 'A', fraud: false, version: 'v', score: 0.1, outcome: 'APPROVE' }]);
    expect(f).toMatchObject({
      auc_roc: null,
      average_precision: null,
      decline_precision: null,
      decline_recall: null,
      false_decline_rate: 0,
      review_rate: 0,
    });
  });
});

const rule = (id: string, action: RuleDef['action'], priority: number): RuleDef => ({
  id,
  description: '',
  expression: 'true',
  action,
  priority,
  mode: 'active',
  owner: 'risk',
});
const RULESET: Pick<RulesetDef, 'thresholds' | 'rules'> = {
  thresholds: { review: 0.35, decline: 0.8 },
  rules: [
    rule('allow', 'APPROVE', 100),
    rule('dec', 'DECLINE', 50),
    rule('rev', 'REVIEW', 10),
    rule('tag', 'TAG:x', 1),
  ],
};

describe("models compare: the challenger's would-be outcome (the decision policy)", () => {
  it("the challenger's score at the row's thresholds, with the same active hits", () => {
    expect(wouldBeOutcome(0.9, RULESET, [])).toBe('DECLINE');
    expect(wouldBeOutcome(0.8, RULESET, [])).toBe('DECLINE');
    expect(wouldBeOutcome(0.5, RULESET, [])).toBe('REVIEW');
    expect(wouldBeOutcome(0.1, RULESET, [])).toBe('APPROVE');
    expect(wouldBeOutcome(0.1, RULESET, [{ rule_id: 'rev' }])).toBe('REVIEW');
    expect(wouldBeOutcome(0.1, RULESET, [{ rule_id: 'tag' }])).toBe('APPROVE');
    // An allowlist rule wins over the score and over lower-priority rules, in whatever order the hits are stored.
    expect(wouldBeOutcome(0.95, RULESET, [{ rule_id: 'dec' }, { rule_id: 'allow' }])).toBe('APPROVE');
    // A hit whose rule the ruleset does not hold: no outcome.
    expect(wouldBeOutcome(0.1, RULESET, [{ rule_id: 'gone' }])).toBeNull();
  });

  it("the rules that read the score run again on the challenger's (declines by rules, as ruleset default-2)", () => {
    const byRules: Pick<RulesetDef, 'thresholds' | 'rules'> = {
      thresholds: { review: 0.05, decline: 1 },
      rules: [
        { ...rule('decline_known', 'DECLINE', 200), expression: 'f.customer_nb_tx_30d >= 12.0 && score >= 0.45' },
        { ...rule('big', 'REVIEW', 100), expression: 'tx.amount >= 500.0' },
      ],
    };
    const input = (nbTx: number) => ({
      features: { customer_nb_tx_30d: nbTx },
      event: authorization({ amount_minor: 1_000 }),
    });
    // The champion scored 0.1 (no hit); the challenger's 0.9 declines a customer with history...
    expect(wouldBeOutcome(0.9, byRules, [], input(20))).toBe('DECLINE');
    // ... and sends a newcomer to review, as the engine would.
    expect(wouldBeOutcome(0.9, byRules, [], input(3))).toBe('REVIEW');
    // Without the row's input (rows before the audit kept the context): the thresholds only.
    expect(wouldBeOutcome(0.9, byRules, [])).toBe('REVIEW');
    // A hit of a rule that does not read the score is kept as it was (not evaluated again).
    expect(wouldBeOutcome(0.01, byRules, [{ rule_id: 'big' }], input(3))).toBe('REVIEW');
  });
});

describe('models compare: the report over pages of audit rows', () => {
  const asOf = Date.UTC(2026, 11, 1);
  const audit = (i: number, daysAgo: number, over: Partial<AuditLabelRow> = {}): AuditLabelRow => ({
    auth_id: `a${i}`,
    event_time: asOf - daysAgo * DAY,
    card_token: `c${i}`,
    score: 0.5,
    outcome: 'REVIEW',
    model_version: 'champ-1',
    ruleset_version: 'rs-1',
    active_hits: [],
    challenger_score: null,
    challenger_version: null,
    fraud_label: false,
    ...over,
  });
  async function* pages(...ps: AuditLabelRow[][]) {
    for (const p of ps) yield p;
  }

  it('labels by the rule, resolves each ruleset once, counts what is left out', async () => {
    const asked: string[] = [];
    const rulesetOf = async (v: string) => {
      asked.push(v);
      return v === 'rs-1' ? RULESET : null;
    };
    const r = await compareOnAuditTrail(
      pages(
        [
          audit(1, 10), // legit
          audit(2, 3), // window open, no fraud label: not counted
          audit(3, 3, {
            fraud_label: true,
            score: 0.9,
            outcome: 'DECLINE',
            challenger_score: 0.2,
            challenger_version: 'ch',
          }),
        ],
        [
          audit(4, 10, { challenger_score: 0.9, challenger_version: 'ch' }),
          audit(5, 12, { challenger_score: 0.9, challenger_version: 'ch', ruleset_version: 'rs-gone' }),
          audit(6, 12, { challenger_score: 0.4, challenger_version: 'ch', ruleset_version: 'rs-gone' }),
        ],
      ),
      rulesetOf,
      { from: asOf - 30 * DAY, to: asOf, asOf, labelDelayDays: 7 },
    );
    expect(asked).toEqual(['rs-1', 'rs-gone']);
    expect(r).toMatchObject({
      decisions: 6,
      frauds: 1,
      legit: 4,
      not_counted: 1,
      label_delay_days: 7,
      as_of: new Date(asOf).toISOString(),
      rulesets_unknown: { 'rs-gone': 2 },
    });
    const ch = r.figures.challengers[0]!;
    // a3 (fraud) would be APPROVE at 0.2, a4 (legit) DECLINE at 0.9.
    expect(ch.challenger).toMatchObject({
      rows: 2,
      frauds: 1,
      declined: 1,
      decline_precision: 0,
      false_decline_rate: 1,
    });
    expect(ch.champion_same_rows).toMatchObject({ rows: 2, declined: 1, decline_precision: 1, false_decline_rate: 0 });
    expect(r.figures.excluded).toEqual({
      champion_without_score: 0,
      challenger_without_score: 1, // a1 (a2 is not counted at all)
      challenger_ruleset_unknown: 2,
    });

    const text = modelsCompareText(r);
    expect(text).toMatch(/decisions 6: 1 fraud, 4 legitimate, 1 not counted/);
    expect(text).toMatch(/^false-decline rate\s+0\.000%\s+100\.0%\s+0\.000%$/m);
    expect(text).toMatch(/^\s+champion\s+challenger\s+champion$/m);
    expect(text).toMatch(
      /1 labelled rows without a challenger score left out; 2 whose ruleset was not found \(rs-gone: 2\)/,
    );
  });
});
