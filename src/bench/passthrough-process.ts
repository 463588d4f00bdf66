/**
 * The passthrough (./kafka.ts) as a separate process, for the fixed-rate floor: like the engine,
 * it has its own event loop and its own CPU, apart from the bench's reader. The worker side
 * (`fraud-engine bench passthrough`) prints `ready` once its group is joined and a JSON line with
 * what it moved when told to stop (SIGTERM); the bench side starts it and waits for both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, ROOT } from '../cli/child-engine.js';
import type { Passthrough } from './kafka.js';

export const READY_LINE = 'ready';

/**
 * The worker: runs the passthrough `start` gives (kafkajs, or @platformatic/kafka for the A/B of
 * the clients) until `stopped` resolves; `out` gets the ready line and the summary.
 */
export async function passthroughWorker(
  start: () => Promise<Passthrough>,
  stopped: Promise<unknown>,
  out: (line: string) => void,
): Promise<void> {
  const p = await start();
  await p.joined;
  out(READY_LINE);
  await stopped;
  await p.stop();
  out(JSON.stringify({ seen: p.progress().seen }));
}

export interface PassthroughProcess {
  process: ChildProcess;
  /** Resolves when the worker has joined its group; rejects if it exits first. */
  ready: Promise<void>;
  /** SIGTERM and wait: the events it moved. */
  stop(): Promise<{ seen: number }>;
}

/** Starts `fraud-engine bench passthrough --input I --output O --group G` with `env`. */
export function startPassthroughProcess(
  o: { input: string; output: string; groupId: string },
  env: NodeJS.ProcessEnv,
): PassthroughProcess {
  const child = spawn(
    process.execPath,
    [BIN, 'bench', 'passthrough', '--input', o.input, '--output', o.output, '--group', o.groupId],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env },
  );
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.split('\n').includes(READY_LINE)) resolve();
    });
    void exited.then((code) => reject(new Error(`passthrough process exited before ready (code ${code})`)));
  });
  return {
    process: child,
    ready,
    stop: async () => {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`passthrough process exited with code ${code}`);
      return JSON.parse(out.trim().split('\n').pop() ?? '{}') as { seen: number };
    },
  };
}
