/**
 * Which failures are the infrastructure's (retry, holding the partition) and which may be the
 * message's (isolate it, dead-letter it if it fails alone). Unknown errors are not transient:
 * the batch loop then asks the handler's probe whether the handler itself is healthy before it
 * blames a message (src/kafka/batch-loop.ts).
 */

const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);

/** SQLSTATE classes of a PostgreSQL that is away, overloaded or failing over. */
const PG_TRANSIENT = /^(08|53|57P|58)|^40001$|^40P01$/;

const REDIS_TRANSIENT =
  /connection is closed|stream isn't writeable|max(imum)? ?retries|maxretriesperrequest|socket closed|reached the max retries|LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MOVED|ASK /i;

export function isTransient(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { retriable?: unknown; code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  if (e.retriable === true) return true; // kafkajs
  if (typeof e.code === 'string') {
    if (NET_CODES.has(e.code)) return true;
    if (/^[0-9A-Z]{5}$/.test(e.code) && PG_TRANSIENT.test(e.code)) return true;
  }
  const msg = typeof e.message === 'string' ? e.message : '';
  if (e.name === 'MaxRetriesPerRequestError' || REDIS_TRANSIENT.test(msg)) return true;
  if (/Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(msg)) return true;
  return e.cause !== undefined && e.cause !== err && isTransient(e.cause);
}
