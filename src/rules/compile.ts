/**
 * Compiles a ruleset once per version with CEL (@marcbachmann/cel-js: parse + type check to
 * a closure; never `eval` of user text). Errors name the file, the rule, the line and column.
 */
import { Environment } from '@marcbachmann/cel-js';
import { FEATURE_FIELDS, LIST_FIELDS, RuleFeatures, RuleLists, RuleTx, TX_FIELDS } from './context.js';
import { RuleError, type Lists, type RuleDef, type RulesetDef, type Thresholds } from './types.js';

/** The variables of a rule (see ./context.ts). `score` is absent when the model was unavailable. */
export interface RuleContext {
  tx: RuleTx;
  f: RuleFeatures;
  score?: number;
  lists: RuleLists;
}

export interface CompiledRule {
  readonly def: RuleDef;
  readonly test: (ctx: RuleContext) => unknown;
}

export interface CompiledRuleset {
  readonly version: string;
  readonly thresholds: Thresholds;
  /** Sorted by priority, highest first. */
  readonly active: readonly CompiledRule[];
  readonly shadow: readonly CompiledRule[];
  readonly lists: RuleLists;
  readonly def: RulesetDef;
}

/** Typed variables: a misspelt field, feature or list name fails at compile time. */
function environment(): Environment {
  return new Environment({ homogeneousAggregateLiterals: false })
    .registerType('Transaction', { ctor: RuleTx, fields: TX_FIELDS })
    .registerType('Features', { ctor: RuleFeatures, fields: FEATURE_FIELDS })
    .registerType('Lists', { ctor: RuleLists, fields: LIST_FIELDS })
    .registerVariable('tx', 'Transaction')
    .registerVariable('f', 'Features')
    .registerVariable('score', 'double')
    .registerVariable('lists', 'Lists');
}

function position(expr: string, offset: unknown): { line: number; column: number } | null {
  if (typeof offset !== 'number') return null;
  const before = expr.slice(0, offset).split('\n');
  return { line: before.length - 1, column: (before.at(-1)?.length ?? 0) + 1 };
}

const FIELDS_OF: Record<string, readonly string[]> = {
  tx: Object.keys(TX_FIELDS), f: Object.keys(FEATURE_FIELDS), lists: Object.keys(LIST_FIELDS),
};

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** `No such key: amout` → ` (tx.amount?)`: the closest field of tx, f or lists. */
function unknownFieldHint(message: string): string {
  const m = /^No such key: ([A-Za-z_][A-Za-z0-9_]*)/.exec(message);
  if (!m) return '';
  const key = m[1]!;
  let best: { name: string; d: number } | null = null;
  for (const [v, names] of Object.entries(FIELDS_OF)) {
    for (const n of names) {
      const d = editDistance(key, n);
      if (d <= Math.max(2, Math.floor(n.length / 4)) && (!best || d < best.d)) best = { name: `${v}.${n}`, d };
    }
  }
  return best ? ` (did you mean ${best.name}?)` : ' (not a field of tx, a feature of f, or a list of lists)';
}

/** Compiles one rule, throwing a RuleError that says where and why. */
export function compileRule(env: Environment, rule: RuleDef): CompiledRule {
  const file = rule.source?.file ?? '<rule>';
  const baseLine = rule.source?.line ?? null;
  const baseColumn = rule.source?.column;
  const fail = (reason: string, offset?: unknown): never => {
    const pos = position(rule.expression, offset);
    const line = baseLine !== null && pos ? baseLine + pos.line : baseLine;
    // A file column when the loader knows where the expression starts; else the column in the expression.
    const column = pos && baseColumn !== undefined ? baseColumn + pos.column - 1 : pos?.column ?? null;
    throw new RuleError(file, rule.id, line, column, reason);
  };
  let fn: ReturnType<Environment['parse']>;
  try {
    fn = env.parse(rule.expression);
  } catch (err) {
    const e = err as { message: string; node?: { pos?: number }; pos?: number };
    return fail(`CEL: ${e.message.split('\n')[0]}`, e.node?.pos ?? e.pos);
  }
  const check = fn.check() as { valid: boolean; type?: string; error?: { message?: string; node?: { pos?: number } } };
  if (!check.valid) {
    const msg = String(check.error?.message ?? 'type error').split('\n')[0]!;
    fail(`CEL: ${msg}${unknownFieldHint(msg)}`, check.error?.node?.pos);
  }
  if (check.type !== 'bool' && check.type !== 'dyn') fail(`CEL: expression must be a bool, it is ${check.type}`);
  return { def: rule, test: fn as (ctx: RuleContext) => unknown };
}

export function toLists(defs: RulesetDef['lists']): RuleLists {
  return new RuleLists(defs);
}

/** Compiles every rule; the first error aborts (the running version stays in force). */
export function compileRuleset(def: RulesetDef, lists?: Lists): CompiledRuleset {
  const env = environment();
  const compiled = def.rules.map((r) => compileRule(env, r)).sort((a, b) => b.def.priority - a.def.priority);
  return {
    version: def.version,
    thresholds: def.thresholds,
    active: compiled.filter((r) => r.def.mode === 'active'),
    shadow: compiled.filter((r) => r.def.mode === 'shadow'),
    lists: lists ? RuleLists.of(lists) : toLists(def.lists),
    def,
  };
}

/** Compiles every rule and returns all errors (for `rules validate`). */
export function validateRuleset(def: RulesetDef): RuleError[] {
  const env = environment();
  const errors: RuleError[] = [];
  for (const r of def.rules) {
    try {
      compileRule(env, r);
    } catch (err) {
      if (err instanceof RuleError) errors.push(err);
      else throw err;
    }
  }
  return errors;
}
