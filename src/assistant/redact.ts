/**
 * What may be sent to a model: no card number. Thin names over src/security/pan.ts (card
 * numbers with separators, glued to letters, inside longer digit runs; masked as `[PAN]`).
 */
import { maskDeep } from '../security/mask-deep.js';
import { maskPans } from '../security/pan.js';

/** `text` with every card number replaced by `[PAN]`. */
export function scrubText(text: string): string {
  return maskPans(text);
}

/** A deep copy with every string (keys included) scrubbed; see maskDeep. */
export function scrubDeep<T>(value: T): T {
  return maskDeep(value);
}
