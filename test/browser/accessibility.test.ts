/**
 * The console's accessibility in a real Chromium: every page, signed in as a person holding every
 * role (so every section renders) and with real content behind it, is checked by axe-core against
 * WCAG 2.0/2.1 A and AA; a failure lists each violation with its nodes so it can be fixed. Then the
 * keyboard: the skip link comes first in the tab order and moves focus to the content, the
 * navigation follows, and the sign-in form works with the keyboard alone.
 */
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimCase } from '../../src/cases/claims.js';
import { giveVerdict } from '../../src/cases/verdicts.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../src/events/time.js';
import { startHttp } from '../../src/observability/http.js';
import { createMetrics, setInfo } from '../../src/observability/metrics.js';
import { loadRulesetFiles } from '../../src/rules/load.js';
import { simulate, writeSimulation } from '../../src/simulator/index.js';
import { inTransaction } from '../../src/storage/pool.js';
import { launchChromium, signIn } from '../helpers/browser.js';
import { caseFeatures, decisionOf, seedDecisions } from '../helpers/cases.js';
import { startTestConsole, type TestConsole, type TestUser } from '../helpers/console.js';
import { createTopics, deleteTopics, testConfig } from '../helpers/engine.js';
import { fourEyes } from '../helpers/four-eyes.js';
import { uniqueName } from '../helpers/stack.js';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeNode {
  target: unknown[];
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: AxeNode[];
}

/** axe-core's WCAG 2.0/2.1 A and AA rules on the page as it is now: the violations, readable. */
async function violations(page: Page): Promise<string[]> {
  // page.evaluate is not subject to the page's CSP (a script tag would be refused).
  await page.evaluate(AXE_SOURCE);
  // A string expression: the test's TypeScript has no DOM types; the page has `axe` now.
  const found = await page.evaluate<AxeViolation[]>(
    `axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }).then((r) => r.violations)`,
  );
  return found.map(
    (v) =>
      `${v.id} (${v.impact}): ${v.help}\n` +
      v.nodes.map((n) => `    ${JSON.stringify(n.target)} ${(n.failureSummary ?? '').replace(/\s+/g, ' ')}`).join('\n'),
  );
}

/** WCAG's contrast ratio of two `rgb(r, g, b)` colours as getComputedStyle gives them. */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/[\d.]+/g) ?? []).slice(0, 3).map((x) => {
      const v = Number(x) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** The focused element's outline (style, width in px, colour) and the background it is drawn on. */
const RING = `(() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  // What is under the ring: the topmost element at a point of it (left of the element, mid-height).
  const x = Math.max(0, r.left - parseFloat(s.outlineOffset) - parseFloat(s.outlineWidth) / 2);
  let p = document.elementsFromPoint(x, r.top + r.height / 2).find((e) => e !== el && !el.contains(e));
  let bg = 'rgba(0, 0, 0, 0)';
  while (p && /rgba\\(.*, 0\\)|transparent/.test(bg)) { bg = getComputedStyle(p).backgroundColor; p = p.parentElement; }
  if (/rgba\\(.*, 0\\)|transparent/.test(bg)) bg = 'rgb(255, 255, 255)';
  return { style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor, bg };
})()`;

const defaults = loadRulesetFiles('config/rules');
const BROKEN_RULE = [
  '  - id: a11y_typo',
  '    description: a typo in a field name',
  '    expression: tx.amout > 0.0',
  '    action: REVIEW',
  '    priority: 500',
  '    mode: active',
  '    owner: a11y-test',
].join('\n');

describe('console: accessibility (axe-core WCAG 2.1 A/AA) and keyboard in Chromium', () => {
  const run = uniqueName('a11y');
  const card = `tok_${run}`;
  let c: TestConsole;
  let browser: Browser;
  let page: Page;
  let admin: TestUser;
  let engineHttp: Server;
  let draftPath = '';
  const active = `${run}-active`.slice(0, 60);
  const pending = `${run}-pending`.slice(0, 60);

  beforeAll(async () => {
    // The engine's metrics, so the overview shows its engine section too.
    const metrics = createMetrics({ defaultMetrics: false });
    setInfo(metrics.rulesetInfo, `pg:${active}`);
    setInfo(metrics.modelInfo, 'model-a11y');
    metrics.decisions.inc({ outcome: 'APPROVE' }, 12);
    engineHttp = await startHttp({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      readiness: { ready: () => ({ ok: true, checks: {} }) },
    });
    const metricsUrl = `http://127.0.0.1:${(engineHttp.address() as AddressInfo).port}/metrics`;
    // A small simulated history, so a backtest (its tables and charts) can run on the draft page.
    const history = join(mkdtempSync(join(tmpdir(), 'console-a11y-')), 'history.csv');
    const out = createWriteStream(history);
    await writeSimulation(
      simulate({ customers: 40, terminals: 80, days: 3, seed: 7, start: '2018-04-01' }),
      out,
      'csv',
    );
    out.end();
    await once(out, 'close');
    c = await startTestConsole({
      cfg: testConfig({ FRAUD_CONSOLE_HISTORY_FILE: history }),
      deps: (d) => ({ ...d, settings: { ...d.settings, engineMetricsUrl: metricsUrl } }),
    });
    admin = await c.addUser(['admin', 'analyst', 'approver']);
    await createTopics(c.cfg, 1); // the verdict's label goes to Kafka through the outbox
    // Decisions: an approved history of the card, REVIEW cases (one with the model's factors,
    // one past the SLA, one decided), a decline.
    await seedDecisions(c.deps.pool, [
      ...[1, 2, 3].map((i) =>
        decisionOf(run, 100 + i, {
          card,
          agoMs: 2 * DAY_MS + i * HOUR_MS,
          outcome: 'APPROVE',
          features: caseFeatures({ tx_amount: 20 + i }),
        }),
      ),
      decisionOf(run, 1, {
        card,
        agoMs: 3 * HOUR_MS,
        score: 0.71,
        features: caseFeatures({ tx_amount: 480 }),
        factors: [
          { feature: 'tx_amount', value: 480, contribution: 2.3456 },
          { feature: 'customer_device_seen_before', value: null, contribution: -0.5 },
        ],
      }),
      decisionOf(run, 2, { card, agoMs: 20 * MINUTE_MS, rule: 'velocity_card' }),
      decisionOf(run, 3, { card, agoMs: 10 * MINUTE_MS }),
      decisionOf(run, 4, { card, agoMs: 5 * MINUTE_MS, outcome: 'DECLINE', score: 0.93 }),
    ]);
    // One case held by someone else, one by the signed-in person (the verdict form shows).
    await inTransaction(c.deps.pool, (db) =>
      claimCase(db, { authId: `${run}-2`, to: c.analyst.username, ttlMs: HOUR_MS }),
    );
    await inTransaction(c.deps.pool, (db) => claimCase(db, { authId: `${run}-1`, to: admin.username, ttlMs: HOUR_MS }));
    await giveVerdict(c.deps.pool, {
      authId: `${run}-3`,
      by: c.analyst.username,
      verdict: 'legitimate',
      note: 'seen by the accessibility test',
      topic: c.cfg.kafka.topic_labels,
      claimTtlMs: c.deps.settings.claimTtlMs,
    });
    // Rules: a version in force (four eyes), a pending one and a pending list change for /approvals.
    const eyes = await fourEyes(c.deps.pool, c.deps.rules.store, run);
    await eyes.publishActive({ ...defaults, version: active }, { comment: 'in force' });
    await c.deps.ruleApprovals.store.publish(
      {
        ...defaults,
        version: pending,
        thresholds: { ...defaults.thresholds, review: defaults.thresholds.review + 0.05 },
      },
      { author: c.analyst.username, comment: 'a stricter review threshold' },
    );
    await c.deps.ruleApprovals.requestListChange('block_terminal', `T-${run}`, 'add', {
      by: c.analyst.username,
      comment: 'skimmer reported',
    });
    browser = await launchChromium();
    page = await browser.newPage();
    await signIn(page, c.url, admin.username, admin.password);
    // A draft, made the way a person makes one.
    await page.goto(`${c.url}/rules/drafts/new`);
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.waitForURL((u) => /^\/rules\/drafts\/\d+$/.test(u.pathname));
    draftPath = new URL(page.url()).pathname;
  });
  afterAll(async () => {
    for (const i of [1, 2]) {
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
    await c?.close();
    await deleteTopics(c.cfg);
    if (engineHttp?.listening) await new Promise((r) => engineHttp.close(r));
  });

  const pages = () => [
    '/',
    '/queue',
    `/cases/${run}-1`,
    `/cases/${run}-2`,
    `/cases/${run}-3`,
    '/decisions',
    `/decisions?card=${card}`,
    `/decisions/${run}-4`,
    '/rules',
    `/rules/${active}`,
    `/rules/${pending}`,
    '/rules/drafts/new',
    draftPath,
    '/approvals',
    '/activity',
  ];

  it('every page passes axe-core’s WCAG 2.1 A/AA rules', async () => {
    const failures: string[] = [];
    for (const path of pages()) {
      const res = await page.goto(`${c.url}${path}`);
      expect(res!.status(), path).toBe(200);
      // Real content, not an error page or the sign-in form.
      expect(new URL(page.url()).pathname, path).toBe(path.split('?')[0]);
      expect(await page.locator('main table, main form, main section').count(), path).toBeGreaterThan(0);
      for (const v of await violations(page)) failures.push(`${path}: ${v}`);
    }
    // States the loads above do not show: the focused skip link (its contrast), a backtest's
    // results (tables and charts), a draft that does not compile (the editor's error, its pointer and the "Go to the error" button).
    await page.goto(`${c.url}/queue`);
    await page.keyboard.press('Tab');
    for (const v of await violations(page)) failures.push(`/queue (skip link focused): ${v}`);
    await page.goto(`${c.url}${draftPath}`);
    await page.getByRole('button', { name: 'Run backtest' }).click();
    await page.locator('#backtest-results table.backtest-totals').waitFor({ timeout: 60_000 });
    expect(await page.locator('#backtest-results').getByRole('img').count()).toBeGreaterThan(0);
    for (const v of await violations(page)) failures.push(`${draftPath} (backtest results): ${v}`);
    const editor = page.getByLabel(/Ruleset \(YAML/);
    await editor.fill(`${(await editor.inputValue()).trimEnd()}\n${BROKEN_RULE}\n`);
    await expect.poll(() => page.locator('#draft-status').textContent(), { timeout: 10_000 }).toContain('amout');
    for (const v of await violations(page)) failures.push(`${draftPath} (does not compile): ${v}`);
    const anon = await browser.newPage();
    await anon.goto(`${c.url}/login`);
    for (const v of await violations(anon)) failures.push(`/login: ${v}`);
    await anon.getByLabel('Username').fill(admin.username);
    await anon.getByLabel('Password').fill('not-the-password');
    await anon.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => anon.getByRole('alert').textContent()).toContain('Wrong username or password');
    for (const v of await violations(anon)) failures.push(`/login (refused): ${v}`);
    await anon.close();
    expect(failures, `axe-core violations:\n${failures.join('\n')}`).toEqual([]);
  });

  it('from the queue, Tab reaches the skip link first, then the navigation; the skip link moves focus to the content', async () => {
    await page.goto(`${c.url}/queue`);
    // The focused element as "tag#id text".
    const focused = () =>
      page.evaluate<string>(
        `(() => { const el = document.activeElement; return el ? el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + (el.textContent ?? '').trim() : ''; })()`,
      );
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('a Skip to content');
    expect(await page.getByRole('link', { name: 'Skip to content' }).isVisible()).toBe(true);
    const ringOk = async (where: string) => {
      const r = await page.evaluate<{ style: string; width: number; color: string; bg: string }>(RING);
      expect(r.style, where).toBe('solid');
      expect(r.width, where).toBeGreaterThanOrEqual(2);
      // WCAG 1.4.11: the focus indicator at 3:1 against the background it is drawn on.
      expect(contrast(r.color, r.bg), `${where}: ${r.color} on ${r.bg}`).toBeGreaterThanOrEqual(3);
    };
    await ringOk('the skip link');
    const nav = ['Overview', 'Review queue', 'Decisions', 'Rules', 'Approvals', 'Activity'];
    for (const label of nav) {
      await page.keyboard.press('Tab');
      expect(await focused()).toBe(`a ${label}`);
      await ringOk(label);
    }
    // Afresh: the first Tab, then Enter on the skip link.
    await page.reload();
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('a Skip to content');
    await page.keyboard.press('Enter');
    expect(await focused()).toMatch(/^main#main Review queue/);
    // The next Tab goes into the content, not back to the navigation.
    await page.keyboard.press('Tab');
    expect(await page.evaluate<boolean>(`document.querySelector('main').contains(document.activeElement)`)).toBe(true);
    await ringOk('the first control of the content');
  });

  it('the sign-in form is completed and submitted with the keyboard alone', async () => {
    const anon = await browser.newPage();
    await anon.goto(`${c.url}/login`);
    // The username field has the focus on arrival (autofocus): type, Tab, type, Enter.
    expect(await anon.evaluate<string | undefined>('document.activeElement?.name')).toBe('username');
    await anon.keyboard.type(admin.username);
    await anon.keyboard.press('Tab');
    expect(await anon.evaluate<string | undefined>('document.activeElement?.name')).toBe('password');
    await anon.keyboard.type(admin.password);
    await Promise.all([anon.waitForURL((u) => !u.pathname.startsWith('/login')), anon.keyboard.press('Enter')]);
    expect(await anon.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
    await anon.close();
  });
});
