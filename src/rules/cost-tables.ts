/**
 * The tables of the rule cost estimate (./cost.ts): the units of its work (an RE2 call, string
 * work, a cheap step, a fallible read), the functions it knows, and the shapes of what a rule
 * reads (the transaction's fields at their longest, the features).
 */
import { MAX_ID_LENGTH } from '../events/limits.js';
import { CHANNELS } from '../events/types.js';
import { FEATURE_FIELDS, TX_FIELDS } from './context.js';

/** Units of a call to RE2 (re2js's test() costs ~0.5 µs on a short string) … */
export const MATCHES_BASE = 25;
/** … plus one unit per 4 characters it scans (~10 ns a character) … */
export const MATCHES_CHARS_PER_UNIT = 4;
/** Characters of string work per unit. */
export const CHARS_PER_UNIT = 32;
/** A constant item of a list or map literal, and one step of a scan (`in` a list): ~3-5 ns. */
export const CHEAP_STEP = 0.25;
/** … plus, at worst (RE2's NFA), every instruction of the program per character: characters × instructions per unit. */
export const REGEX_STEPS_PER_UNIT = 64;
/**
 * A feature (`f.x`) or `score` may be missing: reading it then throws inside cel-js, which costs
 * ~2 µs (measured), a hundred times a normal read. `has(f.x)` is not a read.
 */
export const FALLIBLE_READ = 50;

/** What the estimate knows of a value: a string's longest length, a list's or map's largest size. */
export interface Shape {
  /** scalar: a number or a bool; absent: not known (dyn). */
  kind?: 'string' | 'scalar' | 'list' | 'map' | 'object';
  len?: number;
  size?: number;
  /** A list's items, a map's keys. */
  elem?: Shape;
  /** A map's values. */
  value?: Shape;
  /** Fields of a message (tx, lists). */
  fields?: Readonly<Record<string, Shape>>;
}

export const MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
export const STRING_TO_STRING = new Set([
  'lowerAscii',
  'upperAscii',
  'trim',
  'substring',
  'replace',
  'reverse',
  'quote',
]);
export const STRING_SCAN = new Set([
  'contains',
  'startsWith',
  'endsWith',
  'indexOf',
  'lastIndexOf',
  'charAt',
  'size',
  'join',
  ...STRING_TO_STRING,
  'split',
]);

export const str = (len: number): Shape => ({ kind: 'string', len });
export const SCALAR: Shape = { kind: 'scalar' };
export const FEATURE_SHAPES: Readonly<Record<string, Shape>> = Object.fromEntries(
  Object.keys(FEATURE_FIELDS).map((k) => [k, SCALAR]),
);
export const channelLength = Math.max(...CHANNELS.map((c) => c.length));
export const TX_SHAPE: Shape = {
  kind: 'object',
  fields: Object.fromEntries(
    Object.entries(TX_FIELDS).map(([k, t]) => [
      k,
      t !== 'string' ? SCALAR : str(k === 'currency' ? 3 : k === 'channel' ? channelLength : MAX_ID_LENGTH),
    ]),
  ),
};

export function join(a: Shape | undefined, b: Shape | undefined): Shape {
  if (!a) return b ?? {};
  if (!b) return a;
  return {
    kind: a.kind === b.kind ? a.kind : undefined,
    len: a.len === undefined || b.len === undefined ? undefined : Math.max(a.len, b.len),
    size: a.size === undefined || b.size === undefined ? undefined : Math.max(a.size, b.size),
    elem: a.elem && b.elem ? join(a.elem, b.elem) : undefined,
    value: a.value && b.value ? join(a.value, b.value) : undefined,
  };
}
