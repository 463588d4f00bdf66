/**
 * Compiles a ruleset once per version with CEL (@marcbachmann/cel-js: parse + type check to
 * a closure; never `eval` of user text). Errors name the file, the rule, the line and column.
 *
 * Rules cannot hurt the engine: `matches()` runs on RE2 (./regex.ts: linear time; a pattern
 * RE2 refuses, such as a backreference or a lookahead, is a compile error), and a rule whose
 * estimated cost (./cost.ts) is over `rules.max_rule_cost`, whose expression is longer than
 * `rules.max_expression_length` or with a list literal over `rules.max_list_literal` is refused.
 */
import { Environment, type ASTNode } from '@marcbachmann/cel-js';
import { FEATURE_FIELDS, LIST_FIELDS, RuleFeatures, RuleLists, RuleTx, TX_FIELDS } from './context.js';
import { CostError, DEFAULT_RULE_LIMITS, estimateCost, type RuleLimits } from './cost.js';
import { fastRule, type FastRule } from './fast-eval.js';
import { RECEIVER_MATCHES, regexMatches } from './regex.js';
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
  /** The estimated cost of one evaluation (./cost.ts), at most `rules.max_rule_cost`. */
  readonly cost: number;
  /**
   * Whether the expression reads the model's `score` (a word match on its text: a string that
   * mentions it only costs an unneeded evaluation). Only these rules can hit otherwise on another
   * model's score: a challenger's would-be outcome evaluates them again (./evaluate.ts).
   */
  readonly readsScore: boolean;
  /**
   * The same test as a plain closure (./fast-eval.ts) when the expression is in its subset:
   * RULE_ERROR instead of a throw. The evaluations (./evaluate.ts) run it instead of `test`
   * (cel-js) when present.
   */
  readonly fast?: FastRule;
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

/**
 * Typed variables: a misspelt field, feature or list name fails at compile time. `matches` on
 * RE2: the global form `matches(s, p)` (which cel-js does not define), and the method form
 * `s.matches(p)` under another name (see renameMatches).
 */
function environment(limits: RuleLimits): Environment {
  return new Environment({
    homogeneousAggregateLiterals: false,
    limits: { maxListElements: limits.maxListLiteral, maxMapEntries: limits.maxListLiteral },
  })
    .registerFunction(`string.${RECEIVER_MATCHES}(string): bool`, regexMatches)
    .registerFunction('matches(string, string): bool', regexMatches)
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
  tx: Object.keys(TX_FIELDS),
  f: Object.keys(FEATURE_FIELDS),
  lists: Object.keys(LIST_FIELDS),
};

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
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

/**
 * cel-js defines `string.matches(string)` itself, with JavaScript's backtracking RegExp, and
 * refuses another overload of it (registerFunction: "overlaps with existing overload"). So the
 * method calls named `matches` in the parsed AST (its public, typed shape: `rcall` nodes are
 * [name, receiver, args]) are renamed to RECEIVER_MATCHES, registered with RE2, before the type
 * check resolves them. Macro expansions share these nodes, so `list.exists(x, x.matches(p))` is
 * covered. Guarded by test/unit/rules-safety.test.ts: the built-in would never finish `^(a+)+$`.
 */
function renameMatches(node: unknown): void {
  if (Array.isArray(node)) {
    for (const x of node) renameMatches(x);
    return;
  }
  if (typeof node !== 'object' || node === null || typeof (node as { op?: unknown }).op !== 'string') return;
  const n = node as ASTNode;
  if (n.op === 'rcall' && n.args[0] === 'matches' && n.args[2].length === 1)
    (n.args as unknown as string[])[0] = RECEIVER_MATCHES;
  if (n.op !== 'value' && n.op !== 'id') renameMatches(n.args);
}

const plain = (message: string): string => message.replaceAll(RECEIVER_MATCHES, 'matches');

/** Compiles one rule, throwing a RuleError that says where and why. */
/** Whether a CEL expression reads the model's score (see CompiledRule.readsScore). */
export const readsScore = (expression: string): boolean => /\bscore\b/.test(expression);

export function compileRule(env: Environment, rule: RuleDef, limits: RuleLimits = DEFAULT_RULE_LIMITS): CompiledRule {
  const file = rule.source?.file ?? '<rule>';
  const baseLine = rule.source?.line ?? null;
  const baseColumn = rule.source?.column;
  const fail = (reason: string, offset?: unknown): never => {
    const pos = position(rule.expression, offset);
    const line = baseLine !== null && pos ? baseLine + pos.line : baseLine;
    // A file column when the loader knows where the expression starts; else the column in the expression.
    const column = pos && baseColumn !== undefined ? baseColumn + pos.column - 1 : (pos?.column ?? null);
    throw new RuleError(file, rule.id, line, column, reason);
  };
  if (rule.expression.length > limits.maxExpressionLength) {
    fail(
      `expression of ${rule.expression.length} characters, longer than rules.max_expression_length (${limits.maxExpressionLength})`,
    );
  }
  let fn: ReturnType<Environment['parse']>;
  try {
    fn = env.parse(rule.expression);
  } catch (err) {
    const e = err as { message: string; node?: { pos?: number }; pos?: number };
    const msg = e.message.split('\n')[0]!;
    const list = /^Exceeded max(?:ListElements|MapEntries) \((\d+)\)/.exec(msg);
    if (list)
      return fail(
        `a list or map literal has more than rules.max_list_literal (${list[1]}) items`,
        e.node?.pos ?? e.pos,
      );
    return fail(`CEL: ${msg}`, e.node?.pos ?? e.pos);
  }
  renameMatches(fn.ast);
  const check = fn.check() as { valid: boolean; type?: string; error?: { message?: string; node?: { pos?: number } } };
  if (!check.valid) {
    const msg = plain(String(check.error?.message ?? 'type error').split('\n')[0]!);
    fail(`CEL: ${msg}${unknownFieldHint(msg)}`, check.error?.node?.pos);
  }
  if (check.type !== 'bool' && check.type !== 'dyn') fail(`CEL: expression must be a bool, it is ${check.type}`);
  let cost: number;
  try {
    const estimate = estimateCost(fn.ast, limits);
    cost = estimate.cost;
    if (cost > limits.maxRuleCost) {
      const c = estimate.culprit;
      const part = c
        ? `; the dearest part: \`${snippet(rule.expression.slice(c.start, c.end))}\` (~${fmt(c.cost)})`
        : '';
      fail(
        `cost: estimated ${fmt(cost)} per evaluation, over rules.max_rule_cost (${fmt(limits.maxRuleCost)})${part}`,
        c?.pos,
      );
    }
  } catch (err) {
    if (err instanceof CostError) return fail(err.reason, err.pos);
    throw err;
  }
  const fast = fastRule(fn.ast);
  return {
    def: rule,
    test: fn as (ctx: RuleContext) => unknown,
    cost,
    readsScore: readsScore(rule.expression),
    ...(fast && { fast }),
  };
}

const fmt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'unbounded');
const snippet = (s: string): string => {
  const one = s.replace(/\s+/g, ' ');
  return one.length > 60 ? `${one.slice(0, 57)}...` : one;
};

export function toLists(defs: RulesetDef['lists']): RuleLists {
  return new RuleLists(defs);
}

/** Compiles every rule; the first error aborts (the running version stays in force). */
export function compileRuleset(
  def: RulesetDef,
  lists?: Lists,
  limits: RuleLimits = DEFAULT_RULE_LIMITS,
): CompiledRuleset {
  const env = environment(limits);
  const compiled = def.rules.map((r) => compileRule(env, r, limits)).sort((a, b) => b.def.priority - a.def.priority);
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
export function validateRuleset(def: RulesetDef, limits: RuleLimits = DEFAULT_RULE_LIMITS): RuleError[] {
  const env = environment(limits);
  const errors: RuleError[] = [];
  for (const r of def.rules) {
    try {
      compileRule(env, r, limits);
    } catch (err) {
      if (err instanceof RuleError) errors.push(err);
      else throw err;
    }
  }
  return errors;
}
