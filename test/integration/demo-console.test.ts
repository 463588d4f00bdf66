/**
 * The demo's workspace (src/app/demo-console.ts) against the local stack: the demo users get new
 * passwords every run (the old ones stop working), the history for backtests is written once and
 * reads as a history file, and the console moves to a free port when its own is taken.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS, ensureHistoryFile, prepareDemoDatabase, startDemoConsole } from '../../src/app/demo-console.js';
import { readHistoryFile } from '../../src/events/history/index.js';
import { listActions } from '../../src/identity/action-log.js';
import { UserStore } from '../../src/identity/users.js';
import { createLogger } from '../../src/observability/logger.js';
import { pgPool } from '../../src/storage/pool.js';
import { createTopics, deleteTopics, testConfig } from '../helpers/engine.js';

describe("the demo's console, users and history", () => {
  const dir = mkdtempSync(join(tmpdir(), 'fe-demo-console-'));
  const cfg = testConfig();
  const pool = pgPool(cfg.postgres, { applicationName: 'test-demo-console', max: 2, connectionTimeoutMillis: 5_000 });
  beforeAll(() => createTopics(cfg, 1));
  afterAll(async () => {
    await deleteTopics(cfg).catch(() => undefined);
    await pool.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives ana and bob new random passwords on every run; the previous ones stop working', async () => {
    const first = await prepareDemoDatabase(cfg);
    const second = await prepareDemoDatabase(cfg);
    expect(second.map((l) => l.username)).toEqual(['ana', 'bob']);
    const users = new UserStore(pool);
    for (const [i, u] of DEMO_USERS.entries()) {
      expect(second[i]!.password).not.toBe(first[i]!.password);
      expect(second[i]!.password.length).toBeGreaterThanOrEqual(20);
      expect(await users.authenticate(u.username, first[i]!.password)).toBeNull();
      expect((await users.authenticate(u.username, second[i]!.password))?.roles).toEqual(u.roles);
    }
    const log = await listActions(pool, { actor: 'demo', action: 'user.add', limit: 2 });
    expect(log.map((a) => a.subject).sort()).toEqual(['ana', 'bob']);
  });

  it('writes the history for backtests once, as a history file the replay reads', async () => {
    const file = join(dir, 'out', 'history.csv');
    expect(await ensureHistoryFile(file)).toBe(true);
    const records = await readHistoryFile(file);
    expect(records.length).toBeGreaterThan(50_000);
    expect(records.some((r) => r.fraud === true)).toBe(true);
    expect(await ensureHistoryFile(file)).toBe(false);
  });

  it('starts the audit sink and the console, on a free port when console.http_port is taken', async () => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    const demo = await startDemoConsole(
      { ...cfg, console: { ...cfg.console, http_port: port, history_file: join(dir, 'h.csv') } },
      { log: createLogger('silent'), engineMetricsUrl: 'http://127.0.0.1:9/metrics' },
    );
    try {
      expect(new URL(demo.url).port).not.toBe(String(port));
      expect((await fetch(`${demo.url}/healthz`)).status).toBe(200);
      const login = await fetch(`${demo.url}/login`);
      expect(await login.text()).toContain('Sign in');
      expect(demo.console.deps.settings.engineMetricsUrl).toBe('http://127.0.0.1:9/metrics');
      expect(demo.historyFile).toBe(join(dir, 'h.csv'));
      // The audit sink consumes the decisions topic (it fills the review queue).
      await expect.poll(() => demo.sink.runner.checks(true).kafka, { timeout: 30_000 }).toBe(true);
    } finally {
      await demo.stop();
      await new Promise((r) => taken.close(r));
    }
  });
});
