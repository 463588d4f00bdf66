/**
 * What a running engine says about itself, read from its /metrics (Prometheus text) and the
 * /readyz beside it: the ruleset and model versions in force, decisions by outcome, dead letters,
 * degraded decisions and consumer lag. For the console's overview; an engine that does not answer
 * is a state to show ("not reachable"), never an error.
 */

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface EngineInfo {
  reachable: true;
  /** /readyz answered 200; null when it could not be asked. */
  ready: boolean | null;
  rulesetVersion: string | null;
  modelVersion: string | null;
  decisionsByOutcome: Record<string, number>;
  dlqTotal: number;
  degradedTotal: number;
  degradedByReason: Record<string, number>;
  consumerLag: number;
}

export interface EngineUnreachable {
  reachable: false;
  /** Why, for the person: a refused connection, a timeout, an HTTP status. */
  reason: string;
}

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of a Prometheus text exposition (comments and malformed lines skipped). */
export function parseMetrics(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = SAMPLE_RE.exec(line.trim());
    if (!m) continue;
    const value = Number(m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL_RE))
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** The overview's view of an engine's samples. */
export function engineInfoOf(samples: MetricSample[], ready: boolean | null): EngineInfo {
  const byLabel = (name: string, label: string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const s of samples)
      if (s.name === name && s.labels[label] !== undefined)
        out[s.labels[label]] = (out[s.labels[label]] ?? 0) + s.value;
    return out;
  };
  const sum = (name: string) => samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
  const info = (name: string) => samples.find((s) => s.name === name && s.value === 1)?.labels.version ?? null;
  return {
    reachable: true,
    ready,
    rulesetVersion: info('fraud_ruleset_info'),
    modelVersion: info('fraud_model_info'),
    decisionsByOutcome: byLabel('fraud_decisions_total', 'outcome'),
    dlqTotal: sum('fraud_dlq_total'),
    degradedTotal: sum('fraud_degraded_total'),
    degradedByReason: byLabel('fraud_degraded_total', 'reason'),
    consumerLag: sum('fraud_consumer_lag'),
  };
}

/** The engine's state from `metricsUrl` (its /readyz on the same origin), within `timeoutMs`. */
export async function fetchEngineInfo(
  metricsUrl: string,
  o: { timeoutMs?: number } = {},
): Promise<EngineInfo | EngineUnreachable> {
  if (!metricsUrl) return { reachable: false, reason: 'no engine metrics URL configured (console.engine_metrics_url)' };
  const signal = AbortSignal.timeout(o.timeoutMs ?? 1500);
  try {
    const res = await fetch(metricsUrl, { signal });
    if (!res.ok) return { reachable: false, reason: `HTTP ${res.status} from the engine's metrics` };
    const samples = parseMetrics(await res.text());
    const ready = await fetch(new URL('/readyz', metricsUrl), { signal }).then(
      async (r) => {
        await r.body?.cancel();
        return r.status === 200;
      },
      () => null,
    );
    return engineInfoOf(samples, ready);
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const reason =
      e.name === 'TimeoutError' ? 'no answer in time' : (e.cause?.code ?? e.message ?? 'connection failed');
    return { reachable: false, reason };
  }
}
