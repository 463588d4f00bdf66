/**
 * Card numbers (PANs): the one place that says what looks like one, and how it is masked. Used by
 * validation and the DLQ (identifiers), the logger (every string of every line), the assistant
 * (what may be sent to a model) and the tests' leak scan.
 *
 * What counts as a card number:
 *  - A digit sequence is digits possibly separated by runs of 1-2 separators (space, tab, `-`,
 *    `.`, `/`): `4111 1111 1111 1111`, `4111.1111.1111.1111`, `4111  1111-1111/1111`. Anything
 *    else (letters included) is a boundary, so `ref4111111111111111x` is found.
 *  - Every window of 13-19 consecutive digits of a sequence is checked, not only the whole
 *    sequence: in `qty 12 4111111111111111` the 18-digit run fails Luhn, the 16-digit window
 *    passes; an Avro length byte that is a digit (or a space) before a PAN does the same.
 *  - A window is a card number when it passes Luhn AND starts like a card: major industry
 *    identifier 2-6 (Mastercard 2-series, Amex/Diners/JCB, Visa, Mastercard/Maestro, Discover/
 *    UnionPay/RuPay) at any length, or 1 only at length 15 (UATP). Why: epoch-millisecond
 *    timestamps (`1795616763230`) are 13 digits starting with 1 and pass Luhn one time in ten;
 *    MII 0, 7, 8 and 9 are not payment cards.
 *  - Look-alikes exempt before scanning, so that they neither match nor join with neighbours:
 *    UUIDs (8-4-4-4-12 hex with at least one letter: their middle groups are often all digits,
 *    `…0a06-8430-4952-8393-47…`) and ISO-8601 dates and date-times (`2026-12-01`,
 *    `2026-12-01T03:46:54.123Z`, `2026-12-01 03:46:54+02:00`).
 *
 * Erring on the side of masking is deliberate: a false positive costs a `[PAN]` in a log line;
 * a miss leaks a card number. Identifiers are the exception (a false positive refuses a good
 * authorization), see identifierHasPan.
 *
 * Cost: a string with fewer than 13 digits is rejected by one char-code loop; otherwise one
 * more pass over the string and O(1) per window (Luhn sums from prefix sums). No regex per
 * window; the exemption regexes only run when the plain scan found something.
 */

interface PanSpan {
  start: number;
  end: number;
}

const MIN_LEN = 13;
const MAX_LEN = 19;
/** Luhn's doubled digit: 2d, minus 9 when above 9. */
const DOUBLED = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];

/** The Luhn check of a card number (digits only; anything else makes it false). */
export function luhnOk(digits: string): boolean {
  const n = digits.length;
  if (n === 0) return false;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = digits.charCodeAt(n - 1 - i) - 48;
    if (d < 0 || d > 9) return false;
    sum += i % 2 === 1 ? DOUBLED[d]! : d;
  }
  return sum % 10 === 0;
}

/** MII 2-6 at any length, 1 (UATP) only at 15. */
function plausiblePrefix(first: number, len: number): boolean {
  return (first >= 2 && first <= 6) || (first === 1 && len === 15);
}

function isSep(c: number): boolean {
  return c === 32 || c === 45 || c === 46 || c === 47 || c === 9;
}

/** At least 13 ASCII digits: below that nothing can match. */
function enoughDigits(text: string): boolean {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57 && ++n >= MIN_LEN) return true;
  }
  return false;
}

// ----------------------------------------------------------------------------- exemptions

// No look-around for neighbours: in raw Avro a string's length byte is often a digit ('0'-'9' are
// the lengths 24-28, a UUID is 36 characters long and a date-time 24) and glued to the shape.
const UUID_RE = /[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}/g;
const ISO_RE =
  /(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?/g;
const HEX_LETTER_RE = /[A-Fa-f]/;

/** A mask of the characters inside UUIDs and ISO-8601 dates, or null when there are none. */
function exemptions(text: string): Uint8Array | null {
  if (text.indexOf('-') < 0) return null; // both shapes have dashes
  let mask: Uint8Array | null = null;
  const mark = (from: number, to: number): void => {
    mask ??= new Uint8Array(text.length);
    mask.fill(1, from, to);
  };
  for (const m of text.matchAll(UUID_RE)) {
    // An all-digit "UUID" is 32 digits in a row that might hide a card number: not exempt.
    if (HEX_LETTER_RE.test(m[0])) mark(m.index, m.index + m[0].length);
  }
  for (const m of text.matchAll(ISO_RE)) mark(m.index, m.index + m[0].length);
  return mask;
}

// ----------------------------------------------------------------------------- the scan

// Scratch buffers of the current digit sequence (grown on demand; the scan is synchronous).
let digitBuf = new Uint8Array(64);
let posBuf = new Int32Array(64);
let evenBuf = new Int32Array(65); // Luhn prefix sums when the window ends on an even index
let oddBuf = new Int32Array(65); // ... on an odd index

function grow(n: number): void {
  if (n <= digitBuf.length) return;
  const size = Math.max(n, digitBuf.length * 2);
  const d = new Uint8Array(size);
  d.set(digitBuf);
  digitBuf = d;
  const p = new Int32Array(size);
  p.set(posBuf);
  posBuf = p;
  evenBuf = new Int32Array(size + 1);
  oddBuf = new Int32Array(size + 1);
}

/**
 * Windows of the current sequence (k digits in digitBuf/posBuf) that are card numbers, pushed
 * onto `out` as text spans merged when overlapping. Without `out`, stops at the first one.
 */
function checkWindows(k: number, out: PanSpan[] | null): boolean {
  const D = digitBuf,
    E = evenBuf,
    O = oddBuf;
  // The Luhn sum of window [s, e] doubles the digits at an odd distance from e. E[j] sums digit
  // j plain when j is even and doubled when odd (windows ending on an even e); O the reverse.
  for (let j = 0; j < k; j++) {
    const d = D[j]!,
      dd = DOUBLED[d]!;
    const odd = j & 1;
    E[j + 1] = E[j]! + (odd ? dd : d);
    O[j + 1] = O[j]! + (odd ? d : dd);
  }
  let found = false;
  let cur: PanSpan | null = out && out.length > 0 ? out[out.length - 1]! : null;
  for (let s = 0; s + MIN_LEN <= k; s++) {
    const first = D[s]!;
    if (first === 0 || first > 6) continue;
    let bestEnd = -1;
    const maxLen = Math.min(MAX_LEN, k - s);
    for (let len = MIN_LEN; len <= maxLen; len++) {
      if (!plausiblePrefix(first, len)) continue;
      const e = s + len - 1;
      const sum = e & 1 ? O[e + 1]! - O[s]! : E[e + 1]! - E[s]!;
      if (sum % 10 === 0) bestEnd = e;
    }
    if (bestEnd < 0) continue;
    found = true;
    if (!out) return true;
    const start = posBuf[s]!,
      end = posBuf[bestEnd]! + 1;
    if (cur && start <= cur.end) {
      if (end > cur.end) cur.end = end;
    } else {
      cur = { start, end };
      out.push(cur);
    }
  }
  return found;
}

/** Digit sequences of `text` (skipping exempt characters), each checked window by window. */
function scan(text: string, exempt: Uint8Array | null, out: PanSpan[] | null): boolean {
  const n = text.length;
  let found = false;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (c < 48 || c > 57 || (exempt !== null && exempt[i] === 1)) {
      i++;
      continue;
    }
    let k = 0;
    for (;;) {
      if (k === digitBuf.length) grow(k + 1);
      digitBuf[k] = c - 48;
      posBuf[k] = i;
      k++;
      i++;
      if (i >= n) break;
      c = text.charCodeAt(i);
      if (c >= 48 && c <= 57 && (exempt === null || exempt[i] === 0)) continue;
      if (!isSep(c)) break;
      // A run of 1-2 separators joins two digits; 3 or more end the sequence.
      let j = i + 1;
      if (j < n && isSep(text.charCodeAt(j))) j++;
      if (j >= n) break;
      const c2 = text.charCodeAt(j);
      if (c2 < 48 || c2 > 57 || (exempt !== null && exempt[j] === 1)) break;
      i = j;
      c = c2;
    }
    if (k >= MIN_LEN && checkWindows(k, out)) {
      found = true;
      if (!out) return true;
    }
  }
  return found;
}

// ----------------------------------------------------------------------------- API

/** Spans [start, end) in `text` of every card-number-like sequence (merged when overlapping). */
export function findPans(text: string): { start: number; end: number }[] {
  if (!enoughDigits(text)) return [];
  // Exemptions only remove candidates: scan without them first, and only when something was
  // found compute them and scan again.
  const spans: PanSpan[] = [];
  if (!scan(text, null, spans)) return spans;
  const exempt = exemptions(text);
  if (exempt === null) return spans;
  spans.length = 0;
  scan(text, exempt, spans);
  return spans;
}

export function containsPan(text: string): boolean {
  if (!enoughDigits(text)) return false;
  if (!scan(text, null, null)) return false;
  const exempt = exemptions(text);
  return exempt === null || scan(text, exempt, null);
}

export const PAN_MASK = '[PAN]';

/** Every span replaced with '[PAN]'. */
export function maskPans(text: string): string {
  const spans = findPans(text);
  if (spans.length === 0) return text;
  let out = '';
  let last = 0;
  for (const s of spans) {
    out += text.slice(last, s.start) + PAN_MASK;
    last = s.end;
  }
  return out + text.slice(last);
}

/** Raw bytes (e.g. an Avro payload) scanned as latin1; any non-digit, non-separator byte is a boundary. */
export function bufferContainsPan(buf: Uint8Array): boolean {
  // Quick reject without decoding.
  let digits = 0;
  for (let i = 0; i < buf.length && digits < MIN_LEN; i++) {
    const b = buf[i]!;
    if (b >= 48 && b <= 57) digits++;
  }
  if (digits < MIN_LEN) return false;
  return containsPan(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1'));
}

// ----------------------------------------------------------------------------- identifiers

/**
 * For identifiers that are stored (Redis keys) and emitted: the full detection (containsPan),
 * except for a hash-shaped value (only [0-9a-f], length >= 32, at least one letter), which
 * holds long digit runs by chance. On 1,000,000 random 64-hex strings (scripts/bench-pan.mjs):
 *  - the window scan (containsPan) flags ~1.0 %;
 *  - maximal digit runs of 13-19 digits, MII-prefixed and Luhn-valid, still ~0.21 %: a 64-hex
 *    string holds a 13-19 digit run 4.3 % of the time, half of them card-prefixed, one in ten
 *    of those Luhn-valid;
 *  - so a run counts only when, in addition, it touches either end of the value and is a card
 *    number of a real network for its length (networkPrefix: issuer ranges, not just the MII):
 *    ~0.004 % (26-47 per million in our runs). A card number lands in a hash-shaped field by
 *    concatenation (`<pan><hash>`, `<hash><pan>`), not in the middle of a digest.
 * Blind spot, the price of the low rate: a PAN glued to a hash whose adjacent end is a digit
 * makes a longer maximal run and is not seen; a PAN in the middle of a hex string neither.
 */
export function identifierHasPan(value: string): boolean {
  if (!hashShaped(value)) return containsPan(value);
  const n = value.length;
  // Leading run.
  let a = 0;
  while (a < n && isDigitCode(value.charCodeAt(a))) a++;
  if (a >= MIN_LEN && a <= MAX_LEN && cardRun(value, 0, a)) return true;
  // Trailing run.
  let b = n;
  while (b > 0 && isDigitCode(value.charCodeAt(b - 1))) b--;
  return n - b >= MIN_LEN && n - b <= MAX_LEN && cardRun(value, b, n);
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Only [0-9a-f], length >= 32, at least one letter (an all-digit string gets full detection). */
function hashShaped(v: string): boolean {
  if (v.length < 32) return false;
  let letter = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 97 && c <= 102) letter = true;
    else if (c < 48 || c > 57) return false;
  }
  return letter;
}

function cardRun(v: string, from: number, to: number): boolean {
  const run = v.slice(from, to);
  return networkPrefix(run) && luhnOk(run);
}

/**
 * Whether `digits` (13-19 of them) starts with the issuer prefix of a major network that issues
 * cards of that length: Visa 4 (13, 16, 19); Mastercard 51-55, 2221-2720 (16); Mir 2200-2204
 * (16-19); Amex 34, 37 (15); JCB 3528-3589 (16-19); Diners 300-305, 3095, 36, 38-39 (14-19);
 * Discover 6011, 644-649, 65 (16-19); UnionPay 62 (16-19); RuPay 60 (16); Maestro 5018, 5020,
 * 5038, 5893, 6304, 6759, 6761-6763 (13-19). UATP (1, 15 digits) is left out here: airline
 * cards, and a hash's leading digits glued to a 13-digit id starting with 1 would hit it.
 */
function networkPrefix(digits: string): boolean {
  const len = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  const maestro =
    p4 === 5018 ||
    p4 === 5020 ||
    p4 === 5038 ||
    p4 === 5893 ||
    p4 === 6304 ||
    p4 === 6759 ||
    (p4 >= 6761 && p4 <= 6763);
  if (maestro) return true;
  switch ((p2 / 10) | 0) {
    case 2:
      return (len === 16 && p4 >= 2221 && p4 <= 2720) || (len >= 16 && p4 >= 2200 && p4 <= 2204);
    case 3:
      if (p2 === 34 || p2 === 37) return len === 15;
      if (p4 >= 3528 && p4 <= 3589) return len >= 16;
      return len >= 14 && ((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39);
    case 4:
      return len === 13 || len === 16 || len === 19;
    case 5:
      return p2 >= 51 && p2 <= 55 && len === 16;
    case 6:
      return (
        len >= 16 && (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || p2 === 62 || (p2 === 60 && len === 16))
      );
    default:
      return false;
  }
}
