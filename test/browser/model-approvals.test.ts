/**
 * Model promotions on the approvals page in a real Chromium: an analyst's model (published with
 * the library the CLI uses) waits with its file and sha256; the analyst cannot approve it; another
 * approver approves it and a model source (as the engines run it) takes the version up — the
 * delay is printed; a retirement is rejected only with a reason; the decisions are in the history
 * and the action log.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listActions } from '../../src/identity/action-log.js';
import { publishModelFile } from '../../src/models/registry/admin.js';
import { ModelSource } from '../../src/models/registry/model-source.js';
import { ModelRegistry } from '../../src/models/registry/pg-model-registry.js';
import { launchChromium, screenshot, signIn } from '../helpers/browser.js';
import { startTestConsole, type TestConsole, type TestUser } from '../helpers/console.js';
import { uniqueName } from '../helpers/stack.js';

describe('console: model promotions on the approvals page in Chromium', () => {
  let c: TestConsole;
  let browser: Browser;
  let dir: string;
  let registry: ModelRegistry;
  let source: ModelSource<string | null>;
  let approver2: TestUser;
  const version = uniqueName('ui-model')
    .replace(/[^a-z0-9-]/g, '')
    .slice(0, 60);

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
    dir = await mkdtemp(join(tmpdir(), 'ui-models-'));
    const path = join(dir, 'm.onnx');
    await copyFile('models/model.onnx', path);
    const meta = JSON.parse(await readFile('models/model.json', 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, 'm.json'), JSON.stringify({ ...meta, model_version: version }));
    registry = new ModelRegistry(c.deps.pool);
    await publishModelFile(registry, path, { role: 'challenger', by: c.analyst.username, comment: 'watch it live' });
    source = await ModelSource.start({
      postgres: c.cfg.postgres,
      config: { champion: 'models/model.onnx', challenger: '' },
      pollIntervalMs: 1_000,
      log: pino({ level: 'silent' }),
      build: async (m) => m.challenger?.scorer.version ?? null,
    });
  });

  afterAll(async () => {
    await source?.stop();
    await browser?.close();
    await c?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the analyst sees the request with its file and hash, and cannot approve it', async () => {
    const page = await signedIn(c.analyst);
    const req = page.getByRole('article', { name: `Model ${version} as challenger` });
    await expect.poll(() => req.textContent()).toContain('watch it live');
    expect(await req.textContent()).toMatch(/sha256 [0-9a-f]{64}/);
    expect(await req.getByRole('button', { name: `Approve ${version}` }).count()).toBe(0);
    const res = await page.request.post(`${c.url}/approvals/models/${version}/approve`, {
      form: { _csrf: await csrfOf(page) },
      maxRedirects: 0,
    });
    expect(res.status()).toBe(403);
    expect((await registry.versions()).find((r) => r.version === version)!.state).toBe('pending');
    await page.context().close();
  });

  it('another approver approves it, and a running model source takes it up', async () => {
    const page = await signedIn(c.approver);
    const req = page.getByRole('article', { name: `Model ${version} as challenger` });
    expect(source.current()).toBeNull();
    await req.getByLabel('Comment (required to reject)').fill('agreement with the champion looks sane');
    await screenshot(page, 'approvals-models');
    const t0 = performance.now();
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('done') === 'approved-model'),
      req.getByRole('button', { name: `Approve ${version}` }).click(),
    ]);
    expect(await page.getByRole('status').textContent()).toContain(`Approved model ${version}`);
    await expect.poll(() => source.current(), { timeout: 10_000, interval: 5 }).toBe(version);
    console.log(
      `approvals: model ${version} loaded by a model source ${(performance.now() - t0).toFixed(0)} ms after the click`,
    );
    const history = page.getByRole('region', { name: 'Decided' });
    expect(
      await history.getByRole('row', { name: new RegExp(`model ${version} as challenger .* approved`) }).count(),
    ).toBe(1);
    await page.context().close();
  });

  it('a retirement is rejected only with a reason, and the challenger stays', async () => {
    await registry.requestRetire('challenger', { by: c.analyst.username, comment: 'seen enough' });
    const page = await signedIn(approver2);
    const req = page.getByRole('article', { name: `Retire challenger ${version}` });
    await Promise.all([
      page.waitForURL((u) => u.pathname.endsWith('/reject')),
      req.getByRole('button', { name: `Reject ${version}` }).click(),
    ]);
    expect(await page.getByRole('alert').textContent()).toContain('Say why in the comment to reject a request');
    await page.goto(`${c.url}/approvals`);
    await req.getByLabel('Comment (required to reject)').fill('one more week');
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('done') === 'rejected-model'),
      req.getByRole('button', { name: `Reject ${version}` }).click(),
    ]);
    expect(await page.getByRole('status').textContent()).toContain(`Rejected the request for model ${version}`);
    expect((await registry.state()).find((s) => s.role === 'challenger')!.active?.version).toBe(version);
    const log = await listActions(c.deps.pool, { subject: `model:${version}` });
    expect(log.map((e) => [e.actor, e.action])).toEqual([
      [approver2.username, 'model.reject'],
      [c.analyst.username, 'model.request_retire'],
      [c.approver.username, 'model.approve'],
      [c.analyst.username, 'model.submit'],
    ]);
    await page.context().close();
  });
});
