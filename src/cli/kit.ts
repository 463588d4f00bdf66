/**
 * The commands' kit: what every composition root in src/commands/ does at its edge, written once.
 * Arguments are parsed or refused with the usage (exit 2), `--help` prints the usage (exit 0),
 * option values are checked with messages that name the option, the configuration is loaded
 * (`--config`, else config/default.yaml), lines are written to a file or stdout, and a long-running
 * service is kept until a signal (exit 0) or a crashing consumer (exit 70).
 *
 * A leaf of the edge: it imports only the shared ground (config), never a command.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type EngineConfig } from '../config/config.js';

/** A mistake in the command line: printed as it is, exit 2. */
export class UsageError extends Error {}

/** What asks for a command's usage in place of a subcommand. */
export const HELP_WORDS: readonly (string | undefined)[] = ['help', '--help', '-h'];

/** `--help` was asked for: the usage goes to stdout, exit 0. */
class HelpRequested extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
/** What parseArgs gives for `O`: each option's value, undefined when absent. */
export type Values<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>
>['values'];

/**
 * parseArgs, strict, with `--help` / `-h` added: a bad option is a UsageError carrying the usage,
 * `--help` ends the command with the usage on stdout (both through `guarded`).
 */
export function parseOrUsage<const O extends Options>(
  args: string[],
  options: O,
  usage: string,
  { positionals = false } = {},
): { values: Values<O>; positionals: string[] } {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: positionals,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${usage}`);
  }
  if (parsed.values.help) throw new HelpRequested(usage);
  return parsed as { values: Values<O>; positionals: string[] };
}

/**
 * Runs a command's body: the usage for --help (0), usage and configuration errors printed (2);
 * `known` maps the errors a user can act on to an exit code (after printing), anything else is thrown.
 */
export async function guarded(
  body: () => Promise<number>,
  known: (err: unknown) => number | undefined = () => undefined,
): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof HelpRequested) {
      console.log(err.message);
      return 0;
    }
    if (err instanceof UsageError || err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    const code = known(err);
    if (code !== undefined) return code;
    throw err;
  }
}

/** The configuration of `--config FILE`, else config/default.yaml (FRAUD_* overrides applied). */
export function configOf(path: string | undefined): EngineConfig {
  return loadConfig(path ?? 'config/default.yaml');
}

/** An integer option: `dflt` when absent, else at least `min`. */
export function intOption(name: string, raw: string | undefined, dflt: number, min = 0): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got '${raw}'`);
  return n;
}

/** A finite number option: `dflt` when absent, else at least `min`. */
export function numberOption(name: string, raw: string | undefined, dflt: number, min = 0): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min)
    throw new UsageError(`--${name} must be a number >= ${min}, got '${raw}'`);
  return n;
}

/** One of `allowed`, or undefined when absent. */
export function choiceOption<const T extends string>(
  name: string,
  raw: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw))
    throw new UsageError(`--${name} must be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}, got '${raw}'`);
  return raw as T;
}

/** A history file's format option: csv | jsonl, undefined = from the file's extension. */
export const formatOption = (raw: string | undefined): 'csv' | 'jsonl' | undefined =>
  choiceOption('format', raw, ['csv', 'jsonl'] as const);

/**
 * Epoch ms of a time option: `2026-01-31` (UTC midnight), an ISO date-time, or epoch ms digits;
 * a UsageError naming the option otherwise.
 */
export function parseTime(name: string, v: string): number {
  const t = /^\d{10,}$/.test(v) ? Number(v) : Date.parse(/T|\s\d/.test(v) ? v : `${v}T00:00:00Z`);
  if (!Number.isFinite(t))
    throw new UsageError(`--${name}: not a time: '${v}' (use 2026-01-31, 2026-01-31T14:00:00Z or epoch ms)`);
  return t;
}

/** A required option or positional: its value, or a UsageError with the usage. */
export function required<T>(v: T | undefined, what: string, usage: string): T {
  if (v === undefined || v === '') throw new UsageError(`${what} is required\n\n${usage}`);
  return v;
}

export interface LineWriter {
  /** Writes `text` as it is (the caller ends lines), waiting when the stream is full. */
  write(text: string): Promise<void>;
  /** Ends the file (stdout stays open). */
  close(): Promise<void>;
}

/** Writes lines to a file, or to stdout for '-', with back-pressure. */
export function lineWriter(path: string): LineWriter {
  const s: Writable = path === '-' ? process.stdout : createWriteStream(path);
  return {
    async write(text) {
      if (!s.write(text)) await once(s, 'drain');
    },
    async close() {
      if (s === process.stdout) return;
      s.end();
      await once(s, 'finish');
    },
  };
}

/**
 * Runs `write` on the file `outPath` (stdout when null), the file ended and flushed after.
 * Undefined when written; else the exit code to stop with: 0 when stdout was closed early
 * (EPIPE, e.g. `| head`: not an error), 1 on an error, printed as "cannot write …".
 */
export async function writeOutput(
  outPath: string | null,
  write: (out: Writable) => Promise<void>,
): Promise<number | undefined> {
  const out: Writable = outPath ? createWriteStream(outPath) : process.stdout;
  let outError: NodeJS.ErrnoException | null = null;
  out.on('error', (err: NodeJS.ErrnoException) => {
    outError ??= err;
  });
  try {
    await write(out);
    if (outPath) {
      out.end();
      await finished(out);
    }
    return undefined;
  } catch (err) {
    const e = (outError ?? err) as NodeJS.ErrnoException;
    if (e.code === 'EPIPE') return 0;
    console.error(`cannot write ${outPath ?? 'stdout'}: ${e.message}`);
    return 1;
  }
}

/** A started long-running service (the engine, the audit sink). */
export interface Service {
  /** Stops fetching, finishes the batch in flight, commits and disconnects. */
  stop(): Promise<void>;
  /** Settles when a consumer keeps crashing although run again: exit for the supervisor. */
  fatal: Promise<Error>;
}

/** A service's fatal error as a promise (its handle's `fatal`) and the callback that settles it (its runners' `onFatal`). */
export function fatalLatch(): { fatal: Promise<Error>; onFatal: (err: Error) => void } {
  let onFatal: (err: Error) => void = () => undefined;
  const fatal = new Promise<Error>((resolve) => {
    onFatal = resolve;
  });
  return { fatal, onFatal };
}

/** Exit code of a consumer that keeps crashing (EX_SOFTWARE): the supervisor starts a fresh process. */
export const EXIT_CONSUMER_CRASHED = 70;

/**
 * Runs `service` until SIGTERM or SIGINT (exit 0 once the batch in flight is committed) or until
 * its consumer keeps crashing (exit 70: nothing is lost, the uncommitted batches are delivered
 * again to whoever owns them next). Stopping is bounded by `budgetMs` (then exit 1), and a
 * client library's stray timer cannot keep the stopped process alive.
 */
export function runUntilStopped(service: Service, log: Logger, budgetMs: number): Promise<number> {
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const shutdown = (reason: string, code: number) => {
      if (stopping) return;
      stopping = true;
      log.info({ reason }, 'shutting down: finishing the batch in flight');
      const hard = setTimeout(() => {
        log.error('shutdown budget exceeded, exiting');
        process.exit(code || 1);
      }, budgetMs);
      hard.unref();
      service.stop().then(
        () => {
          clearTimeout(hard);
          resolveExit(code);
          setTimeout(() => process.exit(code), 500).unref();
        },
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          resolveExit(code || 1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM', 0));
    process.once('SIGINT', () => shutdown('SIGINT', 0));
    void service.fatal.then((err) => {
      log.error({ err }, 'a consumer keeps crashing: exiting for the supervisor');
      shutdown(`consumer crashed: ${err.message}`, EXIT_CONSUMER_CRASHED);
    });
  });
}
