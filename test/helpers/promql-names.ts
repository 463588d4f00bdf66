/**
 * The metric and label names a PromQL expression uses, checked against prom-client registries.
 * Not a PromQL parser: it finds `fraud_…` series names, the label names of their selectors and
 * of `by (…)` / `without (…)` clauses, which is what a renamed metric or label breaks.
 */
import type { Registry } from 'prom-client';

/** Labels Prometheus adds to every scraped series (target labels), valid in any expression. */
const TARGET_LABELS = new Set(['instance', 'job', 'namespace', 'pod', 'container', 'service', 'endpoint']);

/** Series name -> label names, for every metric of the registries (histograms as _bucket/_sum/_count). */
export function seriesOf(...registries: Registry[]): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray()) {
      // prom-client keeps a metric's label names on the instance; its typings do not expose them.
      const labels = new Set((metric as unknown as { labelNames?: readonly string[] }).labelNames ?? []);
      const type = String(metric.type); // an enum in the typings, the string at run time
      if (type === 'histogram') {
        series.set(`${metric.name}_bucket`, new Set([...labels, 'le']));
        series.set(`${metric.name}_sum`, labels);
        series.set(`${metric.name}_count`, labels);
      } else if (type === 'summary') {
        series.set(metric.name, new Set([...labels, 'quantile']));
        series.set(`${metric.name}_sum`, labels);
        series.set(`${metric.name}_count`, labels);
      } else {
        series.set(metric.name, labels);
      }
    }
  }
  return series;
}

/** What is wrong with `expr` against `series`: unknown metric names and labels ([] = nothing). */
export function unknownNames(expr: string, series: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  const used = new Set<string>();
  for (const m of expr.matchAll(/\b(fraud_[a-zA-Z0-9_]+)\s*(\{[^}]*\})?/g)) {
    const name = m[1]!;
    const labels = series.get(name);
    if (!labels) {
      problems.push(`unknown metric ${name}`);
      continue;
    }
    used.add(name);
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) {
      if (!labels.has(l[1]!) && !TARGET_LABELS.has(l[1]!)) problems.push(`${name} has no label ${l[1]}`);
    }
  }
  const known = new Set([...used].flatMap((n) => [...series.get(n)!]));
  for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const label of m[1]!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      if (!known.has(label) && !TARGET_LABELS.has(label))
        problems.push(`no metric of the expression has label ${label}`);
    }
  }
  return problems;
}
