/**
 * The dates a history file covers, from its first and last rows (history files are in time
 * order: the simulator's and the audit exports are), without reading the rest of it: the editor
 * shows them and proposes the last week as the backtest window. Cached per file size and mtime.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { inferHistoryFormat, parseHistoryText } from '../../events/history/index.js';

export interface HistorySpan {
  first: number;
  last: number;
}

const cache = new Map<string, { stamp: string; span: HistorySpan | null }>();
const HEAD_BYTES = 64 * 1024;
const TAIL_BYTES = 64 * 1024;

function read(fd: number, at: number, length: number): string {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, at);
  return buf.subarray(0, n).toString('utf8');
}

/** The event times of the first and last rows of `path`; null when it is missing or unreadable. */
export function historySpan(path: string): HistorySpan | null {
  let st;
  try {
    st = statSync(path);
  } catch {
    return null;
  }
  const stamp = `${st.size}:${st.mtimeMs}`;
  const hit = cache.get(path);
  if (hit?.stamp === stamp) return hit.span;
  let span: HistorySpan | null = null;
  const fd = openSync(path, 'r');
  try {
    const format = inferHistoryFormat(path);
    const head = read(fd, 0, Math.min(HEAD_BYTES, st.size)).split('\n');
    const tailText = read(fd, Math.max(0, st.size - TAIL_BYTES), Math.min(TAIL_BYTES, st.size));
    const lastLine = tailText.trimEnd().split('\n').at(-1)!;
    const [header, firstRow] = format === 'csv' ? [head[0]!, head[1]!] : ['', head[0]!];
    const timeOf = (row: string) =>
      parseHistoryText(format === 'csv' ? `${header}\n${row}\n` : `${row}\n`, format)[0]!.event.event_time;
    span = { first: timeOf(firstRow.replace(/\r$/, '')), last: timeOf(lastLine.replace(/\r$/, '')) };
  } catch {
    span = null;
  } finally {
    closeSync(fd);
  }
  cache.set(path, { stamp, span });
  return span;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The last `days` whole days of the span, as [from, to) dates for the form. */
export function lastDays(span: HistorySpan, days: number): { from: string; to: string } {
  const end = Date.parse(`${day(span.last)}T00:00:00Z`) + 86_400_000;
  const start = Math.max(Date.parse(`${day(span.first)}T00:00:00Z`), end - days * 86_400_000);
  return { from: day(start), to: day(end) };
}

export const spanText = (s: HistorySpan): string => `${day(s.first)} to ${day(s.last)}`;
