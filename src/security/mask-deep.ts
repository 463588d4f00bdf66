/**
 * Deep masking for logs and the assistant: every string of a value (object keys included) with
 * its card numbers masked by ./pan.ts, the one home of what looks like a card number.
 */
import { bufferContainsPan, containsPan, maskPans, PAN_MASK } from './pan.js';

const MAX_DEPTH = 20;

/** A deep copy: every string (object keys included) masked; Errors become {type,message,stack,code} masked; cycles and depth > 20 cut safely. */
export function maskDeep<T>(value: T): T {
  return deep(value, 0, []) as T;
}

function deep(v: unknown, depth: number, ancestors: object[]): unknown {
  switch (typeof v) {
    case 'string':
      return maskPans(v);
    case 'number':
      return Number.isInteger(v) && Math.abs(v) >= 1e12 && containsPan(String(v)) ? PAN_MASK : v;
    case 'bigint':
      return containsPan(v.toString()) ? PAN_MASK : v;
    case 'object':
      break;
    default:
      return v;
  }
  if (v === null) return v;
  if (ancestors.includes(v)) return '[Circular]';
  if (depth > MAX_DEPTH) return '[MaxDepth]';
  if (v instanceof Date) return new Date(v.getTime());
  if (ArrayBuffer.isView(v)) {
    if (v instanceof Uint8Array && bufferContainsPan(v)) return PAN_MASK;
    const slice = (v as unknown as { slice?: () => unknown }).slice;
    return typeof slice === 'function'
      ? slice.call(v)
      : new DataView(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  }
  ancestors.push(v);
  try {
    if (v instanceof Error) return errorObject(v, depth, ancestors);
    if (Array.isArray(v)) return v.map((x) => deep(x, depth + 1, ancestors));
    if (v instanceof Map) {
      const m = new Map<unknown, unknown>();
      for (const [k, x] of v) m.set(deep(k, depth + 1, ancestors), deep(x, depth + 1, ancestors));
      return m;
    }
    if (v instanceof Set) {
      const s = new Set<unknown>();
      for (const x of v) s.add(deep(x, depth + 1, ancestors));
      return s;
    }
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      let json: unknown;
      try {
        json = toJSON.call(v);
      } catch {
        json = undefined;
      }
      if (json !== undefined) return deep(json, depth + 1, ancestors);
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) out[maskPans(k)] = deep((v as Record<string, unknown>)[k], depth + 1, ancestors);
    return out;
  } finally {
    ancestors.pop();
  }
}

/** pino's err shape, causes folded into message and stack (as pino's err serializer does). */
function errorObject(err: Error, depth: number, ancestors: object[]): Record<string, unknown> {
  let message = String(err.message);
  let stack = err.stack ?? '';
  const seen = new Set<unknown>([err]);
  for (let c: unknown = err.cause, i = 0; c instanceof Error && !seen.has(c) && i < MAX_DEPTH; c = c.cause, i++) {
    seen.add(c);
    message += `: ${c.message}`;
    stack += `\ncaused by: ${c.stack ?? c.message}`;
  }
  const out: Record<string, unknown> = {
    type: maskPans(err.constructor?.name || err.name || 'Error'),
    message: maskPans(message),
    stack: maskPans(stack),
  };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = deep(code, depth + 1, ancestors);
  return out;
}
