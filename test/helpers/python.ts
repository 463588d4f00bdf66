/**
 * The trainer's Python (training/.venv), built by scripts/setup-python.sh: slow the first time,
 * a no-op when it is up to date. The tests that hold the engine to a Python reference or train
 * a model call this first.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

/** The venv's python executable (the script's last output line). */
export async function trainerPython(): Promise<string> {
  const setup = await run('bash', [join(ROOT, 'scripts/setup-python.sh')], {
    cwd: ROOT,
    timeout: 15 * 60_000,
    maxBuffer: 16 << 20,
  });
  return setup.stdout.trim().split('\n').pop()!;
}
