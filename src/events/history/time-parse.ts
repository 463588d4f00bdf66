/**
 * Reading `tx_datetime` / `event_time` text as epoch milliseconds (UTC when no zone is given).
 * Two entry points with the same rules for the common formats: parseDateTime over a string (the
 * reference parsers), which also accepts any ISO 8601 form Date.parse does, and
 * parseDateTimeBytes over a field of a byte buffer (the fast CSV reader), which accepts only
 * `YYYY-MM-DD[T ]HH:MM:SS[Z]` and leaves anything else to the string path. Both cache the epoch
 * of each calendar day they have seen, since a history file holds few distinct days.
 */

const PAD_DIGITS = /^\d+$/;

/** ISO 8601 / `YYYY-MM-DD HH:MM:SS[.fff]` (UTC when no zone) → epoch ms, NaN if invalid. */
export function parseDateTime(s: string, dayCache?: Map<string, number>): number {
  // Fast path: YYYY-MM-DDTHH:MM:SS[Z] (or space), the simulator's and the handbook's formats.
  if ((s.length === 20 && s.charCodeAt(19) === 90) || s.length === 19) {
    const sep = s.charCodeAt(10);
    if ((sep === 84 || sep === 32) && s.charCodeAt(13) === 58 && s.charCodeAt(16) === 58) {
      const dayPart = s.slice(0, 10);
      let dayMs = dayCache?.get(dayPart);
      if (dayMs === undefined) {
        dayMs = Date.parse(`${dayPart}T00:00:00Z`);
        if (Number.isNaN(dayMs) || new Date(dayMs).toISOString().slice(0, 10) !== dayPart) return NaN;
        dayCache?.set(dayPart, dayMs);
      }
      const h = twoDigits(s, 11);
      const m = twoDigits(s, 14);
      const sec = twoDigits(s, 17);
      if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59) return NaN;
      return dayMs + ((h * 60 + m) * 60 + sec) * 1000;
    }
  }
  if (PAD_DIGITS.test(s)) return NaN;
  let iso = s.trim().replace(' ', 'T');
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(iso)) iso += 'Z';
  return Date.parse(iso);
}

function twoDigits(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48;
  const b = s.charCodeAt(at + 1) - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1;
  return a * 10 + b;
}

/**
 * buf[s, e) as `YYYY-MM-DD[T ]HH:MM:SS[Z]` → epoch ms; -1 for anything else (string path decides).
 * dayCache maps YYYYMMDD (as a number) to the epoch of that day.
 */
export function parseDateTimeBytes(buf: Buffer, s: number, e: number, dayCache: Map<number, number>): number {
  const len = e - s;
  if (!(len === 19 || (len === 20 && buf[s + 19] === 90))) return -1;
  const sep = buf[s + 10];
  if ((sep !== 84 && sep !== 32) || buf[s + 4] !== 45 || buf[s + 7] !== 45 || buf[s + 13] !== 58 || buf[s + 16] !== 58)
    return -1;
  const y = digits(buf, s, 4);
  const mo = digits(buf, s + 5, 2);
  const d = digits(buf, s + 8, 2);
  const h = digits(buf, s + 11, 2);
  const mi = digits(buf, s + 14, 2);
  const sec = digits(buf, s + 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return -1;
  const key = (y * 100 + mo) * 100 + d;
  let dayMs = dayCache.get(key);
  if (dayMs === undefined) {
    dayMs = Date.UTC(y, mo - 1, d);
    const check = new Date(dayMs);
    if (mo < 1 || mo > 12 || check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) return -1;
    dayCache.set(key, dayMs);
  }
  return dayMs + ((h * 60 + mi) * 60 + sec) * 1000;
}

/** The unsigned decimal of buf[s, s + n), -1 if any byte is not a digit. */
function digits(buf: Buffer, s: number, n: number): number {
  let v = 0;
  for (let p = s; p < s + n; p++) {
    const d = buf[p]! - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}
