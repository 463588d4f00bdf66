/**
 * `rules draft` end to end against a local OpenAI-compatible server and the real openai client:
 * the first answer does not compile, the retry carries the compiler's error and compiles, and the
 * drafted rule is backtested by replaying a small simulated history (10 days, 200 customers).
 */
import { createWriteStream, mkdtempSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openAIChat } from '../../src/assistant/client.js';
import { assistantSettings } from '../../src/assistant/settings.js';
import { draftAndBacktest } from '../../src/assistant/draft-backtest.js';
import { rulesDraft } from '../../src/commands/rules-draft.js';
import { readHistoryFile, type HistoryRecord } from '../../src/events/history/index.js';
import { loadRulesetFiles } from '../../src/rules/load.js';
import { simulate, writeSimulation } from '../../src/simulator/index.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';

const REQUEST = 'Send every transaction above 220 to manual review';

describe('rules draft (assistant + compiler + replay backtest)', () => {
  let fake: FakeOpenAI;
  let file: string;
  let records: HistoryRecord[];

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    file = join(mkdtempSync(join(tmpdir(), 'draft-')), 'history.csv');
    const out = createWriteStream(file);
    await writeSimulation(simulate({ customers: 200, terminals: 400, days: 10, seed: 11 }), out, 'csv');
    out.end();
    await once(out, 'finish');
    records = await readHistoryFile(file);
  });

  afterAll(async () => {
    await fake?.close();
  });

  it('retries with the compiler error, then backtests the valid rule on the history', async () => {
    const settings = assistantSettings({
      FRAUD_ASSISTANT_BASE_URL: fake.baseURL,
      FRAUD_ASSISTANT_MODEL: 'fake-drafter',
      FRAUD_ASSISTANT_API_KEY: 'sk-local',
    });
    if (!settings.ok) throw new Error(settings.message);
    const base = loadRulesetFiles('config/rules');
    const r = await draftAndBacktest({
      chat: openAIChat(settings.settings),
      request: REQUEST,
      records,
      base,
      scorer: null,
    });

    expect(r.draft.attempts).toHaveLength(2);
    const firstError = r.draft.attempts[0]!.error!;
    expect(firstError).toMatch(/rule 'amount_over_220': CEL: /);
    expect(r.draft.attempts[1]!.error).toBeNull();
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer sk-local');
    const retryMessages = fake.requests[1]!.body.messages!;
    expect(retryMessages.at(-1)!.content).toContain(firstError);
    expect(retryMessages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);

    expect(r.rule).toMatchObject({
      id: 'amount_over_220',
      expression: 'tx.amount > 220.0',
      action: 'REVIEW',
      mode: 'active',
    });
    expect(r.yaml).toMatch(/^ {2}- id: amount_over_220$/m);
    expect(r.yaml).toMatch(/^ {4}expression: tx\.amount > 220\.0$/m);

    // The backtest against what the history says: the handbook's scenario 1 makes every
    // transaction above 220 a fraud, so every hit is a fraud caught.
    const bt = r.backtest!;
    const above = records.filter((x) => x.event.amount_minor > 22_000);
    expect(bt.transactions).toBe(records.length);
    expect(bt.rule.hits).toBe(above.length);
    expect(bt.rule.hits).toBeGreaterThan(0);
    expect(bt.rule.fraud_hits).toBe(above.filter((x) => x.fraud === true).length);
    expect(bt.rule.false_positives).toBe(above.filter((x) => x.fraud === false).length);
    expect(bt.rule.runtime_errors).toBe(0);
    expect(bt.outcomes.changed).toBeGreaterThan(0);
    expect(bt.outcomes.changed).toBe(Object.values(bt.outcomes.transitions).reduce((a, b) => a + b, 0));
    expect(bt.outcomes.frauds_stopped_proposed).toBeGreaterThanOrEqual(
      bt.outcomes.frauds_stopped_baseline + bt.outcomes.frauds_newly_stopped,
    );
  });

  it('runs as a command: YAML and backtest on stdout, rejected attempts on stderr', async () => {
    const saved = { ...process.env };
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
      out.push(a.join(' '));
    });
    const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => {
      err.push(a.join(' '));
    });
    try {
      process.env.FRAUD_ASSISTANT_BASE_URL = fake.baseURL;
      process.env.FRAUD_ASSISTANT_MODEL = 'fake-drafter';
      delete process.env.FRAUD_ASSISTANT_API_KEY;
      const code = await rulesDraft([REQUEST, '--input', file, '--owner', 'fraud-analytics']);
      expect(code).toBe(0);
    } finally {
      log.mockRestore();
      error.mockRestore();
      process.env = saved;
    }
    const stdout = out.join('\n');
    expect(stdout).toMatch(/^ {2}- id: amount_over_220$/m);
    expect(stdout).toMatch(/rule hits +\d+: frauds caught \d+, false positives 0/);
    expect(err.join('\n')).toMatch(/attempt 1\/3 rejected: draft:line 1:column \d+ rule 'amount_over_220': CEL: /);
    console.log(`${err.join('\n')}\n${stdout}`);
  });
});
