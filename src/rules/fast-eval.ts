/**
 * Plain closures for the rules most rulesets are made of: comparisons of `tx` fields, features,
 * `score` and literals, `has(f.x)`, `x in lists.name` or in a list of string literals, joined by
 * `&&`, `||` and `!`. They give what cel-js gives on the same context (test/unit/rules-fast.test.ts
 * holds them to it), without its interpreter's per-node dispatch and type lookups, and without
 * throwing for a missing value: a run-time error is RULE_ERROR, which `&&` and `||` absorb as CEL
 * does (`false && error` is false, `true || error` is true, in either order).
 *
 * Any other expression (arithmetic, macros, functions, ternaries, mixed types) gets null here and
 * keeps cel-js's closure. Compiled once per ruleset version, after cel-js has parsed and
 * type-checked the expression (so names and types are known to be valid).
 */
import type { ASTNode } from '@marcbachmann/cel-js';
import { FEATURE_NAMES } from '../features/names.js';
import type { RuleContext } from './compile.js';
import { LIST_FIELDS, TX_FIELDS } from './context.js';

/** A rule's value when CEL would raise an error (a missing feature or score). */
export const RULE_ERROR: unique symbol = Symbol('rule error');
export type FastValue = number | string | bigint | boolean | typeof RULE_ERROR;
export type FastRule = (ctx: RuleContext) => FastValue;

type CelType = 'double' | 'int' | 'string' | 'bool';
interface Compiled {
  type: CelType;
  run: FastRule;
  /** A literal: its value (folded into the comparisons). */
  literal?: number | string | bigint | boolean;
}

const FEATURE_AT: ReadonlyMap<string, number> = new Map(FEATURE_NAMES.map((n, i) => [n, i]));
const TX_TYPES: Readonly<Record<string, string>> = TX_FIELDS;

/** The closure of a boolean expression, or null when it is outside the subset. */
export function fastRule(ast: ASTNode): FastRule | null {
  const c = compile(ast);
  return c && c.type === 'bool' ? c.run : null;
}

function compile(n: ASTNode): Compiled | null {
  switch (n.op) {
    case 'value':
      return literal(n.args);
    case '-_': {
      const x = n.args.op === 'value' ? literal(n.args.args) : null;
      if (!x || (x.type !== 'double' && x.type !== 'int')) return null;
      return literal(-(x.literal as number));
    }
    case 'id':
      if (n.args !== 'score') return null;
      return {
        type: 'double',
        run: (ctx) => {
          const s = ctx.score;
          return s === undefined ? RULE_ERROR : s;
        },
      };
    case '.':
      return field(n.args[0], n.args[1]);
    case 'call':
      return has(n.args[0], n.args[1]);
    case '!_': {
      const x = compile(n.args);
      if (!x || x.type !== 'bool') return null;
      const run = x.run;
      return {
        type: 'bool',
        run: (ctx) => {
          const v = run(ctx);
          return v === RULE_ERROR ? v : !v;
        },
      };
    }
    case '&&':
    case '||': {
      const a = compile(n.args[0]);
      const b = compile(n.args[1]);
      if (!a || !b || a.type !== 'bool' || b.type !== 'bool') return null;
      return { type: 'bool', run: n.op === '&&' ? and(a.run, b.run) : or(a.run, b.run) };
    }
    case 'in':
      return membership(n.args[0], n.args[1]);
    case '==':
    case '!=':
    case '<':
    case '<=':
    case '>':
    case '>=':
      return comparison(n.op, n.args[0], n.args[1]);
    default:
      return null;
  }
}

function literal(v: unknown): Compiled | null {
  const type: CelType | null =
    typeof v === 'number'
      ? 'double'
      : typeof v === 'bigint'
        ? 'int'
        : typeof v === 'string'
          ? 'string'
          : typeof v === 'boolean'
            ? 'bool'
            : null;
  if (!type) return null;
  const value = v as number | bigint | string | boolean;
  return { type, run: () => value, literal: value };
}

/** `tx.<field>` (never missing: nulls read as empty strings) or `f.<feature>` (missing: an error). */
function field(target: ASTNode, name: string): Compiled | null {
  if (target.op !== 'id') return null;
  if (target.args === 'tx') {
    const t = TX_TYPES[name];
    if (t !== 'double' && t !== 'int' && t !== 'string') return null;
    const key = name as keyof RuleContext['tx'];
    return { type: t, run: (ctx) => ctx.tx[key] as number | bigint | string };
  }
  if (target.args === 'f') {
    const i = FEATURE_AT.get(name);
    if (i === undefined) return null;
    return {
      type: 'double',
      run: (ctx) => {
        const v = ctx.f.__vector[i];
        return typeof v === 'number' && Number.isFinite(v) ? v : RULE_ERROR;
      },
    };
  }
  return null;
}

/** `has(f.<feature>)`: whether the feature has a value. */
function has(name: string, args: ASTNode[]): Compiled | null {
  if (name !== 'has' || args.length !== 1) return null;
  const a = args[0]!;
  if (a.op !== '.' || a.args[0].op !== 'id' || a.args[0].args !== 'f') return null;
  const i = FEATURE_AT.get(a.args[1]);
  if (i === undefined) return null;
  return {
    type: 'bool',
    run: (ctx) => {
      const v = ctx.f.__vector[i];
      return typeof v === 'number' && Number.isFinite(v);
    },
  };
}

function and(a: FastRule, b: FastRule): FastRule {
  return (ctx) => {
    const x = a(ctx);
    if (x === false) return false;
    const y = b(ctx);
    if (y === false) return false;
    return x === RULE_ERROR || y === RULE_ERROR ? RULE_ERROR : true;
  };
}

function or(a: FastRule, b: FastRule): FastRule {
  return (ctx) => {
    const x = a(ctx);
    if (x === true) return true;
    const y = b(ctx);
    if (y === true) return true;
    return x === RULE_ERROR || y === RULE_ERROR ? RULE_ERROR : false;
  };
}

/** `s in lists.<name>` (a key of the list's map) or `s in ["a", "b"]` (string literals). */
function membership(left: ASTNode, right: ASTNode): Compiled | null {
  const x = compile(left);
  if (!x || x.type !== 'string') return null;
  const get = x.run;
  if (right.op === '.' && right.args[0].op === 'id' && right.args[0].args === 'lists') {
    const name = right.args[1];
    if (!(name in LIST_FIELDS)) return null;
    const key = name as keyof RuleContext['lists'];
    return {
      type: 'bool',
      run: (ctx) => {
        const s = get(ctx);
        return s === RULE_ERROR ? s : ctx.lists[key].has(s as string);
      },
    };
  }
  if (right.op === 'list') {
    const items: string[] = [];
    for (const e of right.args) {
      if (e.op !== 'value' || typeof e.args !== 'string') return null;
      items.push(e.args);
    }
    const set = new Set(items);
    return {
      type: 'bool',
      run: (ctx) => {
        const s = get(ctx);
        return s === RULE_ERROR ? s : set.has(s as string);
      },
    };
  }
  return null;
}

type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** Both sides of one type (no int/double mixing: that stays with cel-js). */
function comparison(op: CompareOp, l: ASTNode, r: ASTNode): Compiled | null {
  const a = compile(l);
  const b = compile(r);
  if (!a || !b || a.type !== b.type) return null;
  // Ordering only of numbers (CEL orders strings by code point, JavaScript by UTF-16 unit).
  if ((a.type === 'bool' || a.type === 'string') && op !== '==' && op !== '!=') return null;
  const k = b.literal;
  if (k !== undefined) {
    // The shapes of nearly every rule, each one closure with its operator inlined (no call per
    // operand, no shared comparison function): a feature, `score` or `tx.amount` against a number.
    if (typeof k === 'number') {
      const feature =
        l.op === '.' && l.args[0].op === 'id' && l.args[0].args === 'f' ? FEATURE_AT.get(l.args[1]) : undefined;
      if (feature !== undefined) return { type: 'bool', run: featureAgainst(op, feature, k) };
      if (l.op === 'id' && l.args === 'score') return { type: 'bool', run: scoreAgainst(op, k) };
      if (l.op === '.' && l.args[0].op === 'id' && l.args[0].args === 'tx' && l.args[1] === 'amount')
        return { type: 'bool', run: amountAgainst(op, k) };
    }
    return { type: 'bool', run: againstLiteral(op, a.run, k) };
  }
  const test = COMPARE[op];
  const ra = a.run;
  const rb = b.run;
  return {
    type: 'bool',
    run: (ctx) => {
      const x = ra(ctx);
      if (x === RULE_ERROR) return x;
      const y = rb(ctx);
      return y === RULE_ERROR ? y : test(x, y);
    },
  };
}

/** `f.<feature> op k`: an error when the feature is missing (null, NaN, ±Infinity), as `field` reads it. */
function featureAgainst(op: CompareOp, i: number, k: number): FastRule {
  // One closure per operator: each comparison site sees one operator and numbers only.
  const value = (ctx: RuleContext): number | undefined => {
    const v = ctx.f.__vector[i];
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  switch (op) {
    case '==':
      return (ctx) => {
        const v = value(ctx);
        return v === undefined ? RULE_ERROR : v === k;
      };
    case '!=':
      return (ctx) => {
        const v = value(ctx);
        return v === undefined ? RULE_ERROR : v !== k;
      };
    case '<':
      return (ctx) => {
        const v = value(ctx);
        return v === undefined ? RULE_ERROR : v < k;
      };
    case '<=':
      return (ctx) => {
        const v = value(ctx);
        return v === undefined ? RULE_ERROR : v <= k;
      };
    case '>':
      return (ctx) => {
        const v = value(ctx);
        return v === undefined ? RULE_ERROR : v > k;
      };
    case '>=':
      return (ctx) => {
        const v = value(ctx);
        return v === undefined ? RULE_ERROR : v >= k;
      };
  }
}

/** `score op k`: an error without a score. */
function scoreAgainst(op: CompareOp, k: number): FastRule {
  switch (op) {
    case '==':
      return (ctx) => (ctx.score === undefined ? RULE_ERROR : ctx.score === k);
    case '!=':
      return (ctx) => (ctx.score === undefined ? RULE_ERROR : ctx.score !== k);
    case '<':
      return (ctx) => (ctx.score === undefined ? RULE_ERROR : ctx.score < k);
    case '<=':
      return (ctx) => (ctx.score === undefined ? RULE_ERROR : ctx.score <= k);
    case '>':
      return (ctx) => (ctx.score === undefined ? RULE_ERROR : ctx.score > k);
    case '>=':
      return (ctx) => (ctx.score === undefined ? RULE_ERROR : ctx.score >= k);
  }
}

/** `tx.amount op k` (never missing). */
function amountAgainst(op: CompareOp, k: number): FastRule {
  switch (op) {
    case '==':
      return (ctx) => ctx.tx.amount === k;
    case '!=':
      return (ctx) => ctx.tx.amount !== k;
    case '<':
      return (ctx) => ctx.tx.amount < k;
    case '<=':
      return (ctx) => ctx.tx.amount <= k;
    case '>':
      return (ctx) => ctx.tx.amount > k;
    case '>=':
      return (ctx) => ctx.tx.amount >= k;
  }
}

/** Any other operand of the subset against a literal of its type. */
function againstLiteral(op: CompareOp, ra: FastRule, k: Scalar): FastRule {
  const test = COMPARE[op];
  return (ctx) => {
    const x = ra(ctx);
    return x === RULE_ERROR ? x : test(x, k);
  };
}

type Scalar = number | bigint | string | boolean;
const COMPARE: Record<CompareOp, (x: Scalar, y: Scalar) => boolean> = {
  '==': (x, y) => x === y,
  '!=': (x, y) => x !== y,
  '<': (x, y) => x < y,
  '<=': (x, y) => x <= y,
  '>': (x, y) => x > y,
  '>=': (x, y) => x >= y,
};
