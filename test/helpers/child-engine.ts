/**
 * The engine as a child process, the way production runs it: `node bin/fraud-engine.js run`
 * with FRAUD_* environment overrides; stdout and stderr go to a file (scanned by the tests
 * for PANs and secrets); RSS sampled from /proc; killed with any signal.
 */
import { findPans } from '../../src/security/pan.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './private-services.js';

export const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/fraud-engine.js');
const MAIN = join(ROOT, 'dist/cli/main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts') || e.name.endsWith('.sql')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * bin/fraud-engine.js runs dist/: compile it (`npm run build`) when a source is newer.
 * Type errors elsewhere in a work tree still emit JavaScript, so only a missing output fails.
 */
export function ensureBuilt(): void {
  if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json')], { cwd: ROOT, encoding: 'utf8' });
  if (!existsSync(MAIN)) throw new Error(`build failed: ${r.stdout}\n${r.stderr}`);
}

export interface Exit { code: number | null; signal: NodeJS.Signals | null }

export class ChildEngine {
  readonly exited: Promise<Exit>;
  private rssMaxKb = 0;
  private sampler: NodeJS.Timeout;
  private constructor(readonly name: string, readonly proc: ChildProcess, readonly logFile: string, readonly httpPort: number) {
    this.exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
    this.sampler = setInterval(() => { const kb = this.rssKb(); if (kb !== null) this.rssMaxKb = Math.max(this.rssMaxKb, kb); }, 200);
    this.sampler.unref();
    void this.exited.then(() => clearInterval(this.sampler));
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  /** Spawns `node bin/fraud-engine.js run [args]` with `env` over a clean environment. */
  static async spawn(name: string, env: Record<string, string>, args: string[] = []): Promise<ChildEngine> {
    ensureBuilt();
    const httpPort = env.FRAUD_ENGINE_HTTP_PORT ? Number(env.FRAUD_ENGINE_HTTP_PORT) : await freePort();
    const dir = mkdtempSync(join(tmpdir(), `fe-engine-${name}-`));
    const logFile = join(dir, 'engine.log');
    const out = openSync(logFile, 'a');
    const base: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FRAUD_') && !k.startsWith('VITEST') && k !== 'NODE_ENV') base[k] = v;
    const proc = spawn(process.execPath, [BIN, 'run', ...args], {
      cwd: ROOT, stdio: ['ignore', out, out],
      env: { ...base, NODE_ENV: 'production', FRAUD_ENGINE_HTTP_PORT: String(httpPort), ...env },
    });
    closeSync(out);
    return new ChildEngine(name, proc, logFile, httpPort);
  }

  get pid(): number | undefined { return this.proc.pid; }
  get alive(): boolean { return this.proc.exitCode === null && this.proc.signalCode === null; }
  get maxRssMb(): number { return Math.round(this.rssMaxKb / 1024); }

  rssKb(): number | null {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.proc.pid}/status`, 'utf8'));
      return m ? Number(m[1]) : null;
    } catch {
      return null;
    }
  }

  logs(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.httpPort}${path}`, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.text() };
  }

  /** Waits for /readyz (connected, assigned at least one partition when `assigned`). */
  async waitReady(timeoutMs = 60_000, opts: { assigned?: boolean } = {}): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (!this.alive) throw new Error(`engine ${this.name} exited before ready: ${JSON.stringify(await this.exited)}\n${this.logs().slice(-3000)}`);
      try {
        const r = await this.get('/readyz');
        if (r.status === 200) return;
        if (opts.assigned === false && /"kafka":true/.test(r.body)) return;
      } catch { /* not listening yet */ }
      if (Date.now() > until) throw new Error(`engine ${this.name} not ready within ${timeoutMs} ms\n${this.logs().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A metric's value (sum over its label sets) from /metrics. */
  async metric(name: string, labelFilter?: RegExp): Promise<number> {
    const { body } = await this.get('/metrics');
    let sum = 0;
    for (const line of body.split('\n')) {
      if (!line.startsWith(name)) continue;
      const m = /^([a-z_]+)(\{[^}]*\})?\s+([0-9.e+-]+|NaN)$/.exec(line);
      if (!m || m[1] !== name) continue;
      if (labelFilter && !labelFilter.test(m[2] ?? '')) continue;
      sum += Number(m[3]);
    }
    return sum;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(signal);
  }

  /** SIGTERM and wait (SIGKILL past `graceMs`). */
  async stop(graceMs = 15_000): Promise<Exit> {
    this.kill('SIGTERM');
    const t = setTimeout(() => this.kill('SIGKILL'), graceMs);
    const e = await this.exited;
    clearTimeout(t);
    return e;
  }
}

const live = new Set<ChildEngine>();
// Never leave an engine behind, whatever happens to the test process.
process.once('exit', () => { for (const e of live) e.kill('SIGKILL'); });

/** Runs the CLI to completion (start-up failures): exit code and output. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 30_000): { code: number | null; stdout: string; stderr: string } {
  ensureBuilt();
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FRAUD_')) base[k] = v;
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...base, ...env }, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// ------------------------------------------------------------------------------- leak scans


/**
 * Every card number in `text`, as written (separators included), by the detection of
 * src/security/pan.ts (separators, glued to letters, inside longer digit runs; UUIDs and
 * ISO-8601 dates exempt). A JSON log line is scanned without the value of its `time` field (an
 * epoch in milliseconds is not card-prefixed, but one in micro- or nanoseconds could be); the
 * rest of the line is scanned as written, not re-serialized (a 19-digit number would lose digits
 * through JSON.parse).
 */
export function panRuns(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split('\n')) {
    let scan = line;
    if (line.startsWith('{')) {
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        if (typeof o.time === 'number') scan = line.replace(/"time":\d+/, '"time":0');
      } catch { /* not JSON: scan it all */ }
    }
    for (const s of findPans(scan)) found.push(scan.slice(s.start, s.end));
  }
  return found;
}

/** Card numbers for tests: Luhn-valid, of the usual networks' shapes. */
export const TEST_PANS = ['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117', '4000056655665556', '3530111333300000'];
