/**
 * The overview and the activity pages in a real Chromium. Decisions are seeded through the audit
 * writer; the engine's /metrics is the engine's own metrics module served on a free port. The
 * figures shown must be those of the database (read here with SQL of the test's own), refresh on
 * their own, and say "not reachable" when the engine is gone. The activity page shows the action
 * log with its filters; an admin adds a user who can then sign in, changes roles and disables;
 * anyone else is refused.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision, Outcome } from '../../src/events/types.js';
import { giveVerdict } from '../../src/cases/verdicts.js';
import { listActions } from '../../src/identity/action-log.js';
import { startHttp } from '../../src/observability/http.js';
import { createMetrics, setInfo } from '../../src/observability/metrics.js';
import { AuditWriter } from '../../src/sinks/audit/writer.js';
import { launchChromium, screenshot, signIn } from '../helpers/browser.js';
import { startTestConsole, type TestConsole, type TestUser } from '../helpers/console.js';

const MIN = 60_000;
const tag = randomBytes(3).toString('hex');
let seq = 0;

function decision(outcome: Outcome, agoMs: number, o: Partial<Decision> = {}): Decision {
  const t = Date.now() - agoMs;
  return {
    auth_id: `ov-${tag}-${++seq}`,
    card_token: `tok_ov_${tag}`,
    outcome,
    score: 0.05 + ((seq * 0.137) % 0.9),
    reasons: [],
    rule_hits: [],
    tags: [],
    model_version: `ov-model-${tag}`,
    ruleset_version: `ov-rules-${tag}`,
    degraded: [],
    features: {},
    event_time: t,
    decided_time: t + 3,
    engine_latency_ms: 3,
    ...o,
  };
}

const num = async (page: Page, id: string): Promise<number> =>
  Number(((await page.getByTestId(id).textContent()) ?? '').replace(/[^0-9]/g, ''));

/** The figures, by SQL written for this test (not the console's module). */
async function expected(c: TestConsole) {
  const { rows } = await c.deps.pool.query<Record<string, string>>(
    `SELECT
       count(*) FILTER (WHERE event_time >= now() - interval '1 hour') AS hour_total,
       count(*) FILTER (WHERE outcome = 'REVIEW' AND event_time >= now() - interval '1 hour') AS hour_review,
       count(*) FILTER (WHERE outcome = 'DECLINE') AS day_decline,
       count(*) AS day_total,
       count(*) FILTER (WHERE degraded <> '{}') AS day_degraded
     FROM decision_audit WHERE event_time >= now() - interval '24 hours' AND event_time <= now()`,
  );
  const q = await c.deps.pool.query<Record<string, string>>(
    `SELECT count(*) AS size, count(*) FILTER (WHERE event_time < now() - $1 * interval '1 millisecond') AS overdue
       FROM decision_audit a WHERE outcome = 'REVIEW'
        AND NOT EXISTS (SELECT 1 FROM case_verdicts v WHERE v.auth_id = a.auth_id AND v.verdict <> 'escalate')`,
    [c.deps.settings.reviewSlaMs],
  );
  const rules = await c.deps.pool.query<{ rule: string; hits: string }>(
    `SELECT h ->> 'rule_id' AS rule, count(*) AS hits FROM decision_audit, jsonb_array_elements(rule_hits) h
      WHERE event_time >= now() - interval '24 hours' AND event_time <= now()
      GROUP BY h ->> 'rule_id', h ->> 'mode', h ->> 'action' ORDER BY hits DESC, rule LIMIT 10`,
  );
  const lowScores = await c.deps.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM decision_audit
      WHERE event_time >= now() - interval '24 hours' AND event_time <= now() AND score >= 0 AND score < 0.1`,
  );
  const n = (k: string) => Number(rows[0]![k]);
  return {
    hourTotal: n('hour_total'),
    hourReview: n('hour_review'),
    dayDecline: n('day_decline'),
    dayTotal: n('day_total'),
    dayDegraded: n('day_degraded'),
    queueSize: Number(q.rows[0]!.size),
    overdue: Number(q.rows[0]!.overdue),
    topRules: rules.rows.map((r) => `${r.rule} ${Number(r.hits)}`),
    lowScores: Number(lowScores.rows[0]!.n),
  };
}

async function shown(page: Page) {
  const topRules = await page
    .getByTestId('top-rules')
    .locator('tbody tr')
    .evaluateAll((trs) =>
      trs.map((tr) => {
        const cells = [...tr.querySelectorAll('th, td')].map((x) => x.textContent?.trim() ?? '');
        return `${cells[0]} ${Number(cells[3]!.replace(/[^0-9]/g, ''))}`;
      }),
    );
  return {
    hourTotal: await num(page, 'hour-total'),
    hourReview: await num(page, 'hour-REVIEW'),
    dayDecline: await num(page, 'day-DECLINE'),
    dayTotal: await num(page, 'day-total'),
    dayDegraded: await num(page, 'day-degraded'),
    queueSize: await num(page, 'queue-size'),
    overdue: await num(page, 'queue-overdue'),
    topRules,
    lowScores: await num(page, 'score-0'),
  };
}

describe('console: the overview and the activity pages in Chromium', () => {
  let c: TestConsole;
  let browser: Browser;
  let engineHttp: Server;
  let admin: TestUser;
  const metrics = createMetrics({ defaultMetrics: false });

  beforeAll(async () => {
    // The engine's metrics as a running engine exposes them.
    setInfo(metrics.rulesetInfo, `pg:ov-${tag}`);
    setInfo(metrics.modelInfo, `model-ov-${tag}`);
    metrics.dlq.inc({ reason: 'decode' }, 3);
    metrics.decisions.inc({ outcome: 'APPROVE' }, 40);
    engineHttp = await startHttp({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      readiness: { ready: () => ({ ok: true, checks: {} }) },
    });
    const metricsUrl = `http://127.0.0.1:${(engineHttp.address() as AddressInfo).port}/metrics`;
    c = await startTestConsole({
      deps: (d) => ({ ...d, settings: { ...d.settings, engineMetricsUrl: metricsUrl } }),
    });
    admin = await c.addUser(['admin']);
    const decided = decision('REVIEW', 6 * MIN);
    const hit = (rule: string) => ({ rule_hits: [{ rule_id: rule, action: 'REVIEW', mode: 'ACTIVE' as const }] });
    await new AuditWriter(c.deps.pool).write(
      [
        decision('APPROVE', 2 * MIN),
        decision('APPROVE', 5 * MIN, { degraded: ['redis_timeout'], score: 0.05 }),
        decision('DECLINE', 3 * MIN, hit(`ov_${tag}_block`)),
        decision('REVIEW', 4 * MIN, hit(`ov_${tag}_velocity`)),
        decision('REVIEW', 90 * MIN, hit(`ov_${tag}_velocity`)), // overdue against the 60 min SLA
        decided, // a decided case: counted in the day's REVIEW decisions, not in the queue
        decision('DECLINE', 5 * 60 * MIN),
      ].map((d) => ({ decision: d })),
    );
    await giveVerdict(c.deps.pool, {
      authId: decided.auth_id,
      by: c.analyst.username,
      verdict: 'legitimate',
      note: 'seen by the overview test',
      topic: c.cfg.kafka.topic_labels,
      claimTtlMs: c.deps.settings.claimTtlMs,
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await c?.close();
    if (engineHttp?.listening) await new Promise((r) => engineHttp.close(r));
  });

  it("shows the database's figures, the review queue against the SLA and the engine's versions", async () => {
    const page = await browser.newPage();
    await signIn(page, c.url, c.analyst.username, c.analyst.password);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
    // The page and the SQL read the same rows; a row crossing a window's edge between the two
    // reads would differ once, so both are read again until they agree.
    await expect
      .poll(
        async () => {
          await page.reload();
          const [s, e] = [await shown(page), await expected(c)];
          return JSON.stringify(s) === JSON.stringify(e) ? 'same' : JSON.stringify({ shown: s, expected: e });
        },
        { timeout: 10_000 },
      )
      .toBe('same');
    const s = await shown(page);
    // The seeded rows are among them.
    expect(s.hourReview).toBeGreaterThanOrEqual(1);
    expect(s.dayDecline).toBeGreaterThanOrEqual(2);
    expect(s.dayDegraded).toBeGreaterThanOrEqual(1);
    expect(s.overdue).toBeGreaterThanOrEqual(1);
    expect(await page.getByTestId('queue-oldest').textContent()).toMatch(/\d+ (min|h|d)/);
    // The engine's own state, from its /metrics.
    expect(await page.getByTestId('engine-status').textContent()).toContain('ready');
    expect(await page.getByTestId('engine-ruleset').textContent()).toBe(`pg:ov-${tag}`);
    expect(await page.getByTestId('engine-model').textContent()).toBe(`model-ov-${tag}`);
    expect(await num(page, 'dlq')).toBe(3);
    expect(await page.getByRole('img').first().getAttribute('aria-label')).toMatch(/decisions in the last 60 minutes/);
    await screenshot(page, 'overview');
    await page.close();
  });

  it('refreshes its figures without a reload', async () => {
    const page = await browser.newPage();
    await signIn(page, c.url, c.analyst.username, c.analyst.password);
    const before = await num(page, 'hour-REVIEW');
    await new AuditWriter(c.deps.pool).write([
      { decision: decision('REVIEW', 10_000) },
      { decision: decision('REVIEW', 20_000) },
    ]);
    // The data-refresh of console.js fetches /overview/fragment every 10 s.
    await expect.poll(() => num(page, 'hour-REVIEW'), { timeout: 25_000 }).toBeGreaterThanOrEqual(before + 2);
    expect(page.url()).toBe(`${c.url}/`);
    await page.close();
  });

  it('says the engine is not reachable when its metrics do not answer', async () => {
    await new Promise((r) => engineHttp.close(r));
    const page = await browser.newPage();
    await signIn(page, c.url, c.analyst.username, c.analyst.password);
    // The figures of the last few seconds may be reused (REUSE_MS): read again until they are new.
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.getByTestId('engine-status').textContent();
        },
        { timeout: 15_000 },
      )
      .toContain('not reachable');
    expect(await page.getByTestId('engine-status').textContent()).toMatch(/ECONNREFUSED|fetch failed/);
    // The versions still show, from the newest decision in the audit trail.
    expect(await page.locator('#ov-engine').locator('..').textContent()).toContain('Newest decision');
    await page.close();
  });

  it('shows the action log with filters by user, action and time', async () => {
    const page = await browser.newPage();
    await signIn(page, c.url, c.analyst.username, c.analyst.password);
    await page.goto(`${c.url}/activity`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Activity');
    // The analyst's sign-ins are there; an analyst sees no users section.
    await page.getByLabel('User', { exact: true }).fill(c.analyst.username);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL((u) => u.searchParams.get('actor') === c.analyst.username);
    const rows = page.getByTestId('actions').locator('tbody tr');
    const logins = (await listActions(c.deps.pool, { actor: c.analyst.username })).length;
    expect(logins).toBeGreaterThanOrEqual(3);
    expect(await rows.count()).toBe(logins);
    expect(await rows.first().textContent()).toContain('login');
    expect(await page.getByRole('heading', { name: 'Users' }).count()).toBe(0);
    // A window in the future has nothing.
    await page.goto(`${c.url}/activity?actor=${c.analyst.username}&from=2099-01-01T00:00`);
    expect(await page.getByTestId('no-actions').isVisible()).toBe(true);
    // A bad time is refused with its reason.
    const bad = await page.request.get(`${c.url}/activity?from=yesterday`);
    expect(bad.status()).toBe(400);
    expect(await bad.text()).toContain('From: expected a date and time');
    await page.close();
  });

  it('lets an admin add a user who can then sign in, change their roles and disable them; every change logged', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, c.url, admin.username, admin.password);
    await page.goto(`${c.url}/activity`);
    const name = `t${tag}-new`;
    const password = `pw-${randomBytes(9).toString('hex')}`;
    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Display name').fill('New Analyst');
    await page.getByLabel('Initial password (at least 12 characters)').fill(password);
    await page.locator('#nu-analyst').check();
    await page.getByRole('button', { name: 'Add user' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain(`User ${name} added`);
    expect(await c.deps.users.get(name)).toMatchObject({ roles: ['analyst'], disabled: false });

    // A weak password is refused beside the form, nothing added.
    await page.getByLabel('Username').fill(`t${tag}-weak`);
    await page.getByLabel('Initial password (at least 12 characters)').fill('short-pw-12');
    await page.locator('#nu-password').evaluate((el) => el.removeAttribute('minlength'));
    await page.getByRole('button', { name: 'Add user' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('at least 12 characters');
    expect(await c.deps.users.get(`t${tag}-weak`)).toBeNull();

    // The new user signs in.
    const other = await browser.newContext();
    const p2 = await other.newPage();
    await signIn(p2, c.url, name, password);
    expect(await p2.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');

    // Roles: analyst + approver.
    await page.goto(`${c.url}/activity#users`);
    const row = page.locator(`tr[data-user="${name}"]`);
    await row.getByLabel('approver').check();
    await row.getByRole('button', { name: `Save roles of ${name}` }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain(`Roles of ${name} changed`);
    expect((await c.deps.users.get(name))?.roles).toEqual(['analyst', 'approver']);
    await screenshot(page, 'activity');

    // Disable: their session ends, and they cannot sign in again.
    await page
      .locator(`tr[data-user="${name}"]`)
      .getByRole('button', { name: `Disable ${name}` })
      .click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain(`User ${name} disabled`);
    await p2.goto(`${c.url}/`);
    expect(new URL(p2.url()).pathname).toBe('/login');
    const again = await p2.request.post(`${c.url}/login`, { form: { username: name, password } });
    expect(again.status()).toBe(401);

    const log = await listActions(c.deps.pool, { actor: admin.username, action: 'user' });
    expect(log.map((a) => `${a.action} ${a.subject}`)).toEqual([
      `user.disable ${name}`,
      `user.roles ${name}`,
      `user.add ${name}`,
    ]);
    expect(log[1]!.detail).toEqual({ from: ['analyst'], to: ['analyst', 'approver'] });
    // The activity page shows them.
    await page.goto(`${c.url}/activity?action=user&actor=${admin.username}`);
    expect(await page.getByTestId('actions').locator('tbody tr').count()).toBe(3);
    await other.close();
    await ctx.close();
  });

  it('refuses user administration (403) to anyone but an admin, and changes nothing', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, c.url, c.approver.username, c.approver.password);
    await page.goto(`${c.url}/activity`);
    const csrf = (await page.locator('meta[name="csrf-token"]').getAttribute('content'))!;
    const name = `t${tag}-sneaky`;
    const add = await page.request.post(`${c.url}/activity/users`, {
      form: { _csrf: csrf, username: name, password: 'a-long-enough-password', roles: 'admin' },
    });
    expect(add.status()).toBe(403);
    expect(await add.text()).toContain('This needs the admin role');
    const roles = await page.request.post(`${c.url}/activity/users/${c.analyst.username}/roles`, {
      form: { _csrf: csrf, roles: 'admin' },
    });
    expect(roles.status()).toBe(403);
    const disable = await page.request.post(`${c.url}/activity/users/${c.analyst.username}/disable`, {
      form: { _csrf: csrf },
    });
    expect(disable.status()).toBe(403);
    expect(await c.deps.users.get(name)).toBeNull();
    expect(await c.deps.users.get(c.analyst.username)).toMatchObject({ roles: ['analyst'], disabled: false });
    // An admin cannot lock themselves out either.
    const actx = await browser.newContext();
    const ap = await actx.newPage();
    await signIn(ap, c.url, admin.username, admin.password);
    await ap.goto(`${c.url}/activity`);
    const acsrf = (await ap.locator('meta[name="csrf-token"]').getAttribute('content'))!;
    const self = await ap.request.post(`${c.url}/activity/users/${admin.username}/disable`, { form: { _csrf: acsrf } });
    expect(self.status()).toBe(409);
    expect((await c.deps.users.get(admin.username))?.disabled).toBe(false);
    await actx.close();
    await ctx.close();
  });
});
