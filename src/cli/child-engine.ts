/**
 * The engine as a child process, the way production runs it: `node bin/fraud-engine.js run` with
 * FRAUD_* environment overrides, ready when its /readyz answers 200. The one start-and-wait for
 * the bench, the demo and the tests (test/helpers/child-engine.ts).
 *
 * A leaf of the edge: it imports nothing of the engine.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The checkout (or installed package): bin/, config/, scripts/, training/. */
export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = resolve(ROOT, 'bin/fraud-engine.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildEngineOptions {
  /** The whole environment of the child (FRAUD_ENGINE_HTTP_PORT included when not the configured one). */
  env: NodeJS.ProcessEnv;
  /** The port of /readyz and /metrics. */
  httpPort: number;
  httpHost?: string;
  /** After `run`. */
  args?: string[];
  /** Before the launcher, e.g. --cpu-prof. */
  nodeArgs?: string[];
  stdio?: StdioOptions;
}

export class ChildEngineProcess {
  readonly exited: Promise<Exit>;
  readonly url: string;

  private constructor(
    readonly proc: ChildProcess,
    host: string,
    readonly httpPort: number,
  ) {
    this.url = `http://${host}:${httpPort}`;
    this.exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  }

  /** Spawns `node [nodeArgs] bin/fraud-engine.js run [args]`. */
  static start(o: ChildEngineOptions): ChildEngineProcess {
    const proc = spawn(process.execPath, [...(o.nodeArgs ?? []), BIN, 'run', ...(o.args ?? [])], {
      cwd: ROOT,
      stdio: o.stdio ?? ['ignore', 'ignore', 'inherit'],
      env: o.env,
    });
    return new ChildEngineProcess(proc, o.httpHost ?? '127.0.0.1', o.httpPort);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }
  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.text() };
  }

  /**
   * Waits for /readyz to answer 200 (or `accept` to take its answer), failing when the engine
   * exits or `timeoutMs` passes; `detail` adds to the error (the engine's name, its log).
   */
  async waitReady(
    o: {
      timeoutMs?: number;
      intervalMs?: number;
      accept?: (r: { status: number; body: string }) => boolean;
      detail?: () => string;
    } = {},
  ): Promise<void> {
    const timeoutMs = o.timeoutMs ?? 60_000;
    const until = Date.now() + timeoutMs;
    const detail = () => (o.detail ? `\n${o.detail()}` : '');
    for (;;) {
      if (!this.alive) throw new Error(`engine exited before ready: ${JSON.stringify(await this.exited)}${detail()}`);
      try {
        const r = await this.get('/readyz');
        if (r.status === 200 || o.accept?.(r)) return;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > until)
        throw new Error(`engine not ready within ${timeoutMs} ms (${this.url}/readyz)${detail()}`);
      await new Promise((r) => setTimeout(r, o.intervalMs ?? 100));
    }
  }

  /** A metric's value from /metrics: the sum over its label sets (those matching `labels` when given). */
  async metric(name: string, labels?: RegExp): Promise<number> {
    let sum = 0;
    for (const m of await this.samples(name)) if (!labels || labels.test(m.labels)) sum += m.value;
    return sum;
  }

  /** A metric's values summed per value of one label. */
  async metricByLabel(name: string, label: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const re = new RegExp(`${label}="([^"]*)"`);
    for (const m of await this.samples(name)) {
      const v = re.exec(m.labels)?.[1];
      if (v !== undefined) out[v] = (out[v] ?? 0) + m.value;
    }
    return out;
  }

  private async samples(name: string): Promise<{ labels: string; value: number }[]> {
    const { body } = await this.get('/metrics');
    const out: { labels: string; value: number }[] = [];
    for (const line of body.split('\n')) {
      if (!line.startsWith(name)) continue;
      const m = /^([a-z_]+)(\{[^}]*\})?\s+([0-9.e+-]+|NaN)$/.exec(line);
      if (m && m[1] === name) out.push({ labels: m[2] ?? '', value: Number(m[3]) });
    }
    return out;
  }

  /** Resident memory from /proc, null when the process is gone. */
  rssKb(): number | null {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.proc.pid}/status`, 'utf8'));
      return m ? Number(m[1]) : null;
    } catch {
      return null;
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(signal);
  }

  /** SIGTERM (the engine finishes its batch, commits, exits) and wait; SIGKILL past `graceMs`. */
  async stop(graceMs = 15_000): Promise<Exit> {
    this.kill('SIGTERM');
    const t = setTimeout(() => this.kill('SIGKILL'), graceMs);
    const e = await this.exited;
    clearTimeout(t);
    return e;
  }
}
