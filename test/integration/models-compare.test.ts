/**
 * `fraud-engine models compare` for real: decisions with champion and challenger scores written
 * to decision_audit by the audit sink's writer, labels to label_audit by its label writer, one
 * ruleset version published in PostgreSQL and the default one from config/rules, in a PostgreSQL
 * schema of this file; the command's figures are checked against values computed here
 * independently (pairwise AUC, average precision by its definition, card precision@100 per day,
 * outcomes by the thresholds).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { DAY_MS as DAY, HOUR_MS as HOUR } from '../../src/events/time.js';
import type { Decision, LabelEvent, Outcome, RuleHit } from '../../src/events/types.js';
import type { ModelsCompareReport } from '../../src/pipelines/compare/models-compare.js';
import { UserStore } from '../../src/identity/users.js';
import { loadRulesetFiles } from '../../src/rules/load.js';
import { PgRulesetStore } from '../../src/rules/pg-store.js';
import { LabelAuditWriter } from '../../src/sinks/audit/label-writer.js';
import { labelledDecisionPages } from '../../src/sinks/audit/labelled.js';
import { AuditWriter } from '../../src/sinks/audit/writer.js';
import { migrate } from '../../src/storage/migrate.js';
import { freshSchema } from '../helpers/stack.js';

const D0 = Date.UTC(2026, 9, 5); // the window: 4 UTC days from here
const AS_OF = D0 + 10 * DAY; // with a 7-day delay, decisions up to D0 + 3 d have a closed label window
const DELAY_DAYS = 7;
const FILES = loadRulesetFiles('config/rules'); // default-2: review 0.05; the score alone never declines (decline 1)
const PG_VERSION = 'cmp-pg-1';
const PG_THRESHOLDS = { review: 0.1, decline: 0.25 }; // declines by the score: the two models differ here

/** A seeded generator (mulberry32): the same rows on every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Truth {
  time: number;
  card: string;
  /** What the test says it is: fraud, legitimate, or not counted. */
  label: 'fraud' | 'legit' | null;
  score: number | null;
  outcome: Outcome;
  challenger: number | null;
  /** The challenger's outcome by the thresholds and hits, computed here. */
  challengerOutcome: Outcome | null;
}

/** The outcome of a score with the rows' rules, written out for this test (not the engine's policy). */
function outcomeOf(score: number | null, t: { review: number; decline: number }, hit: string | null): Outcome {
  if (hit === 'allowlisted_card') return 'APPROVE';
  const band: Outcome =
    score === null ? 'APPROVE' : score >= t.decline ? 'DECLINE' : score >= t.review ? 'REVIEW' : 'APPROVE';
  return hit === 'very_large_amount' && band === 'APPROVE' ? 'REVIEW' : band;
}

function aucByPairs(xs: { s: number; y: boolean }[]): number {
  const pos = xs.filter((x) => x.y);
  const neg = xs.filter((x) => !x.y);
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p.s > n.s ? 1 : p.s === n.s ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

/** Mean over the frauds of the precision at the rank of each (scores all distinct here). */
function apByRanks(xs: { s: number; y: boolean }[]): number {
  const ranked = [...xs].sort((a, b) => b.s - a.s);
  let tp = 0,
    sum = 0;
  ranked.forEach((x, i) => {
    if (x.y) sum += ++tp / (i + 1);
  });
  return sum / tp;
}

function cpAt100(xs: { time: number; card: string; s: number; y: boolean }[]): number {
  const days = [...new Set(xs.map((x) => Math.floor(x.time / DAY)))].sort((a, b) => a - b);
  const detected = new Set<string>();
  const precisions = days.map((day) => {
    const cards = new Map<string, { s: number; y: boolean }>();
    for (const x of xs.filter((x) => Math.floor(x.time / DAY) === day)) {
      const c = cards.get(x.card) ?? { s: -1, y: false };
      cards.set(x.card, { s: Math.max(c.s, x.s), y: c.y || x.y });
    }
    const top = [...cards]
      .filter(([card]) => !detected.has(card))
      .sort((a, b) => b[1].s - a[1].s)
      .slice(0, 100);
    const hits = top.filter(([, c]) => c.y);
    for (const [card] of hits) detected.add(card);
    return hits.length / 100;
  });
  return precisions.reduce((a, b) => a + b, 0) / precisions.length;
}

function figures(rows: { time: number; card: string; s: number; y: boolean; outcome: Outcome }[]) {
  const frauds = rows.filter((r) => r.y).length;
  const legit = rows.length - frauds;
  const declined = rows.filter((r) => r.outcome === 'DECLINE');
  const declinedFrauds = declined.filter((r) => r.y).length;
  return {
    rows: rows.length,
    frauds,
    auc: aucByPairs(rows),
    ap: apByRanks(rows),
    cp: cpAt100(rows),
    declined: declined.length,
    declinePrecision: declinedFrauds / declined.length,
    declineRecall: declinedFrauds / frauds,
    falseDeclineRate: (declined.length - declinedFrauds) / legit,
    reviewRate: rows.filter((r) => r.outcome === 'REVIEW').length / rows.length,
  };
}

describe('models compare on the audit trail and the labels (PostgreSQL)', () => {
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let pool: pg.Pool;
  const truth: Truth[] = [];
  const envBefore = process.env.FRAUD_POSTGRES_URL;

  beforeAll(async () => {
    schema = await freshSchema('it_compare');
    pool = new pg.Pool({ connectionString: schema.url, max: 2 });
    await migrate(pool);
    await new UserStore(pool).add({ username: 'ana', roles: ['analyst'], password: 'ana-password-123' }, 'test');
    await new PgRulesetStore(pool).publish(
      { ...FILES, version: PG_VERSION, thresholds: PG_THRESHOLDS },
      { author: 'ana', comment: 'declines by the score' },
    );

    const rand = rng(16);
    const decisions: Decision[] = [];
    const labels: LabelEvent[] = [];
    // 4 days x 160 decisions over 220 cards (so more than 100 cards a day, and cards recur over days).
    for (let i = 0; i < 640; i++) {
      const time = D0 + Math.floor(i / 160) * DAY + (i % 160) * 8 * 60_000 + Math.floor(rand() * 60_000);
      const card = `card_${Math.floor(rand() * 220)}`;
      const fraud = rand() < 0.12;
      const degraded = i % 53 === 7; // no champion score
      const score = degraded ? null : Math.round((fraud ? 0.25 + 0.75 * rand() : 0.6 * rand() ** 2) * 1e6) / 1e6;
      const hasChallenger = i % 3 !== 0;
      const challenger = hasChallenger
        ? Math.round((fraud ? 0.35 + 0.65 * rand() : 0.5 * rand() ** 2) * 1e6) / 1e6
        : null;
      const pgRuleset = i % 2 === 0;
      const thresholds = pgRuleset ? PG_THRESHOLDS : FILES.thresholds;
      const hit = i % 17 === 3 ? 'very_large_amount' : i % 29 === 5 ? 'allowlisted_card' : null;
      const rule_hits: RuleHit[] = [
        ...(hit
          ? [{ rule_id: hit, action: hit === 'very_large_amount' ? 'REVIEW' : 'APPROVE', mode: 'ACTIVE' as const }]
          : []),
        // A shadow hit never counts.
        ...(i % 11 === 4 ? [{ rule_id: 'night_high_amount_shadow', action: 'REVIEW', mode: 'SHADOW' as const }] : []),
      ];
      const outcome = outcomeOf(score, thresholds, hit);
      const authId = `cmp-${i}`;
      decisions.push({
        auth_id: authId,
        card_token: card,
        outcome,
        score,
        reasons: [],
        rule_hits,
        tags: [],
        model_version: 'champ-3',
        ruleset_version: pgRuleset ? PG_VERSION : FILES.version,
        degraded: degraded ? ['model_error'] : [],
        features: {},
        event_time: time,
        decided_time: time + 5,
        engine_latency_ms: 2,
        ...(challenger !== null && { challenger_score: challenger, challenger_version: 'chall-7' }),
      });
      const lbl = (source: string, isFraud: boolean, after: number): LabelEvent => ({
        auth_id: authId,
        card_token: card,
        customer_id: `cust_${i}`,
        terminal_id: `term_${i % 9}`,
        tx_time: time,
        label_time: time + after,
        fraud: isFraud,
        source,
      });
      // How a fraud becomes known: a chargeback (most), an analyst verdict only, or a chargeback
      // an analyst contradicts (still fraud), or a chargeback known only after as-of (not yet known).
      let known = fraud;
      if (fraud) {
        const how = i % 4;
        if (how === 0 || how === 2) labels.push(lbl('chargeback', true, 2 * DAY));
        if (how === 1) labels.push(lbl('analyst', true, HOUR));
        if (how === 2) labels.push(lbl('analyst', false, HOUR));
        if (how === 3) {
          labels.push(lbl('chargeback', true, AS_OF - time + HOUR));
          known = false;
        }
      } else if (i % 7 === 0) labels.push(lbl('analyst', false, HOUR)); // a legitimate verdict changes nothing
      const closed = time + DELAY_DAYS * DAY <= AS_OF;
      truth.push({
        time,
        card,
        label: known ? 'fraud' : closed ? 'legit' : null,
        score,
        outcome,
        challenger,
        challengerOutcome: challenger === null ? null : outcomeOf(challenger, thresholds, hit),
      });
    }
    // Outside the window (before --from, at --to): never read.
    for (const t of [D0 - 1, D0 + 4 * DAY])
      decisions.push({ ...decisions[1]!, auth_id: `cmp-out-${t}`, event_time: t, decided_time: t });
    const writer = new AuditWriter(pool);
    for (let i = 0; i < decisions.length; i += 100)
      await writer.write(decisions.slice(i, i + 100).map((decision) => ({ decision })));
    await new LabelAuditWriter(pool).write(labels);
    process.env.FRAUD_POSTGRES_URL = schema.url;
  });

  afterAll(async () => {
    if (envBefore === undefined) delete process.env.FRAUD_POSTGRES_URL;
    else process.env.FRAUD_POSTGRES_URL = envBefore;
    await pool?.end();
    await schema?.drop();
  });

  async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    try {
      const code = await main(args);
      return { code, out: out.join('\n'), err: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }

  const window = ['--from', '2026-10-05', '--to', '2026-10-09', '--as-of', new Date(AS_OF).toISOString()];

  it('gives the figures computed independently here, for the champion and the challenger', async () => {
    const r = await run(['models', 'compare', ...window, '--label-delay-days', String(DELAY_DAYS), '--format', 'json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as ModelsCompareReport;

    const counted = truth.filter((t) => t.label !== null);
    expect(report.decisions).toBe(640);
    expect(report.frauds).toBe(counted.filter((t) => t.label === 'fraud').length);
    expect(report.legit).toBe(counted.filter((t) => t.label === 'legit').length);
    expect(report.not_counted).toBe(640 - counted.length);
    // The data exercise every rule: some recent decisions are left out, some frauds are not known yet.
    expect(report.not_counted).toBeGreaterThan(50);
    expect(report.frauds).toBeGreaterThan(30);
    expect(report.rulesets_unknown).toEqual({});

    const near = (got: number | null, want: number) => {
      expect(got).not.toBeNull();
      expect(Math.abs(got! - want)).toBeLessThanOrEqual(0.00005 + 1e-12);
    };
    const check = (got: ModelsCompareReport['figures']['champion'], want: ReturnType<typeof figures>) => {
      expect([got.rows, got.frauds, got.legit, got.declined]).toEqual([
        want.rows,
        want.frauds,
        want.rows - want.frauds,
        want.declined,
      ]);
      near(got.auc_roc, want.auc);
      near(got.average_precision, want.ap);
      near(got.card_precision_at_100, want.cp);
      near(got.decline_precision, want.declinePrecision);
      near(got.decline_recall, want.declineRecall);
      near(got.false_decline_rate, want.falseDeclineRate);
      near(got.review_rate, want.reviewRate);
    };

    const champRows = counted.filter((t) => t.score !== null);
    const champ = figures(
      champRows.map((t) => ({ time: t.time, card: t.card, s: t.score!, y: t.label === 'fraud', outcome: t.outcome })),
    );
    check(report.figures.champion, champ);
    expect(report.figures.champion.versions).toEqual({ 'champ-3': champRows.length });

    expect(report.figures.challengers.map((c) => c.version)).toEqual(['chall-7']);
    const c = report.figures.challengers[0]!;
    const challRows = counted.filter((t) => t.challenger !== null);
    check(
      c.challenger,
      figures(
        challRows.map((t) => ({
          time: t.time,
          card: t.card,
          s: t.challenger!,
          y: t.label === 'fraud',
          outcome: t.challengerOutcome!,
        })),
      ),
    );
    const sameRows = challRows.filter((t) => t.score !== null);
    check(
      c.champion_same_rows,
      figures(
        sameRows.map((t) => ({ time: t.time, card: t.card, s: t.score!, y: t.label === 'fraud', outcome: t.outcome })),
      ),
    );
    expect(report.figures.excluded).toEqual({
      champion_without_score: counted.length - champRows.length,
      challenger_without_score: counted.length - challRows.length,
      challenger_ruleset_unknown: 0,
    });
    // The two models really differ at these thresholds (else the comparison proves little).
    expect(c.challenger.false_decline_rate).not.toBe(c.champion_same_rows.false_decline_rate);
    console.log(`models compare (json, figures):\n${JSON.stringify(report.figures, null, 1)}`);
  });

  it('prints the table, and respects the label delay', async () => {
    const text = await run(['models', 'compare', ...window]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^\s+champion\s+challenger\s+champion$/m);
    expect(text.out).toMatch(/^AUC ROC\s+0\.\d{4}\s+0\.\d{4}\s+0\.\d{4}$/m);
    expect(text.out).toMatch(/^false-decline rate\s+\d+\.\d+%\s+\d+\.\d+%\s+\d+\.\d+%$/m);
    console.log(`fraud-engine models compare ${window.join(' ')}\n${text.out}`);

    // With no delay every decision's window has closed: all 640 are counted.
    const none = await run(['models', 'compare', ...window, '--label-delay-days', '0', '--format', 'json']);
    const report = JSON.parse(none.out) as ModelsCompareReport;
    expect(report.not_counted).toBe(0);
    expect(report.frauds + report.legit).toBe(640);
    // A ruleset version nobody knows: the challenger's rows of it are left out, and said so.
    await pool.query(`UPDATE decision_audit SET ruleset_version = 'gone-1' WHERE auth_id = 'cmp-1'`);
    const gone = JSON.parse(
      (await run(['models', 'compare', ...window, '--format', 'json'])).out,
    ) as ModelsCompareReport;
    expect(gone.rulesets_unknown).toEqual({ 'gone-1': 1 });
    expect(gone.figures.excluded.challenger_ruleset_unknown).toBe(1);
  });

  it('reads the window in pages, every decision once, in (event_time, auth_id) order', async () => {
    // Two more decisions at the very same instant as cmp-5: the page boundary falls among them.
    const t5 = truth[5]!.time;
    const twin = (id: string): Decision => ({
      auth_id: id,
      card_token: 'card_twin',
      outcome: 'APPROVE',
      score: 0.01,
      reasons: [],
      rule_hits: [],
      tags: [],
      model_version: 'champ-3',
      ruleset_version: FILES.version,
      degraded: [],
      features: {},
      event_time: t5,
      decided_time: t5,
      engine_latency_ms: 1,
    });
    await new AuditWriter(pool).write([{ decision: twin('cmp-5a') }, { decision: twin('cmp-5b') }]);
    try {
      const seen: string[] = [];
      const sizes: number[] = [];
      for await (const page of labelledDecisionPages(pool, { from: D0, to: D0 + 4 * DAY, asOf: AS_OF }, 7)) {
        sizes.push(page.length);
        seen.push(...page.map((r) => r.auth_id));
      }
      expect(seen).toHaveLength(642);
      expect(new Set(seen).size).toBe(642);
      expect(sizes.slice(0, -1).every((n) => n === 7)).toBe(true);
      const i5 = seen.indexOf('cmp-5');
      expect(seen.slice(i5, i5 + 3)).toEqual(['cmp-5', 'cmp-5a', 'cmp-5b']);
    } finally {
      await pool.query(`DELETE FROM decision_audit WHERE auth_id IN ('cmp-5a', 'cmp-5b')`);
    }
  });

  it('refuses a bad command line with the usage', async () => {
    const r = await run(['models', 'compare', '--from', '2026-10-05']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--to is required/);
    expect((await run(['models', 'compare', '--from', '2026-10-09', '--to', '2026-10-05'])).err).toMatch(
      /--to must be after --from/,
    );
    const help = await run(['models', 'compare', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/legitimate when none does\s+and its label window has passed/);
  });
});
