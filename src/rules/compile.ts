/**
 * Compiles a ruleset once per version with CEL (@marcbachmann/cel-js: parse + type check to
 * a closure; never `eval` of user text). Errors name the file, the rule, the line and column.
 */
import { Environment } from '@marcbachmann/cel-js';
import { LIST_NAMES, RuleError, type ListName, type Lists, type RuleDef, type RulesetDef, type Thresholds } from './types.js';

export interface RuleContext {
  tx: Record<string, unknown>;
  f: Record<string, number>;
  score?: number;
  lists: Lists;
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
  readonly lists: Lists;
  readonly def: RulesetDef;
}

function environment(): Environment {
  return new Environment({ homogeneousAggregateLiterals: false })
    .registerVariable('tx', 'map')
    .registerVariable('f', 'map')
    .registerVariable('score', 'double')
    .registerVariable('lists', 'map');
}

function position(expr: string, offset: unknown): { line: number; column: number } | null {
  if (typeof offset !== 'number') return null;
  const before = expr.slice(0, offset).split('\n');
  return { line: before.length - 1, column: (before.at(-1)?.length ?? 0) + 1 };
}

/** Compiles one rule, throwing a RuleError that says where and why. */
export function compileRule(env: Environment, rule: RuleDef): CompiledRule {
  const file = rule.source?.file ?? '<rule>';
  const baseLine = rule.source?.line ?? null;
  const fail = (reason: string, offset?: unknown): never => {
    const pos = position(rule.expression, offset);
    const line = baseLine !== null && pos ? baseLine + pos.line : baseLine;
    throw new RuleError(file, rule.id, line, pos?.column ?? null, reason);
  };
  let fn: ReturnType<Environment['parse']>;
  try {
    fn = env.parse(rule.expression);
  } catch (err) {
    const e = err as { message: string; node?: { pos?: number }; pos?: number };
    return fail(`CEL: ${e.message.split('\n')[0]}`, e.node?.pos ?? e.pos);
  }
  const check = fn.check() as { valid: boolean; type?: string; error?: { message?: string; node?: { pos?: number } } };
  if (!check.valid) fail(`CEL: ${String(check.error?.message ?? 'type error').split('\n')[0]}`, check.error?.node?.pos);
  if (check.type !== 'bool' && check.type !== 'dyn') fail(`CEL: expression must be a bool, it is ${check.type}`);
  return { def: rule, test: fn as (ctx: RuleContext) => unknown };
}

export function toLists(defs: RulesetDef['lists']): Lists {
  const out: Partial<Record<ListName, ReadonlyMap<string, true>>> = {};
  for (const name of LIST_NAMES) out[name] = new Map((defs[name] ?? []).map((v): [string, true] => [v, true]));
  return out as Lists;
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
    lists: lists ?? toLists(def.lists),
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
