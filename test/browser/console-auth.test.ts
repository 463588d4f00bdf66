/**
 * The console's sign-in in a real Chromium: wrong password, sign-in, an expired session, a
 * state-changing request without its CSRF token, throttling, and every attempt in the action log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { listActions } from '../../src/identity/action-log.js';
import { launchChromium, screenshot, signIn } from '../helpers/browser.js';
import { startTestConsole, type TestConsole } from '../helpers/console.js';

describe('console: sign-in, sessions and CSRF in Chromium', () => {
  let c: TestConsole;
  let browser: Browser;
  beforeAll(async () => {
    c = await startTestConsole();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await c?.close();
  });

  it('refuses a wrong password with a clear message and lets the right one in', async () => {
    const page = await browser.newPage();
    await page.goto(`${c.url}/queue`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.getByLabel('Username').fill(c.analyst.username);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong username or password');
    await screenshot(page, 'login');
    await signIn(page, c.url, c.analyst.username, c.analyst.password);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);
    const log = await listActions(c.deps.pool, { actor: c.analyst.username });
    expect(log.map((a) => a.action)).toEqual(['login', 'login.failed']);
    await page.close();
  });

  it('an expired session goes back to the sign-in page with the reason', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, c.url, c.analyst.username, c.analyst.password);
    await c.deps.pool.query(
      `UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE username = $1`,
      [c.analyst.username],
    );
    await page.goto(`${c.url}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await page.getByRole('alert').textContent()).toContain('Your session has expired');
    await ctx.close();
  });

  it('a POST without the CSRF token is refused and changes nothing', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, c.url, c.analyst.username, c.analyst.password);
    const before = (await listActions(c.deps.pool, { actor: c.analyst.username })).length;
    // Sign-out without its token: refused (403), the session still works.
    const res = await page.request.post(`${c.url}/logout`, { form: {}, maxRedirects: 0 });
    expect(res.status()).toBe(403);
    expect(await res.text()).toContain('security token (CSRF)');
    const wrong = await page.request.post(`${c.url}/logout`, { form: { _csrf: 'x'.repeat(43) }, maxRedirects: 0 });
    expect(wrong.status()).toBe(403);
    await page.goto(`${c.url}/`);
    expect(new URL(page.url()).pathname).toBe('/');
    expect((await listActions(c.deps.pool, { actor: c.analyst.username })).length).toBe(before);
    // With the token (the page's own form): signed out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.pathname === '/login');
    expect(await page.getByRole('status').textContent()).toContain('signed out');
    await page.goto(`${c.url}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await ctx.close();
  });

  it('throttles a user after max_failed_logins failures, even with the right password', async () => {
    const u = await c.addUser(['analyst']);
    const page = await browser.newPage();
    for (let i = 0; i < c.cfg.console.max_failed_logins; i++) {
      const res = await page.request.post(`${c.url}/login`, { form: { username: u.username, password: 'nope' } });
      expect(res.status()).toBe(401);
    }
    const res = await page.request.post(`${c.url}/login`, { form: { username: u.username, password: u.password } });
    expect(res.status()).toBe(429);
    expect(await res.text()).toContain('Too many failed sign-ins');
    const log = await listActions(c.deps.pool, { actor: u.username });
    expect(log[0]!.action).toBe('login.throttled');
    expect(log.filter((a) => a.action === 'login.failed')).toHaveLength(c.cfg.console.max_failed_logins);
    await page.close();
  });

  it('the action log refuses updates and deletes', async () => {
    await expect(
      c.deps.pool.query(`UPDATE action_log SET actor = 'x' WHERE id = (SELECT max(id) FROM action_log)`),
    ).rejects.toThrow(/append-only/);
    await expect(c.deps.pool.query('DELETE FROM action_log')).rejects.toThrow(/append-only/);
  });
});
