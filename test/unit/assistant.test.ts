import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildExplainContext, standouts, type ExplainInput } from '../../src/assistant/context.js';
import { explainMessages } from '../../src/assistant/explain.js';
import { parseDraft } from '../../src/assistant/draft.js';
import { scrubText } from '../../src/assistant/redact.js';
import { assistantSettings } from '../../src/assistant/settings.js';
import explain from '../../src/commands/explain.js';
import { validateDraft } from '../../src/assistant/draft-backtest.js';
import { rulesDraft } from '../../src/commands/rules-draft.js';
import { ruleYaml } from '../../src/rules/files.js';
import { parseTime } from '../../src/cli/kit.js';
import { loadRulesetFiles } from '../../src/rules/load.js';

const ASSISTANT_ENV = [
  'FRAUD_ASSISTANT_BASE_URL',
  'FRAUD_ASSISTANT_MODEL',
  'FRAUD_ASSISTANT_API_KEY',
  'OPENAI_BASE_URL',
  'OPENAI_MODEL',
  'OPENAI_API_KEY',
];

describe('assistant settings', () => {
  it('names every variable to set when nothing is configured', () => {
    const r = assistantSettings({});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    for (const v of [
      'FRAUD_ASSISTANT_MODEL',
      'FRAUD_ASSISTANT_API_KEY',
      'FRAUD_ASSISTANT_BASE_URL',
      'OPENAI_MODEL',
      'OPENAI_API_KEY',
      'OPENAI_BASE_URL',
    ]) {
      expect(r.message).toContain(v);
    }
  });
  it('needs only the model once a key is set, and accepts a keyless local server and the OPENAI_* fallbacks', () => {
    const r = assistantSettings({ FRAUD_ASSISTANT_API_KEY: 'k' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain('FRAUD_ASSISTANT_MODEL');
      expect(r.message).not.toContain('FRAUD_ASSISTANT_API_KEY');
    }
    expect(
      assistantSettings({ FRAUD_ASSISTANT_BASE_URL: 'http://127.0.0.1:1/v1', FRAUD_ASSISTANT_MODEL: 'm' }),
    ).toMatchObject({ ok: true, settings: { model: 'm', baseURL: 'http://127.0.0.1:1/v1' } });
    expect(assistantSettings({ OPENAI_API_KEY: 'sk', OPENAI_MODEL: 'gpt' })).toMatchObject({
      ok: true,
      settings: { model: 'gpt', apiKey: 'sk', baseURL: undefined },
    });
    expect(assistantSettings({ OPENAI_MODEL: 'a', FRAUD_ASSISTANT_MODEL: 'b', OPENAI_API_KEY: 'k' })).toMatchObject({
      ok: true,
      settings: { model: 'b' },
    });
  });

  describe('commands without configuration', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
      vi.restoreAllMocks();
    });
    it('explain and rules draft say what to set and exit 2, before touching anything', async () => {
      for (const k of ASSISTANT_ENV) delete process.env[k];
      const err: string[] = [];
      vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => {
        err.push(a.join(' '));
      });
      expect(await explain(['some-auth-id'])).toBe(2);
      expect(await rulesDraft(['review big ones', '--input', '/nonexistent/history.csv'])).toBe(2);
      expect(err).toHaveLength(2);
      for (const e of err)
        expect(e).toMatch(/FRAUD_ASSISTANT_MODEL[\s\S]*FRAUD_ASSISTANT_API_KEY[\s\S]*FRAUD_ASSISTANT_BASE_URL/);
    });
  });
});

describe('what reaches the model', () => {
  it('masks PAN-shaped digits, also glued to words, and keeps other numbers', () => {
    expect(scrubText('card 4111 1111 1111 1111 and ref_4111111111111111x')).toBe('card [PAN] and ref_[PAN]x');
    expect(scrubText('auth 1234567890123 amount 912.40')).toBe('auth 1234567890123 amount 912.40');
    expect(scrubText('qty 12 4111.1111.1111.1111, ref4111111111111111x, 5555/5555/5555/4444')).toBe(
      'qty 12 [PAN], ref[PAN]x, [PAN]',
    );
  });

  const base: ExplainInput = {
    auth_id: 'a-1',
    outcome: 'APPROVE',
    score: 0.01,
    reasons: [],
    rule_hits: [],
    tags: [],
    degraded: [],
    model_version: 'm',
    ruleset_version: 'r',
    event_time: Date.UTC(2026, 0, 2, 3, 4, 5),
    features: {
      tx_amount: 40,
      customer_amount_over_avg_30d: 1.1,
      customer_nb_tx_30d: 40,
      customer_nb_tx_1d: 1,
      card_nb_tx_1d: 1,
      card_nb_tx_7d: 8,
      customer_secs_since_prev_tx: 50_000,
      customer_terminal_seen_before: 1,
      customer_device_seen_before: 1,
      terminal_risk_7d: 0,
      tx_is_ecom: 0,
    },
  };
  it('finds nothing unusual in an ordinary transaction', () => {
    expect(standouts(base.features)).toEqual([]);
  });
  it('picks the unusual features, most telling first, and leaves the card out', () => {
    const ctx = buildExplainContext(
      {
        ...base,
        outcome: 'DECLINE',
        reasons: ['manual:4111111111111111'],
        features: {
          ...base.features,
          tx_amount: 800,
          customer_amount_over_avg_30d: 20,
          terminal_risk_7d: 0.6,
          terminal_nb_tx_7d: 10,
          customer_device_seen_before: 0,
          tx_is_ecom: 1,
        },
      },
      { thresholds: { review: 0.35, decline: 0.8 } },
    );
    expect(ctx.stand_out.map((s) => s.feature)).toEqual([
      'customer_amount_over_avg_30d',
      'terminal_risk_7d',
      'customer_device_seen_before',
    ]);
    expect(ctx.stand_out[0]!.note).toBe("amount 800 is 20x the customer's average of 40 over the previous 30 days");
    expect(ctx.authorization).toEqual({
      auth_id: 'a-1',
      event_time: '2026-01-02T03:04:05.000Z',
      amount: 800,
      channel: 'e-commerce',
      night_time_utc: null,
      weekend_utc: null,
    });
    expect(ctx.decision.reasons).toEqual(['manual:[PAN]']);
    expect(JSON.stringify(ctx)).not.toMatch(/card_token|customer_id|description/);
  });
  it("carries the model's top factors in order, with their effect, and none when the decision has none", () => {
    expect(buildExplainContext(base).model_factors).toEqual([]);
    const ctx = buildExplainContext({
      ...base,
      outcome: 'REVIEW',
      factors: [
        { feature: 'terminal_risk_30d', value: 0.4, contribution: 2.3456789 },
        { feature: 'customer_device_seen_before', value: null, contribution: -0.51 },
      ],
    });
    expect(ctx.model_factors).toEqual([
      { feature: 'terminal_risk_30d', value: 0.4, contribution: 2.346, effect: 'raises risk' },
      { feature: 'customer_device_seen_before', value: null, contribution: -0.51, effect: 'lowers risk' },
    ]);
    expect(explainMessages(ctx)[1]!.content).toContain('"model_factors"');
    expect(explainMessages(ctx)[0]!.content).toContain('model_factors');
  });
});

describe('rule drafts', () => {
  it('parses the strict JSON shape, in a code fence or not, and says what is wrong otherwise', () => {
    const rule = { id: 'big_night', description: 'd', expression: 'tx.amount > 1.0', action: 'REVIEW' };
    expect(parseDraft(JSON.stringify(rule))).toEqual(rule);
    expect(parseDraft('Sure:\n```json\n' + JSON.stringify(rule) + '\n```')).toEqual(rule);
    expect(() => parseDraft('no')).toThrow(/not a JSON object/);
    expect(() => parseDraft(JSON.stringify({ ...rule, priority: 3 }))).toThrow(/unexpected keys priority/);
    expect(() => parseDraft(JSON.stringify({ ...rule, id: 'Big Night' }))).toThrow(/"id" must be lower snake case/);
    expect(() => parseDraft(JSON.stringify({ ...rule, action: 'BLOCK' }))).toThrow(/"action" must be/);
  });
  it('validates with the rules compiler and refuses an existing id', () => {
    const base = loadRulesetFiles('config/rules');
    const s = { priority: 150, mode: 'active' as const, owner: 'x' };
    expect(
      validateDraft(base, { id: 'ok_rule', description: '', expression: 'tx.amount > 10.0', action: 'REVIEW' }, s),
    ).toBeNull();
    expect(
      validateDraft(base, { id: 'very_large_amount', description: '', expression: 'true', action: 'REVIEW' }, s),
    ).toMatch(/already exists/);
    expect(
      validateDraft(base, { id: 'bad', description: '', expression: 'tx.amount >> 1.0', action: 'REVIEW' }, s),
    ).toMatch(/^draft:line 1:column \d+ rule 'bad': CEL: /);
    expect(validateDraft(base, { id: 'not_bool', description: '', expression: '1 + 2', action: 'REVIEW' }, s)).toMatch(
      /must be a bool/,
    );
  });
  it('prints YAML that loads back as a rule', () => {
    const yaml = ruleYaml({
      id: 'r1',
      description: 'Quote: "x" & more',
      expression: 'tx.channel == "ECOM" && tx.amount > 5.0',
      action: 'TAG:ecom_big',
      priority: 5,
      mode: 'shadow',
      owner: 'o',
    });
    expect(yaml.split('\n').every((l) => l.startsWith('  '))).toBe(true);
    const file = join(mkdtempSync(join(tmpdir(), 'rules-')), 'rules.yaml');
    writeFileSync(file, `version: t\nthresholds:\n  review: 0.3\n  decline: 0.8\nrules:\n${yaml}\n`);
    const back = loadRulesetFiles(file).rules[0]!;
    expect(back).toMatchObject({
      id: 'r1',
      description: 'Quote: "x" & more',
      expression: 'tx.channel == "ECOM" && tx.amount > 5.0',
      action: 'TAG:ecom_big',
      priority: 5,
      mode: 'shadow',
      owner: 'o',
    });
  });
});

describe('decision path isolation', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
    });
  it('nothing in src/pipelines, src/app/engine.ts or src/commands/run.ts imports the assistant or an LLM client', () => {
    for (const f of [...files('src/pipelines'), 'src/app/engine.ts', 'src/commands/run.ts']) {
      const src = readFileSync(f, 'utf8');
      expect(src, f).not.toMatch(/from ['"][^'"]*assistant\//);
      expect(src, f).not.toMatch(/from ['"]openai['"]/);
    }
  });
});

describe('decisions search times', () => {
  it('reads dates, date-times and epoch ms', () => {
    expect(parseTime('from', '2026-01-31')).toBe(Date.UTC(2026, 0, 31));
    expect(parseTime('to', '2026-01-31T14:00:00Z')).toBe(Date.UTC(2026, 0, 31, 14));
    expect(parseTime('to', '1767225600000')).toBe(1767225600000);
    expect(() => parseTime('from', 'yesterday')).toThrow(/--from: not a time/);
  });
});
