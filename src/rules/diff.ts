/** What changes between two ruleset versions: rules added, removed and changed, and thresholds. */
import { bareRule, type RuleDef, type RulesetDef } from './types.js';

export const COMPARED_FIELDS = ['expression', 'action', 'priority', 'mode', 'description', 'owner'] as const;
export type ComparedField = (typeof COMPARED_FIELDS)[number];

export interface FieldChange<T = unknown> {
  from: T;
  to: T;
}

export interface RuleChange {
  id: string;
  changes: Partial<Record<ComparedField, FieldChange>>;
}

export interface RulesetDiff {
  from: string;
  to: string;
  added: RuleDef[];
  removed: RuleDef[];
  changed: RuleChange[];
  thresholds: { review?: FieldChange<number>; decline?: FieldChange<number> };
  description?: FieldChange<string>;
}

export function diffRulesets(a: RulesetDef, b: RulesetDef): RulesetDiff {
  const before = new Map(a.rules.map((r) => [r.id, r]));
  const after = new Map(b.rules.map((r) => [r.id, r]));
  const out: RulesetDiff = { from: a.version, to: b.version, added: [], removed: [], changed: [], thresholds: {} };
  for (const r of b.rules) if (!before.has(r.id)) out.added.push(bareRule(r));
  for (const r of a.rules) if (!after.has(r.id)) out.removed.push(bareRule(r));
  for (const r of a.rules) {
    const n = after.get(r.id);
    if (!n) continue;
    const changes: RuleChange['changes'] = {};
    for (const f of COMPARED_FIELDS) if (r[f] !== n[f]) changes[f] = { from: r[f], to: n[f] };
    if (Object.keys(changes).length) out.changed.push({ id: r.id, changes });
  }
  for (const k of ['review', 'decline'] as const) {
    if (a.thresholds[k] !== b.thresholds[k]) out.thresholds[k] = { from: a.thresholds[k], to: b.thresholds[k] };
  }
  if (a.description !== b.description) out.description = { from: a.description, to: b.description };
  return out;
}

export function isEmptyDiff(d: RulesetDiff): boolean {
  return !d.added.length && !d.removed.length && !d.changed.length && !d.thresholds.review && !d.thresholds.decline;
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** A reviewer's view: `+` added, `-` removed, `~` changed with each field's before and after. */
export function diffText(d: RulesetDiff): string {
  const lines = [`ruleset ${d.from} -> ${d.to}`];
  for (const k of ['review', 'decline'] as const) {
    const t = d.thresholds[k];
    if (t) lines.push(`~ threshold ${k}: ${t.from} -> ${t.to}`);
  }
  for (const r of d.added) lines.push(`+ ${r.id} [${r.mode} ${r.action} priority ${r.priority}]: ${r.expression}`);
  for (const r of d.removed) lines.push(`- ${r.id} [${r.mode} ${r.action} priority ${r.priority}]: ${r.expression}`);
  for (const c of d.changed) {
    lines.push(`~ ${c.id}`);
    for (const [f, ch] of Object.entries(c.changes)) lines.push(`    ${f}: ${show(ch.from)} -> ${show(ch.to)}`);
  }
  if (isEmptyDiff(d)) lines.push('(no rule or threshold changes)');
  return lines.join('\n');
}
