/**
 * The review queue in a real Chromium: REVIEW decisions stored by the audit writer become cases;
 * an analyst opens the queue, claims a case, reads it (explained by the assistant through the
 * real openai client against a local fake), submits "fraud" with a note; the case leaves the
 * open queue and the label reaches Kafka through the outbox relay. A second analyst cannot claim
 * a case someone holds. The decisions search finds a card's decisions. Screenshots of the three
 * pages go to docs/console/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { openAIChat } from '../../src/assistant/client.js';
import { claimCase } from '../../src/cases/claims.js';
import { giveVerdict } from '../../src/cases/verdicts.js';
import { inTransaction } from '../../src/storage/pool.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../src/events/time.js';
import type { LabelEvent } from '../../src/events/types.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import { listActions } from '../../src/identity/action-log.js';
import { launchChromium, screenshot, signIn } from '../helpers/browser.js';
import { caseFeatures, decisionOf, seedDecisions } from '../helpers/cases.js';
import { startTestConsole, type TestConsole, type TestUser } from '../helpers/console.js';
import { codecsFor, createTopics, deleteTopics, kafkaFor, TopicReader } from '../helpers/engine.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { uniqueName } from '../helpers/stack.js';

describe('console: review queue, case and verdict in Chromium', () => {
  const run = uniqueName('rq');
  const card = `tok_${run}_a`;
  // Older than anything else a test leaves behind: these are the first cases of the open queue.
  const OLD = 40 * DAY_MS;
  let c: TestConsole;
  let fake: FakeOpenAI;
  let browser: Browser;
  let labels: TopicReader<LabelEvent>;
  let second: TestUser;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    c = await startTestConsole({
      deps: (d) => ({
        ...d,
        chat: openAIChat({ model: 'fake-explainer', apiKey: 'test', baseURL: fake.baseURL, timeoutMs: 10_000 }),
      }),
    });
    await createTopics(c.cfg, 1);
    const codecs = await codecsFor(c.cfg);
    labels = await new TopicReader<LabelEvent>(kafkaFor(c.cfg), c.cfg.kafka.topic_labels, (b) =>
      codecs.decodeLabel(b),
    ).start();
    const history = [1, 2, 3, 4, 5].map((i) =>
      decisionOf(run, 100 + i, {
        card,
        agoMs: OLD + (10 - i) * HOUR_MS,
        outcome: 'APPROVE',
        features: caseFeatures({ tx_amount: 20 + i }),
      }),
    );
    await seedDecisions(c.deps.pool, [
      ...history,
      decisionOf(run, 1, {
        card,
        agoMs: OLD + 2 * HOUR_MS,
        score: 0.71,
        features: caseFeatures({ tx_amount: 480 }),
        factors: [
          { feature: 'tx_amount', value: 480, contribution: 2.3456 },
          { feature: 'customer_device_seen_before', value: null, contribution: -0.5 },
        ],
        challenger: { score: 0.4237, version: 'lgbm-challenger-2' },
      }),
      decisionOf(run, 2, { card: `tok_${run}_b`, agoMs: OLD + HOUR_MS, cust: `${run}-cust-b` }),
      decisionOf(run, 3, {
        card,
        agoMs: OLD + 30 * MINUTE_MS,
        rule: 'velocity_card',
        challenger: { score: null, version: 'lgbm-challenger-2' },
      }),
      decisionOf(run, 4, { card, agoMs: OLD + 20 * MINUTE_MS }),
    ]);
    second = await c.addUser(['analyst']);
    browser = await launchChromium();
  });
  afterAll(async () => {
    // Leave no open case behind for the next run's queue.
    for (const i of [1, 2, 3, 4]) {
      const authId = `${run}-${i}`;
      await inTransaction(c.deps.pool, (db) =>
        claimCase(db, { authId, to: 'test-cleanup', ttlMs: MINUTE_MS, force: true }),
      ).catch(() => undefined);
      await giveVerdict(c.deps.pool, {
        authId,
        by: 'test-cleanup',
        verdict: 'legitimate',
        note: '',
        topic: c.cfg.kafka.topic_labels,
        claimTtlMs: MINUTE_MS,
      }).catch(() => undefined);
    }
    await browser?.close();
    await labels?.stop();
    await c?.close();
    await deleteTopics(c.cfg);
    await fake?.close();
  });

  const row = (page: Page, authId: string) => page.locator(`tr[data-case="${authId}"]`);

  it('an analyst claims a case from the queue, reads it, and submits "fraud": the label reaches Kafka', async () => {
    const page = await browser.newPage();
    await signIn(page, c.url, c.analyst.username, c.analyst.password);
    const res = await page.goto(`${c.url}/queue`);
    expect(res!.headers()['server-timing']).toMatch(/db;dur=[\d.]+, render;dur=[\d.]+, total;dur=/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Review queue');
    // Oldest first: our three cases lead the queue, each past the SLA.
    const ids = await page.locator('tr[data-case]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-case')));
    expect(ids.filter((id) => id?.startsWith(`${run}-`))).toEqual([1, 2, 3, 4].map((i) => `${run}-${i}`));
    await expect.poll(() => row(page, `${run}-1`).textContent()).toContain('overdue');
    // Keyboard: j moves to the next case, k back.
    const focused = () => page.evaluate<string | undefined>('document.activeElement?.textContent');
    await page.keyboard.press('j');
    expect(await focused()).toBe(ids[0]);
    await page.getByRole('link', { name: `${run}-1` }).focus();
    await page.keyboard.press('j');
    expect(await focused()).toBe(ids[ids.indexOf(`${run}-1`) + 1]);
    await page.keyboard.press('k');
    expect(await focused()).toBe(`${run}-1`);
    await screenshot(page, 'queue');

    await Promise.all([
      page.waitForURL((u) => u.pathname === `/cases/${run}-1`),
      page.getByRole('button', { name: `Claim ${run}-1` }).click(),
    ]);
    expect(await page.locator('#claim-state').textContent()).toContain(`Claimed by ${c.analyst.username}`);
    // The case: the authorization, rule hits active and shadow, features beside the customer's usual.
    expect(await page.getByRole('region', { name: 'Rule hits' }).textContent()).toMatch(/night_burst[\s\S]*shadow/);
    const amountRow = page.locator('table.features tr', { has: page.getByRole('rowheader', { name: /^tx_amount/ }) });
    expect((await amountRow.locator('td').allTextContents()).map((t) => t.trim())).toEqual(['480', '23', '5']);
    expect(await amountRow.textContent()).toContain('unusual');
    // Every feature the engine serves is listed by name, the newest (terminal_known_fraud_age) too.
    const featureNames = await page.locator('table.features tbody th[scope="row"]').allTextContents();
    expect(featureNames.map((t) => t.replace(/\s*unusual$/, '').trim()).sort()).toEqual([...FEATURE_NAMES].sort());
    expect(await page.locator('ol.timeline li.current').first().textContent()).toContain('this one');
    // The challenger's score beside the model's (it never decided).
    const authorization = page.getByRole('region', { name: 'Authorization' });
    expect((await authorization.textContent())!.replace(/\s+/g, ' ')).toContain(
      'Challenger score 0.424 (lgbm-challenger-2; never decides)',
    );
    // The model's top factors, in order, a missing value said so.
    const factorRows = page.getByRole('region', { name: 'Model factors' }).locator('tbody tr');
    expect((await factorRows.allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim())).toEqual([
      'tx_amount 480 +2.346 raises risk',
      'customer_device_seen_before missing -0.500 lowers risk',
    ]);

    await page.getByRole('button', { name: 'Explain' }).click();
    await expect.poll(() => page.locator('#explanation').textContent()).toContain('REVIEW (score 0.71)');
    expect(fake.requests).toHaveLength(1);

    const verdict = page.getByRole('region', { name: 'Verdict', exact: true });
    await verdict.getByLabel('fraud', { exact: true }).check();
    await verdict.getByLabel('Note').fill('Cardholder says the card was stolen.');
    await screenshot(page, 'case');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/queue'),
      verdict.getByRole('button', { name: 'Submit verdict' }).click(),
    ]);
    expect(await page.getByRole('status').first().textContent()).toContain('Verdict saved');
    expect(await row(page, `${run}-1`).count()).toBe(0);
    await page.goto(`${c.url}/queue?state=decided`);
    expect(await row(page, `${run}-1`).textContent()).toContain(c.analyst.username);

    await labels.waitFor((items) => items.some((m) => m.value.auth_id === `${run}-1`));
    const label = labels.items.find((m) => m.value.auth_id === `${run}-1`)!;
    expect(label.value).toMatchObject({ card_token: card, fraud: true, source: 'analyst', customer_id: `${run}-cust` });
    expect(label.raw!.toString('latin1')).not.toContain('Cardholder says'); // the note stays in PostgreSQL
    const log = await listActions(c.deps.pool, { actor: c.analyst.username, subject: `${run}-1` });
    expect(log.map((a) => a.action)).toEqual(['case.verdict', 'case.explain', 'case.claim']);
    await page.close();
  });

  it('a second analyst cannot claim a case someone holds', async () => {
    const first = await browser.newPage();
    await signIn(first, c.url, c.analyst.username, c.analyst.password);
    await first.goto(`${c.url}/queue`);
    await Promise.all([
      first.waitForURL((u) => u.pathname === `/cases/${run}-2`),
      first.getByRole('button', { name: `Claim ${run}-2` }).click(),
    ]);
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, c.url, second.username, second.password);
    await page.goto(`${c.url}/queue`);
    expect(await row(page, `${run}-2`).textContent()).toContain(`claimed by ${c.analyst.username}`);
    expect(await row(page, `${run}-2`).getByRole('button').count()).toBe(0);
    // The case page offers no verdict to them, and a forged claim is refused with the reason.
    await page.goto(`${c.url}/cases/${run}-2`);
    expect(await page.getByRole('main').textContent()).toContain(`${c.analyst.username} is working this case`);
    expect(await page.getByRole('button', { name: 'Submit verdict' }).count()).toBe(0);
    const csrf = (await page.locator('meta[name="csrf-token"]').getAttribute('content'))!;
    const claim = await page.request.post(`${c.url}/cases/${run}-2/claim`, {
      headers: { 'x-csrf-token': csrf, accept: 'application/json' },
      data: {},
    });
    expect(claim.status()).toBe(409);
    expect((await claim.json()).error).toContain(`claimed by ${c.analyst.username}`);
    const verdict = await page.request.post(`${c.url}/cases/${run}-2/verdict`, {
      headers: { 'x-csrf-token': csrf, accept: 'application/json' },
      data: { verdict: 'legitimate', note: '' },
    });
    expect(verdict.status()).toBe(409);
    expect((await listActions(c.deps.pool, { actor: second.username, subject: `${run}-2` })).length).toBe(0);
    await ctx.close();
    await first.close();
  });

  it("a bulk verdict decides the card's open cases; a verdict on a decided case is refused", async () => {
    const page = await browser.newPage();
    await signIn(page, c.url, c.analyst.username, c.analyst.password);
    await page.goto(`${c.url}/cases/${run}-3`);
    const bulk = page.getByRole('region', { name: /Bulk verdict/ });
    expect(await bulk.getByLabel(new RegExp(`^${run}-4`)).isChecked()).toBe(true);
    await bulk.getByLabel('legitimate', { exact: true }).check();
    await bulk.getByLabel('Note').fill('Known customer, travelling.');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/queue'),
      bulk.getByRole('button', { name: 'Apply to selected cases' }).click(),
    ]);
    expect(await page.getByRole('status').first().textContent()).toContain('Bulk verdict saved');
    expect(await row(page, `${run}-3`).count()).toBe(0);
    expect(await row(page, `${run}-4`).count()).toBe(0);
    const bulkIds = [`${run}-3`, `${run}-4`];
    await labels.waitFor((items) => items.filter((m) => bulkIds.includes(m.value.auth_id)).length === 2);
    expect(labels.items.filter((m) => m.value.auth_id === `${run}-4`).map((m) => m.value.fraud)).toEqual([false]);
    // Someone else's verdict on a decided case: refused with who decided it, nothing changed.
    const ctx = await browser.newContext();
    const other = await ctx.newPage();
    await signIn(other, c.url, second.username, second.password);
    await other.goto(`${c.url}/cases/${run}-1`);
    expect(await other.getByRole('status').first().textContent()).toContain('This case is decided');
    const csrf = (await other.locator('meta[name="csrf-token"]').getAttribute('content'))!;
    const res = await other.request.post(`${c.url}/cases/${run}-1/verdict`, {
      headers: { 'x-csrf-token': csrf, accept: 'application/json' },
      data: { verdict: 'legitimate', note: 'mine' },
    });
    expect(res.status()).toBe(409);
    expect((await res.json()).error).toContain(`already decided (fraud) by ${c.analyst.username}`);
    const verdicts = await c.deps.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM case_verdicts WHERE auth_id = $1`,
      [`${run}-1`],
    );
    expect(verdicts.rows[0]!.n).toBe(1);
    await ctx.close();
    await page.close();
  });

  it("the decisions search finds a card's decisions and opens one", async () => {
    const page = await browser.newPage();
    await signIn(page, c.url, c.analyst.username, c.analyst.password);
    await page.goto(`${c.url}/decisions`);
    await page.getByLabel('Card token').fill(card);
    await page.getByLabel('Outcome').selectOption('');
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/decisions?')),
      page.getByRole('button', { name: 'Search' }).click(),
    ]);
    expect(res.headers()['server-timing']).toContain('db;dur=');
    const found = await page.locator('table.results tbody tr td:nth-child(2)').allTextContents();
    // Newest first: the three cases, then the card's earlier approvals.
    expect(found).toEqual([4, 3, 1, 105, 104, 103, 102, 101].map((i) => `${run}-${i}`));
    await screenshot(page, 'decisions');
    await page.getByLabel('Rule id').fill('velocity_card');
    await Promise.all([page.waitForURL(/rule=velocity_card/), page.getByRole('button', { name: 'Search' }).click()]);
    expect(await page.locator('table.results tbody tr td:nth-child(2)').allTextContents()).toEqual([`${run}-3`]);
    await Promise.all([
      page.waitForURL((u) => u.pathname === `/decisions/${run}-3`),
      page.getByRole('link', { name: `${run}-3` }).click(),
    ]);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Decision ${run}-3`);
    expect(await page.getByRole('link', { name: 'Open as a review case' }).count()).toBe(1);
    // A challenger that ran but gave no score says so; a decision without a challenger shows no such row.
    const authorization = page.getByRole('region', { name: 'Authorization' });
    expect((await authorization.textContent())!.replace(/\s+/g, ' ')).toContain(
      'Challenger score - (lgbm-challenger-2; failed or timed out; never decides)',
    );
    await page.goto(`${c.url}/decisions/${run}-4`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Decision ${run}-4`);
    expect(await page.getByRole('region', { name: 'Authorization' }).textContent()).not.toContain('Challenger');
    // A bad time range: a clear message, nothing searched.
    const bad = await page.goto(`${c.url}/decisions?from=2026-02-01T00:00&to=2026-01-01T00:00`);
    expect(bad!.status()).toBe(400);
    expect(await page.getByRole('alert').textContent()).toContain('"from" must be before "to"');
    await page.close();
  });
});
