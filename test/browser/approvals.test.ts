/**
 * The approvals page in a real Chromium: an analyst's new version waits with its diff; the
 * analyst cannot approve it, an approver cannot approve their own list change (a clear refusal,
 * nothing changed); another approver approves the version and a running rules source
 * (PgRulesetSource, as the engines use it) takes it up — the delay is printed; a reject needs its
 * reason; the decisions are in the history and the action log.
 */
import type { Browser, Page } from 'playwright-core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listActions } from '../../src/identity/action-log.js';
import { loadRulesetFiles } from '../../src/rules/load.js';
import { PgRulesetSource } from '../../src/rules/pg-source.js';
import { launchChromium, screenshot, signIn } from '../helpers/browser.js';
import { startTestConsole, type TestConsole, type TestUser } from '../helpers/console.js';
import { uniqueName } from '../helpers/stack.js';

const defaults = loadRulesetFiles('config/rules');

describe('console: four-eyes approvals in Chromium', () => {
  let c: TestConsole;
  let browser: Browser;
  let source: PgRulesetSource;
  let approver2: TestUser;
  const version = uniqueName('ui').slice(0, 60);
  const terminal = uniqueName('T-ui');
  let listRequest = 0;

  const signedIn = async (u: TestUser): Promise<Page> => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, c.url, u.username, u.password);
    await page.goto(`${c.url}/approvals`);
    return page;
  };
  const csrfOf = async (page: Page) => (await page.locator('meta[name="csrf-token"]').getAttribute('content'))!;

  beforeAll(async () => {
    c = await startTestConsole();
    browser = await launchChromium();
    approver2 = await c.addUser(['approver']);
    source = await PgRulesetSource.start({
      postgres: c.cfg.postgres,
      pollIntervalMs: 1_000,
      fallbackDir: 'config/rules',
      log: pino({ level: 'silent' }),
    });
    // In force first: the shipped rules (approved by the second approver), the diff's base.
    const base = await c.deps.ruleApprovals.store.publish(
      { ...defaults, version: `${version}-base` },
      { author: c.analyst.username, comment: 'base' },
    );
    await c.deps.ruleApprovals.approve(base.version, { by: approver2.username });
    // The analyst proposes a version with one more rule and a lower review threshold.
    await c.deps.ruleApprovals.store.publish(
      {
        ...defaults,
        version,
        thresholds: { ...defaults.thresholds, review: defaults.thresholds.review + 0.05 },
        rules: [
          ...defaults.rules,
          {
            id: 'ui_marker',
            description: 'browser test',
            expression: 'tx.amount_minor == 434343',
            action: 'DECLINE',
            priority: 10,
            mode: 'active',
            owner: 'ui',
          },
        ],
      },
      { author: c.analyst.username, comment: 'decline the 4343.43 pattern' },
    );
    // An approver's own list change.
    listRequest = (
      await c.deps.ruleApprovals.requestListChange('block_terminal', terminal, 'add', {
        by: c.approver.username,
        comment: 'skimmer reported',
      })
    ).id;
  });

  afterAll(async () => {
    await source?.stop();
    await browser?.close();
    await c?.close();
  });

  it('the author (an analyst) sees the request and its diff but cannot approve it', async () => {
    const page = await signedIn(c.analyst);
    const req = page.getByRole('article', { name: `New version ${version}` });
    await expect.poll(() => req.textContent()).toContain('decline the 4343.43 pattern');
    const diff = req.getByRole('table', { name: `Changes from ${version}-base to ${version}` });
    expect(await diff.getByRole('row', { name: /added ui_marker/ }).count()).toBe(1);
    expect(await diff.getByRole('row', { name: /threshold review/ }).count()).toBe(1);
    expect(await req.getByRole('button', { name: `Approve ${version}` }).count()).toBe(0);
    expect(await req.textContent()).toContain('needs the approver role');
    // A forged POST with a valid CSRF token: refused by role, nothing changed.
    const res = await page.request.post(`${c.url}/approvals/rulesets/${version}/approve`, {
      form: { _csrf: await csrfOf(page) },
      maxRedirects: 0,
    });
    expect(res.status()).toBe(403);
    expect(await res.text()).toContain(`This needs the approver role; ${c.analyst.username} does not have it.`);
    expect((await c.deps.ruleApprovals.store.meta(version))!.status).toBe('pending');
    await page.context().close();
  });

  it('an approver cannot approve their own request: a clear refusal, nothing changed', async () => {
    const page = await signedIn(c.approver);
    const own = page.getByRole('article', { name: new RegExp(`Request ${listRequest}: add`) });
    expect(await own.textContent()).toContain('You requested this change: another approver must approve or reject it');
    expect(await own.getByRole('button').count()).toBe(0);
    const res = await page.request.post(`${c.url}/approvals/lists/${listRequest}/approve`, {
      form: { _csrf: await csrfOf(page) },
      maxRedirects: 0,
    });
    expect(res.status()).toBe(403);
    expect(await res.text()).toContain(
      `${c.approver.username} requested list change ${listRequest}: another approver must decide it (four eyes). Nothing was changed.`,
    );
    expect((await c.deps.ruleApprovals.pendingListChanges()).map((r) => r.id)).toContain(listRequest);
    await page.context().close();
  });

  it("another approver approves the analyst's version and a running rules source takes it up", async () => {
    const page = await signedIn(c.approver);
    const req = page.getByRole('article', { name: `New version ${version}` });
    await req.getByLabel('Comment (required to reject)').fill('checked the backtest');
    await screenshot(page, 'approvals');
    expect(source.current().version).not.toBe(version);
    const t0 = performance.now();
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('done') === 'approved-ruleset'),
      req.getByRole('button', { name: `Approve ${version}` }).click(),
    ]);
    const answered = performance.now() - t0;
    expect(await page.getByRole('status').textContent()).toContain(`Approved: ${version} is the active ruleset`);
    await expect.poll(() => source.current().version, { timeout: 10_000, interval: 5 }).toBe(version);
    const pickedUp = performance.now() - t0;
    console.log(
      `approvals: approve clicked -> page answered ${answered.toFixed(0)} ms; rules source on ${version} ${pickedUp.toFixed(0)} ms after the click (${(pickedUp - answered).toFixed(0)} ms after the answer)`,
    );
    expect(source.current().active.some((r) => r.def.id === 'ui_marker')).toBe(true);
    const meta = (await c.deps.ruleApprovals.store.meta(version))!;
    expect([meta.status, meta.author, meta.approved_by]).toEqual(['active', c.analyst.username, c.approver.username]);
    // Decided: gone from the waiting list, in the history.
    expect(await page.getByRole('article', { name: `New version ${version}` }).count()).toBe(0);
    const history = page.getByRole('region', { name: 'Decided' });
    expect(await history.getByRole('row', { name: new RegExp(`new version ${version} .* approved`) }).count()).toBe(1);
    await page.context().close();
  });

  it('a second approver rejects the list change, and only with a reason', async () => {
    const page = await signedIn(approver2);
    const req = page.getByRole('article', { name: new RegExp(`Request ${listRequest}: add`) });
    await Promise.all([
      page.waitForURL((u) => u.pathname.endsWith('/reject')),
      req.getByRole('button', { name: `Reject request ${listRequest}` }).click(),
    ]);
    expect(await page.getByRole('alert').textContent()).toContain('Say why in the comment to reject a request');
    await page.goto(`${c.url}/approvals`);
    await req.getByLabel('Comment (required to reject)').fill('no evidence attached');
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('done') === 'rejected-list'),
      req.getByRole('button', { name: `Reject request ${listRequest}` }).click(),
    ]);
    expect(await page.getByRole('status').textContent()).toContain(`Rejected list change ${listRequest}`);
    expect(source.current().lists.block_terminal.has(terminal)).toBe(false);
    expect((await c.deps.ruleApprovals.store.lists()).block_terminal ?? []).not.toContain(terminal);
    const history = page.getByRole('region', { name: 'Decided' });
    expect(
      await history.getByRole('row', { name: new RegExp(`add ${terminal} to block_terminal .* rejected`) }).count(),
    ).toBe(1);
    const log = await listActions(c.deps.pool, { subject: `list:block_terminal/${terminal}` });
    expect(log.map((e) => [e.actor, e.action])).toEqual([
      [approver2.username, 'list.reject'],
      [c.approver.username, 'list.request'],
    ]);
    const rs = await listActions(c.deps.pool, { subject: version });
    expect(rs.map((e) => [e.actor, e.action])).toEqual([
      [c.approver.username, 'ruleset.approve'],
      [c.analyst.username, 'ruleset.submit'],
    ]);
    await page.context().close();
  });
});
