/**
 * The console's rules area in a real Chromium: versions with the active one marked, shadow rules'
 * hit rates from the audit trail, a draft edited with live validation (the compiler's message at
 * the line and column), a backtest on a window of a simulated history whose figures are those of
 * the backtest library itself, and a submission that publishes a version authored by the
 * signed-in person.
 */
import { createWriteStream, mkdtempSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { activeRuleset } from '../../src/console/rules/backtest.js';
import { listActions } from '../../src/identity/action-log.js';
import { backtestRulesets } from '../../src/pipelines/replay/backtest.js';
import { selectWindow } from '../../src/pipelines/replay/backtest-window.js';
import { compileRuleset } from '../../src/rules/compile.js';
import { RuleLists } from '../../src/rules/context.js';
import { loadRulesetFiles, loadRulesetText } from '../../src/rules/load.js';
import { simulate, writeSimulation } from '../../src/simulator/index.js';
import { launchChromium, screenshot, signIn } from '../helpers/browser.js';
import { startTestConsole, type TestConsole } from '../helpers/console.js';
import { fourEyes } from '../helpers/four-eyes.js';
import { testConfig } from '../helpers/engine.js';

const NEW_RULE = [
  '  - id: ui_big_amount',
  '    description: big amounts at night',
  '    expression: tx.amount > 150.0 && tx.amout > 0.0',
  '    action: REVIEW',
  '    priority: 500',
  '    mode: active',
  '    owner: ui-test',
];

describe('console: rules in Chromium', () => {
  let c: TestConsole;
  let browser: Browser;
  let page: Page;
  const sim = simulate({ customers: 120, terminals: 240, days: 10, seed: 21, start: '2018-04-01' });
  const tag = `ui${Date.now().toString(36)}`;
  const shadowRule = `shadow_${tag}`;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-rules-'));
    const history = join(dir, 'history.csv');
    const out = createWriteStream(history);
    await writeSimulation(sim, out, 'csv');
    out.end();
    await once(out, 'close');
    c = await startTestConsole({ cfg: testConfig({ FRAUD_CONSOLE_HISTORY_FILE: history }) });
    // An active version with a shadow rule of this run: published by one person, approved by another.
    const files = loadRulesetFiles('config/rules');
    const def = {
      ...files,
      rules: [
        ...files.rules,
        {
          id: shadowRule,
          description: '',
          expression: 'tx.amount > 5000.0',
          action: 'REVIEW' as const,
          priority: 1,
          mode: 'shadow' as const,
          owner: 'ui-test',
        },
      ],
    };
    await (
      await fourEyes(c.deps.pool, c.deps.rules.store, tag)
    ).publishActive(def, {
      version: tag,
      comment: 'baseline of the rules UI test',
    });
    browser = await launchChromium();
    page = await browser.newPage();
    await signIn(page, c.url, c.analyst.username, c.analyst.password);
  });
  afterAll(async () => {
    await browser?.close();
    await c?.close();
  });

  it('lists the versions with the active one marked, and the shadow rules’ hit rates of the last 24 hours', async () => {
    const count = async () =>
      Number(
        (
          await c.deps.pool.query<{ n: string }>(
            `SELECT count(*) AS n FROM decision_audit WHERE event_time >= now() - interval '24 hours'`,
          )
        ).rows[0]!.n,
      );
    // Three decisions of the last hour, one with a shadow hit of the probe rule.
    for (let i = 0; i < 3; i++) {
      const hits = i === 0 ? [{ rule_id: shadowRule, action: 'REVIEW', mode: 'SHADOW' }] : [];
      await c.deps.pool.query(
        `INSERT INTO decision_audit (auth_id, event_time, card_token, outcome, rule_hits, model_version, ruleset_version, decided_time)
         VALUES ($1, now() - interval '1 hour', 'tok', 'APPROVE', $2, 'm', $3, now())`,
        [`${tag}-${i}`, JSON.stringify(hits), tag],
      );
    }
    const decisions = await count();
    await page.goto(`${c.url}/rules`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Rules');
    const row = page.locator(`tr[data-version="${tag}"]`);
    expect(await row.getAttribute('class')).toBe('active-version');
    expect(await row.locator('td').first().textContent()).toContain('active');
    const shadow = page.locator(`table.shadow-rates tr[data-rule="${shadowRule}"] td`);
    expect(await shadow.allTextContents()).toEqual(['1', String(decisions), `${(100 / decisions).toFixed(2)} %`]);
    await screenshot(page, 'rules');

    await row.getByRole('link', { name: tag, exact: true }).click();
    await page.waitForURL((u) => u.pathname === `/rules/${tag}`);
    expect(await page.locator(`tr[data-rule="${shadowRule}"] td`).allTextContents()).toEqual([
      'tx.amount > 5000.0',
      'REVIEW',
      'shadow',
      '1',
    ]);
    expect(await page.locator('main p').first().textContent()).toContain('active');
  });

  let draftUrl = '';
  it('shows the compiler’s message at the line and column while typing, and the changes once it compiles', async () => {
    await page.goto(`${c.url}/rules`);
    await page.getByRole('link', { name: 'New draft from the active version' }).click();
    await page.waitForURL((u) => u.pathname === '/rules/drafts/new');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.waitForURL((u) => /^\/rules\/drafts\/\d+$/.test(u.pathname));
    draftUrl = page.url().split('?')[0]!;
    expect(await page.getByRole('status').first().textContent()).toContain('Draft saved');

    const editor = page.getByLabel(/Ruleset \(YAML/);
    const text = (await editor.inputValue()).trimEnd() + '\n' + NEW_RULE.join('\n') + '\n';
    const lines = text.split('\n');
    const line = lines.findIndex((l) => l.includes('tx.amout')) + 1;
    const exprColumn = lines[line - 1]!.indexOf('tx.amount') + 1;
    await editor.fill(text);
    const status = page.locator('#draft-status');
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toContain('amout');
    const message = (await status.textContent())!.trim();
    const m = /line (\d+), column (\d+): rule 'ui_big_amount': CEL: /.exec(message);
    expect(m, message).not.toBeNull();
    expect(Number(m![1])).toBe(line);
    // The column is in the expression, at or after `tx.amout`'s start, on that line of the text.
    const column = Number(m![2]);
    expect(column).toBeGreaterThanOrEqual(exprColumn + 'tx.amount > 150.0 && '.length);
    expect(column).toBeLessThanOrEqual(exprColumn + 'tx.amount > 150.0 && tx.amout'.length);
    expect(await editor.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#draft-pointer-line').textContent()).toContain(`${line}:     expression:`);
    await page.getByRole('button', { name: 'Go to the error' }).click();
    const caret = await editor.evaluate((el) => (el as unknown as { selectionStart: number }).selectionStart);
    expect(text.slice(0, caret).split('\n').length).toBe(line);
    await screenshot(page, 'rule-editor');

    await editor.fill(text.replace('tx.amout > 0.0', 'tx.amount < 5000.0'));
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toContain('Compiles');
    expect(await editor.getAttribute('aria-invalid')).toBeNull();
    expect(await page.locator('#draft-diff').textContent()).toContain('+ ui_big_amount [active REVIEW priority 500]');
  });

  it('runs a backtest on a window of the history with the figures of the backtest library', async () => {
    expect(draftUrl).not.toBe('');
    // The window proposed: the history's last week (its last row is on 2018-04-10).
    expect(await page.locator('fieldset.backtest').textContent()).toContain(
      'The history covers 2018-04-01 to 2018-04-10',
    );
    expect(await page.getByLabel('From (UTC, included)').inputValue()).toBe('2018-04-04');
    expect(await page.getByLabel('To (UTC, not included)').inputValue()).toBe('2018-04-11');
    // Refused windows first: each a clear message, nothing run.
    await page.getByLabel('From (UTC, included)').fill('2018-01-01');
    await page.getByLabel('To (UTC, not included)').fill('2018-03-01');
    await page.getByRole('button', { name: 'Run backtest' }).click();
    const results = page.locator('#backtest-results');
    await expect.poll(() => results.textContent()).toContain('longer than the 31 days allowed');
    await page.getByLabel('To (UTC, not included)').fill('2018-01-08');
    await page.getByRole('button', { name: 'Run backtest' }).click();
    await expect.poll(() => results.textContent(), { timeout: 20_000 }).toContain('No transactions in');

    await page.getByLabel('From (UTC, included)').fill('2018-04-03');
    await page.getByLabel('To (UTC, not included)').fill('2018-04-08');
    await page.getByRole('button', { name: 'Run backtest' }).click();
    await results.locator('table.backtest-totals').waitFor({ timeout: 60_000 });

    // The same computation through the library, on the same window, rulesets, lists and model.
    const draft = loadRulesetText(await page.getByLabel(/Ruleset \(YAML/).inputValue());
    const base = await activeRuleset(c.deps.rules);
    const lists = new RuleLists(await c.deps.rules.store.lists());
    const w = { from: Date.parse('2018-04-03T00:00:00Z'), to: Date.parse('2018-04-08T00:00:00Z') };
    const expected = await backtestRulesets({
      input: '',
      records: selectWindow(sim.transactions(), w),
      baseline: compileRuleset(base.def, lists, c.deps.rules.limits),
      baselineSource: '',
      proposed: compileRuleset(draft, lists, c.deps.rules.limits),
      proposedSource: '',
      scorer: await c.deps.rules.scorer(),
      measureCosts: false,
    });
    expect(expected.transactions).toBeGreaterThan(0);
    const metric = (k: string, scope = results) => scope.locator(`[data-metric="${k}"]`).first().textContent();
    expect(await metric('transactions')).toBe(String(expected.transactions));
    expect(await metric('outcome_changes')).toBe(String(expected.outcome_changes));
    expect(await metric('frauds_stopped.base')).toBe(String(expected.frauds_stopped.base));
    expect(await metric('frauds_stopped.new')).toBe(String(expected.frauds_stopped.new));
    expect(await metric('false_positives.base')).toBe(String(expected.false_positives.base));
    expect(await metric('false_positives.new')).toBe(String(expected.false_positives.new));
    const rule = expected.rules.find((r) => r.id === 'ui_big_amount')!;
    expect(rule.hits.new).toBeGreaterThan(0);
    const row = results.locator('tr[data-rule="ui_big_amount"]');
    expect(await metric('hits', row)).toBe(`0 → ${rule.hits.new}`);
    expect(await metric('outcome_changes', row)).toBe(String(rule.outcome_changes));
    expect(await results.getByRole('img', { name: /Frauds caught and good payments stopped/ }).count()).toBe(1);
    expect(await results.getByRole('img', { name: /Hits per rule/ }).count()).toBe(1);
    await screenshot(page, 'backtest');
    // Without the page's script: the form's POST waits for the same job and renders the results.
    const csrf = (await page.locator('meta[name="csrf-token"]').getAttribute('content'))!;
    const res = await page.request.post(`${draftUrl}/backtest`, {
      form: { _csrf: csrf, from: '2018-04-03', to: '2018-04-08' },
    });
    expect(res.status()).toBe(200);
    expect(await res.text()).toContain(`data-metric="transactions">${expected.transactions}</strong>`);
    const actions = await listActions(c.deps.pool, { actor: c.analyst.username });
    expect(actions.filter((a) => a.action === 'ruleset.backtest')).toHaveLength(2);
  });

  it('submits the draft as a new version authored by the signed-in person', async () => {
    const version = `${tag}-2`;
    await page.goto(draftUrl);
    await page.getByLabel('Version id').fill(version);
    await page.getByLabel('Why (kept with the version)').fill('review big amounts');
    await page.getByRole('button', { name: 'Submit for approval' }).click();
    await page.waitForURL((u) => u.searchParams.get('submitted') === version);
    expect(await page.getByRole('status').first().textContent()).toContain(`Submitted as version ${version}`);
    const { rows } = await c.deps.pool.query<{ author: string; comment: string; status: string }>(
      'SELECT author, comment, status FROM rulesets WHERE version = $1',
      [version],
    );
    expect(rows).toEqual([{ author: c.analyst.username, comment: 'review big amounts', status: 'pending' }]);
    const rules = await c.deps.rules.store.require(version);
    expect(rules.def.rules.map((r) => r.id)).toContain('ui_big_amount');
    const submitted = await listActions(c.deps.pool, { actor: c.analyst.username });
    expect(submitted.some((a) => a.action === 'ruleset.submit' && a.subject === version)).toBe(true);
    // Its page: the rules, and what it changes from the active version.
    await page.goto(`${c.url}/rules/${version}`);
    expect(await page.locator('#version-diff').textContent()).toContain(
      '+ ui_big_amount [active REVIEW priority 500]: tx.amount > 150.0 && tx.amount < 5000.0',
    );
    await page.goto(draftUrl);
    // The same version again: refused with the reason, nothing changed.
    await page.getByLabel('Version id').fill(version);
    await page.getByLabel('Why (kept with the version)').fill('again');
    await page.getByRole('button', { name: 'Submit for approval' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('already exists');
    // A saved draft that does not compile: refused, no version.
    const csrf = (await page.locator('meta[name="csrf-token"]').getAttribute('content'))!;
    const broken = `version: ${tag}-3\nthresholds: {review: 0.5}\n`;
    await page.request.post(draftUrl, { form: { _csrf: csrf, content: broken } });
    const refused = await page.request.post(`${draftUrl}/submit`, {
      form: { _csrf: csrf, version: `${tag}-3`, comment: 'broken' },
    });
    expect(refused.status()).toBe(422);
    expect(await refused.text()).toContain('The saved draft does not compile (line 2: thresholds:');
    expect(await c.deps.rules.store.meta(`${tag}-3`)).toBeNull();
  });
});
