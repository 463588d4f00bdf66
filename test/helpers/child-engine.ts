/**
 * The engine as a child process, the way production runs it: `node bin/fraud-engine.js run`
 * with FRAUD_* environment overrides; stdout and stderr go to a file (scanned by the tests
 * for PANs and secrets); RSS sampled from /proc; killed with any signal.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ChildEngineProcess, ROOT, type Exit } from '../../src/cli/child-engine.js';
import { findPans } from '../../src/security/pan.js';
import { freePort } from './private-services.js';

export { ROOT };
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
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json')],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (!existsSync(MAIN)) throw new Error(`build failed: ${r.stdout}\n${r.stderr}`);
}

export type { Exit } from '../../src/cli/child-engine.js';

/** A child engine of a test: its output in a file (scanned for PANs and secrets), its peak RSS sampled. */
export class ChildEngine {
  private rssMaxKb = 0;
  private sampler: NodeJS.Timeout;
  private constructor(
    readonly name: string,
    private readonly child: ChildEngineProcess,
    readonly logFile: string,
  ) {
    this.sampler = setInterval(() => {
      const kb = this.rssKb();
      if (kb !== null) this.rssMaxKb = Math.max(this.rssMaxKb, kb);
    }, 200);
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
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !k.startsWith('FRAUD_') && !k.startsWith('VITEST') && k !== 'NODE_ENV') base[k] = v;
    const child = ChildEngineProcess.start({
      args,
      httpPort,
      stdio: ['ignore', out, out],
      env: { ...base, NODE_ENV: 'production', FRAUD_ENGINE_HTTP_PORT: String(httpPort), ...env },
    });
    closeSync(out);
    return new ChildEngine(name, child, logFile);
  }

  get proc(): ChildProcess {
    return this.child.proc;
  }
  get exited(): Promise<Exit> {
    return this.child.exited;
  }
  get httpPort(): number {
    return this.child.httpPort;
  }
  get pid(): number | undefined {
    return this.child.pid;
  }
  get alive(): boolean {
    return this.child.alive;
  }
  get maxRssMb(): number {
    return Math.round(this.rssMaxKb / 1024);
  }
  rssKb(): number | null {
    return this.child.rssKb();
  }

  logs(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  get(path: string): Promise<{ status: number; body: string }> {
    return this.child.get(path);
  }

  /** Waits for /readyz (connected, assigned at least one partition unless `assigned: false`). */
  waitReady(timeoutMs = 60_000, opts: { assigned?: boolean } = {}): Promise<void> {
    return this.child.waitReady({
      timeoutMs,
      accept: (r) => opts.assigned === false && /"kafka":true/.test(r.body),
      detail: () => `engine ${this.name}:\n${this.logs().slice(-3000)}`,
    });
  }

  /** A metric's value (sum over its label sets) from /metrics. */
  metric(name: string, labelFilter?: RegExp): Promise<number> {
    return this.child.metric(name, labelFilter);
  }

  /** A metric's values from /metrics summed per value of one label. */
  metricByLabel(name: string, label: string): Promise<Record<string, number>> {
    return this.child.metricByLabel(name, label);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM and wait (SIGKILL past `graceMs`). */
  stop(graceMs = 15_000): Promise<Exit> {
    return this.child.stop(graceMs);
  }
}

const live = new Set<ChildEngine>();
// Never leave an engine behind, whatever happens to the test process.
process.once('exit', () => {
  for (const e of live) e.kill('SIGKILL');
});

/** Runs the CLI to completion (start-up failures): exit code and output. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): { code: number | null; stdout: string; stderr: string } {
  ensureBuilt();
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FRAUD_')) base[k] = v;
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
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
      } catch {
        /* not JSON: scan it all */
      }
    }
    for (const s of findPans(scan)) found.push(scan.slice(s.start, s.end));
  }
  return found;
}

/** Card numbers for tests: Luhn-valid, of the usual networks' shapes. */
export const TEST_PANS = [
  '4111111111111111',
  '5555555555554444',
  '378282246310005',
  '6011111111111117',
  '4000056655665556',
  '3530111333300000',
];
