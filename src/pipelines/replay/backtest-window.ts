/**
 * The history window a backtest runs on (`rules backtest --from --to`, the console's rules page):
 * the records whose event_time is in [from, to), read from a history file without holding the
 * rest of it. The replay's in-memory features start empty at `from`, as they do at the start of
 * a whole file.
 */
import { iterateHistoryFile, type HistoryFormat, type HistoryRecord } from '../../events/history/index.js';

const DAY_MS = 86_400_000;

/** [from, to) in epoch ms; either end open when absent. */
export interface HistoryWindow {
  from?: number;
  to?: number;
}

/** A window the person asked for that cannot run: the message says what to change. */
export class WindowError extends Error {}

/**
 * `YYYY-MM-DD` (midnight UTC) or an ISO 8601 date-time with a zone → epoch ms. `name` is the
 * option or field named in the error.
 */
export function parseWindowBound(name: string, text: string): number {
  const s = text.trim();
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(s)
    ? Date.parse(`${s}T00:00:00Z`)
    : /^\d{4}-\d{2}-\d{2}T.+(Z|[+-]\d{2}:\d{2})$/.test(s)
      ? Date.parse(s)
      : NaN;
  if (Number.isNaN(ms) || (s.length === 10 && new Date(ms).toISOString().slice(0, 10) !== s))
    throw new WindowError(`${name}: '${text}' is not a date (YYYY-MM-DD, or an ISO 8601 time with its zone)`);
  return ms;
}

/**
 * The window of `from` / `to` texts (either may be empty: open), checked: from before to, and
 * at most `maxDays` long when given (both ends are then required).
 */
export function parseWindow(
  from: string | undefined,
  to: string | undefined,
  o: { maxDays?: number; names?: [string, string] } = {},
): HistoryWindow {
  const [fromName, toName] = o.names ?? ['--from', '--to'];
  const w: HistoryWindow = {};
  if (from?.trim()) w.from = parseWindowBound(fromName, from);
  if (to?.trim()) w.to = parseWindowBound(toName, to);
  if (w.from !== undefined && w.to !== undefined && !(w.from < w.to))
    throw new WindowError(`${fromName} must be before ${toName} (the window is [${fromName}, ${toName}))`);
  if (o.maxDays !== undefined) {
    if (w.from === undefined || w.to === undefined)
      throw new WindowError(`both ${fromName} and ${toName} are needed (at most ${o.maxDays} days)`);
    const days = (w.to - w.from) / DAY_MS;
    if (days > o.maxDays)
      throw new WindowError(
        `the window is ${Math.round(days * 10) / 10} days, longer than the ${o.maxDays} days allowed (console.backtest_max_days): choose a shorter one`,
      );
  }
  return w;
}

export function inWindow(w: HistoryWindow, eventTime: number): boolean {
  return (w.from === undefined || eventTime >= w.from) && (w.to === undefined || eventTime < w.to);
}

/** The records of `records` in the window, in their order. */
export function selectWindow(records: Iterable<HistoryRecord>, w: HistoryWindow): HistoryRecord[] {
  const out: HistoryRecord[] = [];
  for (const r of records) if (inWindow(w, r.event.event_time)) out.push(r);
  return out;
}

/** The records of a history file in the window, in file order; only those are kept in memory. */
export async function readHistoryWindow(
  path: string,
  w: HistoryWindow,
  format?: HistoryFormat,
): Promise<HistoryRecord[]> {
  const out: HistoryRecord[] = [];
  for await (const r of iterateHistoryFile(path, format)) if (inWindow(w, r.event.event_time)) out.push(r);
  return out;
}

/** `[2018-04-01, 2018-04-08)`, for reports; open ends as `…`. */
export function windowText(w: HistoryWindow): string {
  const t = (ms: number | undefined) =>
    ms === undefined
      ? '…'
      : new Date(ms)
          .toISOString()
          .replace(/T00:00:00\.000Z$/, '')
          .replace('.000Z', 'Z');
  return `[${t(w.from)}, ${t(w.to)})`;
}
