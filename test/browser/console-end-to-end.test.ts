/**
 * The console end to end, with every part real: an authorization produced to Kafka is decided
 * REVIEW by a running engine (Kafka, Redis, the model, the active ruleset of the console's
 * schema), stored by the audit sink, and shows up in the review queue of a real Chromium; the
 * analyst's "fraud" verdict goes out through the outbox relay to the engine's labels topic, and
 * the engine's label runner puts it in the Redis feature store (the terminal's known-fraud
 * features of a later transaction change). Then four eyes against that engine: the analyst's new
 * version cannot be approved by the analyst (the refusal shown in the browser); the approver
 * approves it in the browser and the engine decides with it within 2 seconds of the click.
 */
import type { Browser, Page } from 'playwright-core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuditSink, type AuditSinkHandle } from '../../src/app/audit-sink.js';
import { startEngine, type EngineHandle } from '../../src/app/engine.js';
import { DAY_MS, MINUTE_MS } from '../../src/events/time.js';
import type { AuthorizationEvent, Decision } from '../../src/events/types.js';
import { FEATURE_NAMES, type FeatureName } from '../../src/features/names.js';
import type { RulesetDef } from '../../src/rules/types.js';
import { launchChromium, signIn } from '../helpers/browser.js';
import { startTestConsole, type TestConsole } from '../helpers/console.js';
import { pipelineIO, type PipelineIO } from '../helpers/engine.js';
import { authorization } from '../helpers/events.js';
import { fourEyes } from '../helpers/four-eyes.js';
import { uniqueName } from '../helpers/stack.js';

/** Amounts (minor units) that the test rulesets single out. */
const REVIEW_AMOUNT = 313_131;
const DECLINE_AMOUNT = 424_243;

/**
 * A ruleset of marker rules only, with score thresholds of 1 (a probability never reaches it):
 * the outcome depends on the marker amounts alone, whatever the model thinks of the events.
 */
function markerRuleset(version: string, withDecline: boolean): RulesetDef {
  const rule = (id: string, amount: number, action: 'REVIEW' | 'DECLINE') => ({
    id,
    description: 'end-to-end test marker',
    expression: `tx.amount_minor == ${amount}`,
    action,
    priority: 10,
    mode: 'active' as const,
    owner: 'e2e',
  });
  return {
    version,
    description: 'end-to-end test',
    thresholds: { review: 1, decline: 1 },
    lists: {},
    rules: [
      rule('e2e_review', REVIEW_AMOUNT, 'REVIEW'),
      ...(withDecline ? [rule('e2e_decline', DECLINE_AMOUNT, 'DECLINE')] : []),
    ],
  };
}

describe('console end to end: Kafka, engine, audit sink, browser, labels, four eyes', () => {
  const run = uniqueName('e2e');
  const v1 = `${run}-v1`.slice(0, 60);
  const v2 = `${run}-v2`.slice(0, 60);
  const terminal = `T-${run}`;
  const reviewId = `${run}-review`;
  // A week and a day old: a transaction at the terminal 7 days later sees its label (the
  // terminal's risk windows are delayed by 7 days, the chargeback delay).
  const txTime = Date.now() - 8 * DAY_MS;
  let io: PipelineIO;
  let c: TestConsole;
  let engine: EngineHandle;
  let sink: AuditSinkHandle;
  let browser: Browser;

  const event = (over: Partial<AuthorizationEvent>): AuthorizationEvent =>
    authorization({
      card_token: `tok_${run}`,
      customer_id: `C-${run}`,
      terminal_id: terminal,
      merchant_id: `M-${run}`,
      event_time: Date.now(),
      ...over,
    });
  const decide = async (e: AuthorizationEvent): Promise<Decision> => {
    await io.producer.send({
      topic: io.cfg.kafka.topic_authorizations,
      acks: -1,
      messages: [{ key: e.card_token, value: await io.codecs.encodeAuthorization(e) }],
    });
    await io.decisions.waitFor((items) => items.some((d) => d.value.auth_id === e.auth_id), 30_000);
    return io.decisions.items.find((d) => d.value.auth_id === e.auth_id)!.value;
  };
  const activeVersionMetric = async (): Promise<string | undefined> =>
    (await engine.metrics.rulesetInfo.get()).values.find((v) => v.value === 1)?.labels.version as string | undefined;
  const signedIn = async (u: { username: string; password: string }, path: string): Promise<Page> => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, c.url, u.username, u.password);
    await page.goto(`${c.url}${path}`);
    return page;
  };

  beforeAll(async () => {
    io = await pipelineIO();
    // The console's own schema; the engine and the audit sink work in it too (its URL in c.cfg).
    c = await startTestConsole({ cfg: io.cfg });
    const eyes = await fourEyes(c.deps.pool, c.deps.ruleApprovals.store, 'e2e');
    await eyes.publishActive(markerRuleset(v1, false));
    const log = pino({ level: 'silent' });
    [engine, sink, browser] = await Promise.all([
      startEngine(c.cfg, { log }),
      startAuditSink(c.cfg, { log, httpPort: 0 }),
      launchChromium(),
    ]);
  });

  afterAll(async () => {
    await engine?.stop();
    await sink?.stop();
    await browser?.close();
    await c?.close();
    await io?.close();
  });

  it('a REVIEW decided through Kafka reaches the queue; the verdict "fraud" reaches the feature store', async () => {
    const decision = await decide(event({ auth_id: reviewId, amount_minor: REVIEW_AMOUNT, event_time: txTime }));
    expect([decision.outcome, decision.ruleset_version, decision.reasons]).toEqual(['REVIEW', v1, ['rule:e2e_review']]);

    // A later transaction at the terminal, 7 days and a minute after the reviewed one: its
    // known-fraud features before the verdict (enrich is idempotent by auth_id: asked again
    // below, it is recomputed with what the store knows then).
    const probe = event({ auth_id: `${run}-probe`, event_time: txTime + 7 * DAY_MS + MINUTE_MS });
    const knownFraud = async () => {
      const [v] = await engine.store.enrich([probe]);
      const known: FeatureName[] = [
        'terminal_last_known_fraud',
        'terminal_frauds_last3_known',
        'terminal_known_fraud_age',
      ];
      return known.map((n) => v![FEATURE_NAMES.indexOf(n)]);
    };
    expect(await knownFraud()).toEqual([0, 0, null]);

    const page = await signedIn(c.analyst, '/queue');
    const row = page.locator(`tr[data-case="${reviewId}"]`);
    // The audit sink writes in batches: reload until the case is there.
    await expect
      .poll(
        async () => {
          await page.reload();
          return row.count();
        },
        { timeout: 20_000, interval: 250 },
      )
      .toBe(1);
    await Promise.all([
      page.waitForURL((u) => u.pathname === `/cases/${reviewId}`),
      page.getByRole('button', { name: `Claim ${reviewId}` }).click(),
    ]);
    expect(await page.getByRole('region', { name: 'Rule hits' }).textContent()).toContain('e2e_review');
    const verdict = page.getByRole('region', { name: 'Verdict', exact: true });
    await verdict.getByLabel('fraud', { exact: true }).check();
    await verdict.getByLabel('Note').fill('End-to-end: confirmed fraud.');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/queue'),
      verdict.getByRole('button', { name: 'Submit verdict' }).click(),
    ]);
    expect(await page.getByRole('status').first().textContent()).toContain('Verdict saved');
    expect(await row.count()).toBe(0);

    // Outbox relay -> the engine's labels topic -> its label runner -> Redis.
    // The probe is 7 days and a minute after the fraud: its streak is that old.
    await expect
      .poll(knownFraud, { timeout: 20_000, interval: 100 })
      .toEqual([1, 1, (7 * DAY_MS + MINUTE_MS) / DAY_MS]);
    expect(engine.labels.applied).toBe(1);
    await page.context().close();
  });

  it('four eyes: the author cannot approve; the approver does in the browser and the engine decides with it within 2 s', async () => {
    await c.deps.ruleApprovals.store.publish(markerRuleset(v2, true), {
      author: c.analyst.username,
      comment: 'decline the 4242.43 pattern',
    });
    // The author: no Approve button, and a forged approval submitted from the page is refused.
    const own = await signedIn(c.analyst, '/approvals');
    const mine = own.getByRole('article', { name: `New version ${v2}` });
    expect(await mine.textContent()).toContain('needs the approver role');
    expect(await mine.getByRole('button', { name: `Approve ${v2}` }).count()).toBe(0);
    const csrf = (await own.locator('meta[name="csrf-token"]').getAttribute('content'))!;
    const [refusal] = await Promise.all([
      own.waitForResponse((r) => r.url().endsWith(`/approvals/rulesets/${v2}/approve`)),
      own.evaluate(
        `(() => { const f = document.createElement('form'); f.method = 'post';
           f.action = ${JSON.stringify(`/approvals/rulesets/${v2}/approve`)};
           const i = document.createElement('input'); i.type = 'hidden'; i.name = '_csrf'; i.value = ${JSON.stringify(csrf)};
           f.append(i); document.body.append(f); f.submit(); })()`,
      ),
    ]);
    expect(refusal.status()).toBe(403);
    await own.waitForURL((u) => u.pathname === `/approvals/rulesets/${v2}/approve`);
    expect(await own.getByRole('alert').textContent()).toContain(
      `This needs the approver role; ${c.analyst.username} does not have it.`,
    );
    expect((await c.deps.ruleApprovals.store.meta(v2))!.status).toBe('pending');
    expect(await activeVersionMetric()).toBe(v1);
    await own.context().close();

    const page = await signedIn(c.approver, '/approvals');
    const req = page.getByRole('article', { name: `New version ${v2}` });
    await req.getByLabel('Comment (required to reject)').fill('backtest checked');
    const t0 = performance.now();
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('done') === 'approved-ruleset'),
      req.getByRole('button', { name: `Approve ${v2}` }).click(),
    ]);
    await expect.poll(activeVersionMetric, { timeout: 10_000, interval: 2 }).toBe(v2);
    const pickupMs = performance.now() - t0;
    console.log(`end-to-end: the engine decides with ${v2} ${pickupMs.toFixed(0)} ms after the Approve click`);
    expect(pickupMs).toBeLessThan(2_000); // the issue's bound: picked up within 2 seconds
    expect(await page.getByRole('status').textContent()).toContain(`Approved: ${v2} is the active ruleset`);

    const after = await decide(event({ auth_id: `${run}-after`, amount_minor: DECLINE_AMOUNT }));
    expect([after.outcome, after.ruleset_version, after.reasons]).toEqual(['DECLINE', v2, ['rule:e2e_decline']]);
    const meta = (await c.deps.ruleApprovals.store.meta(v2))!;
    expect([meta.status, meta.author, meta.approved_by]).toEqual(['active', c.analyst.username, c.approver.username]);
    await page.context().close();
  });
});
