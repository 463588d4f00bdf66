/**
 * The console's single sign-on in a real Chromium against a real OpenID provider (oidc-provider
 * on 127.0.0.1): a known user gets in through the provider's pages, an identity without a user
 * is refused and nothing is created, a callback with a wrong state is refused, and an
 * unreachable provider leaves the password login working.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { listActions } from '../../src/identity/action-log.js';
import { launchChromium, screenshot, signIn } from '../helpers/browser.js';
import { startTestConsole, type TestConsole } from '../helpers/console.js';
import { testConfig } from '../helpers/engine.js';
import { startTestProvider, type TestProvider } from '../helpers/oidc-provider.js';

/** Signs in as `login` at the provider's development pages, then grants the console access. */
async function throughProvider(page: Page, provider: TestProvider, login: string): Promise<void> {
  await page.waitForURL((u) => u.origin === provider.issuer);
  await page.getByPlaceholder('Enter any login').fill(login);
  await page.getByPlaceholder('and password').fill('any');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

describe('console: single sign-on (OIDC) in Chromium', () => {
  let provider: TestProvider;
  let c: TestConsole;
  let browser: Browser;
  let host: string;
  beforeAll(async () => {
    // A login name `mail-<x>` gets only an email (<x>@example.test): the console's second rule.
    provider = await startTestProvider((login) =>
      login.startsWith('mail-')
        ? { email: `${login.slice(5)}@example.test`, email_verified: true }
        : { preferred_username: login },
    );
    c = await startTestConsole({
      cfg: testConfig({
        FRAUD_CONSOLE_OIDC_ISSUER: provider.issuer,
        FRAUD_CONSOLE_OIDC_CLIENT_ID: provider.clientId,
        FRAUD_CONSOLE_OIDC_CLIENT_SECRET: provider.clientSecret,
      }),
    });
    provider.serve(`${c.url}/login/oidc/callback`);
    host = new URL(provider.issuer).host;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await c?.close();
    await provider?.close();
  });

  it('a user who exists signs in through the provider and lands where they were going', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${c.url}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await screenshot(page, 'login-sso');
    await page.getByRole('link', { name: `Sign in with ${host}` }).click();
    await throughProvider(page, provider, c.analyst.username);
    await page.waitForURL((u) => u.origin === c.url && u.pathname === '/');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);
    expect(await page.locator('form.who').textContent()).toContain('Test analyst 1');
    const [last] = await listActions(c.deps.pool, { actor: c.analyst.username });
    expect(last!.action).toBe('login');
    expect(last!.detail).toMatchObject({ method: 'oidc', issuer: provider.issuer });
    await ctx.close();
  });

  it('maps the email local part when the provider sends no preferred_username', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${c.url}/login`);
    await page.getByRole('link', { name: `Sign in with ${host}` }).click();
    await throughProvider(page, provider, `mail-${c.approver.username}`);
    await page.waitForURL((u) => u.origin === c.url && u.pathname === '/');
    expect(await page.locator('form.who').textContent()).toContain('approver');
    const [last] = await listActions(c.deps.pool, { actor: c.approver.username });
    expect(last!.detail).toMatchObject({ method: 'oidc' });
    await ctx.close();
  });

  it('refuses an identity with no user, says why, and creates nobody', async () => {
    const stranger = `nobody-${Date.now().toString(36)}`;
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${c.url}/login`);
    await page.getByRole('link', { name: `Sign in with ${host}` }).click();
    await throughProvider(page, provider, stranger);
    await page.waitForURL((u) => u.origin === c.url && u.pathname.startsWith('/login'));
    expect(await page.getByRole('alert').textContent()).toContain(`the console has no user ${stranger}`);
    expect(await c.deps.users.get(stranger)).toBeNull();
    const [refused] = await listActions(c.deps.pool, { actor: stranger });
    expect(refused!.action).toBe('login.oidc_refused');
    expect(refused!.detail).toMatchObject({ issuer: provider.issuer, reason: 'unknown' });
    await page.goto(`${c.url}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await ctx.close();
  });

  it('refuses a callback whose state is not the one this browser started, and one never started', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${c.url}/login/oidc`);
    await page.waitForURL((u) => u.origin === provider.issuer);
    // Shaped like the provider's answer (it names itself, RFC 9207), but with another state.
    const forged = `${c.url}/login/oidc/callback?code=forged&state=not-the-state&iss=${encodeURIComponent(provider.issuer)}`;
    const res = await page.goto(forged);
    expect(res!.status()).toBe(400);
    expect(await page.getByRole('alert').textContent()).toContain(
      'does not belong to the sign-in this browser started',
    );
    // The attempt is used up: the same callback again finds none.
    const again = await page.goto(forged);
    expect(again!.status()).toBe(400);
    expect(await page.getByRole('alert').textContent()).toContain('was not started in this browser');
    await page.goto(`${c.url}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    const failed = (await listActions(c.deps.pool, { action: 'login.oidc_failed', limit: 2 })).map((a) => a.detail);
    expect(failed[1]).toMatchObject({ issuer: provider.issuer, reason: expect.stringContaining('state differs') });
    await ctx.close();
  });

  it('an unreachable provider gets a clear message and the password login still works', async () => {
    const closed = await new Promise<number>((ok) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => ok(port));
      });
    });
    const down = await startTestConsole({
      cfg: testConfig({ FRAUD_CONSOLE_OIDC_ISSUER: `http://127.0.0.1:${closed}`, FRAUD_CONSOLE_OIDC_CLIENT_ID: 'x' }),
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${down.url}/login`);
      await page.getByRole('link', { name: `Sign in with 127.0.0.1:${closed}` }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toContain('cannot be reached right now');
      expect(new URL(page.url()).pathname).toBe('/login/oidc');
      await signIn(page, down.url, down.analyst.username, down.analyst.password);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
      await page.close();
    } finally {
      await down.close();
    }
  });
});
