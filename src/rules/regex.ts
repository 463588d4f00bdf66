/**
 * The regular expressions of `matches()`: RE2 (re2js, a pure-JavaScript port of RE2), whose
 * matching time is linear in the input, instead of the backtracking RegExp of cel-js's built-in
 * (`^(a+)+$` over 128 characters blocked the event loop for seconds). RE2 syntax is what the
 * CEL specification prescribes for `matches`; it has no backreferences and no lookaround,
 * which are refused when a ruleset compiles. Semantics as in CEL: a match anywhere in the
 * string (anchor with ^ and $).
 *
 * Patterns are compiled once per pattern string and kept in a bounded cache shared by every
 * ruleset version (a reload does not recompile them).
 */
import { RE2JS } from 're2js';

/**
 * The method `s.matches(p)` is compiled to. cel-js registers `string.matches(string)` itself (a
 * backtracking RegExp) and refuses a second overload of it, so the compiler renames the method
 * in the parsed AST to this one, registered with RE2 (src/rules/compile.ts).
 */
export const RECEIVER_MATCHES = 're2_matches';

/** Distinct patterns kept compiled; the oldest is dropped beyond it (and compiled again if used again). */
export const PATTERN_CACHE_SIZE = 1000;

const cache = new Map<string, RE2JS>();

/** A pattern RE2 refuses, with its reason (e.g. `invalid or unsupported Perl syntax: \`(?=\``). */
export class PatternError extends Error {
  constructor(
    readonly pattern: string,
    readonly reason: string,
  ) {
    super(`invalid regular expression for RE2: ${reason}`);
  }
}

/** Compiles (or returns the cached) RE2 program of `pattern`; throws PatternError. */
export function compilePattern(pattern: string): RE2JS {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    // RE2JSSyntaxException: "error parsing regexp: <reason>: `<where>`".
    throw new PatternError(pattern, String((err as Error).message).replace(/^error parsing regexp: /, ''));
  }
  if (cache.size >= PATTERN_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(pattern, re);
  return re;
}

/** `s.matches(pattern)`: true when the pattern matches anywhere in s, in time linear in s. */
export function regexMatches(s: string, pattern: string): boolean {
  return compilePattern(pattern).test(s);
}

/** Number of patterns in the cache (tests). */
export function patternCacheSize(): number {
  return cache.size;
}
