/**
 * What may be sent to a model: no card number. Strings go through the logger's maskPans (Luhn-
 * valid 13-19 digit runs at word boundaries) and then through a stricter pass that also catches a
 * PAN glued to letters or underscores (`ref_4111111111111111`), which word boundaries miss.
 */
import { luhnOk, maskPans } from '../observability/logger.js';

const GLUED_RE = /(?:\d[ -]?){12,18}\d/g;


export function scrubText(text: string): string {
  return maskPans(text).replace(GLUED_RE, (m) => {
    const digits = m.replace(/[ -]/g, '');
    return digits.length >= 13 && digits.length <= 19 && luhnOk(digits) ? '[PAN]' : m;
  });
}

/** A deep copy with every string (keys included) scrubbed. */
export function scrubDeep<T>(value: T): T {
  if (typeof value === 'string') return scrubText(value) as T;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [scrubText(k), scrubDeep(v)])) as T;
  }
  return value;
}
