/**
 * The compile-time cost bound of a rule: an upper estimate of the work one evaluation can do,
 * computed on the parsed CEL AST (cel-js's `parse(...).ast`) before the ruleset is accepted.
 * A rule over `rules.max_rule_cost` is refused, so that no rule an analyst (or an attacker with
 * an analyst's account) writes can cost more than a bounded time per event.
 *
 * The unit is one evaluated CEL node (a literal, a field read, a comparison): about 20 ns with
 * cel-js on the dev machine. The estimate is a worst case:
 * - every node costs 1; both sides of `&&` / `||` are counted, the dearer branch of `?:`;
 * - a list or map literal costs its items (it is built on every evaluation: a constant item ¼);
 *   `x in <list>` a scan of the list (¼ an item, plus the string compare);
 *   `x in lists.<name>` (a map: ./context.ts) and `x in {map}` one lookup;
 * - a comprehension macro (`all`, `exists`, `exists_one`, `map`, `filter`) costs its range plus
 *   the size of the range × its body: the size of a literal, else `rules.list_size_bound`
 *   (lists.*, or any list whose size is not known at compile time); nested ones multiply;
 * - reading a feature (`f.x`) or `score` costs 50: a missing one throws inside cel-js (~2 µs);
 * - string functions (contains, startsWith, split, +, …) one unit per 32 characters of their
 *   input at its longest: identifiers of the event are at most 128 characters, an unknown
 *   string 1024 (src/events/limits.ts);
 * - `matches()`: 25 for the RE2 call, one unit per 4 characters of input, plus (input length ×
 *   the pattern's RE2 program size) / 64: RE2 is linear in the input, its NFA walks every
 *   instruction per character at worst. The pattern must be a string literal, so that it is
 *   checked and compiled here.
 */
import type { ASTNode } from '@marcbachmann/cel-js';
import type { EngineConfig } from '../config/config.js';
import { MAX_ID_LENGTH, MAX_TEXT_LENGTH } from '../events/limits.js';
import { compilePattern, PatternError, RECEIVER_MATCHES } from './regex.js';
import { LIST_NAMES } from './types.js';
import {
  CHARS_PER_UNIT,
  CHEAP_STEP,
  FALLIBLE_READ,
  FEATURE_SHAPES,
  join,
  MACROS,
  MATCHES_BASE,
  MATCHES_CHARS_PER_UNIT,
  REGEX_STEPS_PER_UNIT,
  SCALAR,
  type Shape,
  str,
  STRING_SCAN,
  STRING_TO_STRING,
  TX_SHAPE,
} from './cost-tables.js';

/** The limits a ruleset is compiled under (config `rules.*`). */
export interface RuleLimits {
  /** rules.max_rule_cost: the largest estimated cost of one rule. */
  maxRuleCost: number;
  /** rules.max_expression_length: characters of one expression. */
  maxExpressionLength: number;
  /** rules.max_list_literal: items of one list (or entries of one map) literal. */
  maxListLiteral: number;
  /** rules.list_size_bound: the size assumed for a list whose size is unknown at compile time (lists.*). */
  listSizeBound: number;
}

/** The defaults of config/default.yaml (`rules:`), for the tools that compile without a config. */
export const DEFAULT_RULE_LIMITS: Readonly<RuleLimits> = Object.freeze({
  maxRuleCost: 2500,
  maxExpressionLength: 16_384,
  maxListLiteral: 1000,
  listSizeBound: 10_000,
});

/** The limits of the config's `rules:` section. */
export function ruleLimitsOf(rules: EngineConfig['rules']): RuleLimits {
  return {
    maxRuleCost: rules.max_rule_cost,
    maxExpressionLength: rules.max_expression_length,
    maxListLiteral: rules.max_list_literal,
    listSizeBound: rules.list_size_bound,
  };
}

/** A rule the estimate refuses before costing it (a too long list literal, a bad pattern), at a node. */
export class CostError extends Error {
  constructor(
    readonly reason: string,
    readonly pos: number | undefined,
  ) {
    super(reason);
  }
}

export interface CostEstimate {
  cost: number;
  /** The dearest multiplying construct (a comprehension, a scan, matches()), to point the analyst at it. */
  culprit: { pos: number; start: number; end: number; cost: number } | null;
}

const isNode = (x: unknown): x is ASTNode =>
  typeof x === 'object' && x !== null && typeof (x as { op?: unknown }).op === 'string';

interface Walked {
  cost: number;
  shape: Shape;
}

/** Estimates the cost of one parsed rule; throws CostError for what it refuses outright. */
export function estimateCost(ast: ASTNode, limits: RuleLimits = DEFAULT_RULE_LIMITS): CostEstimate {
  const listsShape: Shape = {
    kind: 'object',
    fields: Object.fromEntries(
      LIST_NAMES.map((n) => [
        n,
        { kind: 'map', size: limits.listSizeBound, elem: str(MAX_ID_LENGTH), value: {} } satisfies Shape,
      ]),
    ),
  };
  const roots: Record<string, Shape> = {
    tx: TX_SHAPE,
    lists: listsShape,
    f: { kind: 'object', fields: FEATURE_SHAPES },
    score: SCALAR,
  };
  let culprit: CostEstimate['culprit'] = null;
  const blame = (node: ASTNode, cost: number) => {
    if (!culprit || cost > culprit.cost) culprit = { pos: node.pos, start: node.start, end: node.end, cost };
  };
  const lenOf = (s: Shape) => s.len ?? MAX_TEXT_LENGTH;
  const sizeOf = (s: Shape) => s.size ?? limits.listSizeBound;
  const strWork = (len: number) => len / CHARS_PER_UNIT;
  const joined = (a: Shape | undefined, b: Shape) => (a ? join(a, b) : b);
  const literalSize = (node: ASTNode, count: number, what: string) => {
    if (count > limits.maxListLiteral)
      throw new CostError(
        `a ${node.op} literal has ${count} ${what}, more than rules.max_list_literal (${limits.maxListLiteral})`,
        node.pos,
      );
  };
  /** An element of a list or map literal: a constant costs only CHEAP_STEP. */
  const element = (n: ASTNode, scope: ReadonlyMap<string, Shape>): Walked => {
    const w = walk(n, scope);
    return { cost: n.op === 'value' ? CHEAP_STEP : w.cost, shape: w.shape };
  };

  const walk = (node: ASTNode, scope: ReadonlyMap<string, Shape>): Walked => {
    switch (node.op) {
      case 'value': {
        const v = node.args;
        if (typeof v === 'string') return { cost: 1, shape: str(v.length) };
        if (v instanceof Uint8Array) return { cost: 1, shape: str(v.length) };
        return { cost: 1, shape: v === null ? {} : SCALAR };
      }
      case 'id': {
        const local = scope.get(node.args);
        if (local) return { cost: 1, shape: local };
        return { cost: node.args === 'score' ? FALLIBLE_READ : 1, shape: roots[node.args] ?? {} };
      }
      case '.':
      case '.?': {
        const [obj, field] = node.args;
        const o = walk(obj, scope);
        const fallible = obj.op === 'id' && obj.args === 'f' && !scope.has('f');
        return { cost: (fallible ? FALLIBLE_READ : 1) + o.cost, shape: o.shape.fields?.[field] ?? {} };
      }
      case '[]':
      case '[?]': {
        const [obj, index] = node.args;
        const o = walk(obj, scope);
        const i = walk(index, scope);
        return { cost: 1 + o.cost + i.cost, shape: (o.shape.kind === 'map' ? o.shape.value : o.shape.elem) ?? {} };
      }
      case 'list': {
        const items = node.args;
        literalSize(node, items.length, 'items');
        let cost = 1;
        let elem: Shape | undefined;
        for (const item of items) {
          const w = element(item, scope);
          cost += w.cost;
          elem = joined(elem, w.shape);
        }
        return { cost, shape: { kind: 'list', size: items.length, elem } };
      }
      case 'map': {
        const entries = node.args;
        literalSize(node, entries.length, 'entries');
        const walked = entries.map(([k, v]) => [element(k, scope), element(v, scope)] as const);
        return {
          cost: walked.reduce((c, [wk, wv]) => c + (wk.cost + wv.cost), 1),
          shape: {
            kind: 'map',
            size: entries.length,
            elem: walked.reduce<Shape | undefined>((a, [wk]) => joined(a, wk.shape), undefined),
            value: walked.reduce<Shape | undefined>((a, [, wv]) => joined(a, wv.shape), undefined),
          },
        };
      }
      case '?:': {
        const [c, a, b] = node.args;
        const wa = walk(a, scope);
        const wb = walk(b, scope);
        return { cost: 1 + walk(c, scope).cost + Math.max(wa.cost, wb.cost), shape: join(wa.shape, wb.shape) };
      }
      case '!_':
      case '-_':
        return { cost: 1 + walk(node.args, scope).cost, shape: {} };
      case 'call':
        return call(node, node.args[0], null, node.args[1], scope);
      case 'rcall':
        return call(node, node.args[0], node.args[1], node.args[2], scope);
      default:
        if (Array.isArray(node.args) && node.args.length === 2 && isNode(node.args[0]) && isNode(node.args[1])) {
          return binary(node, node.op, node.args[0], node.args[1], scope);
        }
        return generic(node, scope);
    }
  };

  /** An operator this estimate does not know: 1 + its operands. */
  const generic = (node: ASTNode, scope: ReadonlyMap<string, Shape>): Walked => {
    let cost = 1;
    const visit = (x: unknown): void => {
      if (isNode(x)) cost += walk(x, scope).cost;
      else if (Array.isArray(x)) x.forEach(visit);
    };
    visit(node.args);
    return { cost, shape: {} };
  };

  const binary = (node: ASTNode, op: string, l: ASTNode, r: ASTNode, scope: ReadonlyMap<string, Shape>): Walked => {
    const a = walk(l, scope);
    const b = walk(r, scope);
    let cost = 1 + a.cost + b.cost;
    let shape: Shape = {};
    if (op === 'in') {
      if (b.shape.kind === 'map' || b.shape.kind === 'object')
        cost += 1; // a key lookup
      else {
        const elem = b.shape.elem ?? {};
        const strings = a.shape.kind === 'scalar' || elem.kind === 'scalar' ? 0 : Math.min(lenOf(a.shape), lenOf(elem));
        const scan = sizeOf(b.shape) * (CHEAP_STEP + strWork(strings));
        cost += scan;
        blame(node, scan);
      }
    } else if (op === '+' && (a.shape.kind === 'string' || b.shape.kind === 'string')) {
      const len = lenOf(a.shape) + lenOf(b.shape);
      cost += strWork(len);
      shape = str(len);
    } else if (op === '+' && (a.shape.kind === 'list' || b.shape.kind === 'list')) {
      const size = sizeOf(a.shape) + sizeOf(b.shape);
      cost += size;
      shape = { kind: 'list', size, elem: join(a.shape.elem, b.shape.elem) };
    } else if (a.shape.kind === 'string' && b.shape.kind === 'string') {
      cost += strWork(Math.min(lenOf(a.shape), lenOf(b.shape))); // == != < <= > >=
    } else if ((op === '==' || op === '!=') && (a.shape.kind === 'list' || a.shape.kind === 'map')) {
      cost += Math.min(sizeOf(a.shape), sizeOf(b.shape));
    }
    return { cost, shape };
  };

  const call = (
    node: ASTNode,
    name: string,
    receiver: ASTNode | null,
    args: readonly ASTNode[],
    scope: ReadonlyMap<string, Shape>,
  ): Walked => {
    // Comprehensions: range + size × body.
    if (
      receiver &&
      MACROS.has(name) &&
      (args.length === 2 || (name === 'map' && args.length === 3)) &&
      args[0]!.op === 'id'
    ) {
      const range = walk(receiver, scope);
      const n = sizeOf(range.shape);
      // A list's items, or a map's keys.
      const inner = new Map(scope).set(args[0]!.args as string, range.shape.elem ?? {});
      const pred = walk(args[1]!, inner);
      const transform = args[2] ? walk(args[2], inner) : null;
      const loop = n * (pred.cost + (transform?.cost ?? 0) + 2);
      blame(node, loop);
      const shape: Shape =
        name === 'map'
          ? { kind: 'list', size: n, elem: (transform ?? pred).shape }
          : name === 'filter'
            ? { kind: 'list', size: n, elem: range.shape.elem }
            : {};
      return { cost: 1 + range.cost + loop, shape };
    }
    // cel.bind(var, value, expression)
    if (
      receiver &&
      name === 'bind' &&
      receiver.op === 'id' &&
      receiver.args === 'cel' &&
      args.length === 3 &&
      args[0]!.op === 'id'
    ) {
      const value = walk(args[1]!, scope);
      const expr = walk(args[2]!, new Map(scope).set(args[0]!.args as string, value.shape));
      return { cost: 1 + value.cost + expr.cost, shape: expr.shape };
    }
    // has(x.f): a presence test, not a read.
    if (!receiver && name === 'has' && args.length === 1) {
      const sel = args[0]!;
      return { cost: 2 + (sel.op === '.' ? walk(sel.args[0], scope).cost : walk(sel, scope).cost), shape: {} };
    }
    // matches(): s.matches(p) or matches(s, p).
    const isMatches =
      (name === 'matches' || name === RECEIVER_MATCHES) &&
      ((receiver && args.length === 1) || (!receiver && args.length === 2));
    if (isMatches) {
      const subject = receiver ?? args[0]!;
      const patternNode = receiver ? args[0]! : args[1]!;
      if (patternNode.op !== 'value' || typeof patternNode.args !== 'string') {
        throw new CostError(
          'matches(): the pattern must be a string literal (it is checked and compiled once, when the ruleset compiles)',
          patternNode.pos,
        );
      }
      let size: number;
      try {
        size = compilePattern(patternNode.args).programSize();
      } catch (err) {
        if (err instanceof PatternError) throw new CostError(`matches(): ${err.message}`, patternNode.pos);
        throw err;
      }
      const s = walk(subject, scope);
      const len = lenOf(s.shape);
      const work = MATCHES_BASE + len / MATCHES_CHARS_PER_UNIT + (len * size) / REGEX_STEPS_PER_UNIT;
      blame(node, work);
      return { cost: 2 + s.cost + work, shape: {} };
    }
    let cost = 1;
    const r = receiver ? walk(receiver, scope) : null;
    if (r) cost += r.cost;
    const a = args.map((x) => walk(x, scope));
    for (const w of a) cost += w.cost;
    const subject = r ?? a[0];
    let shape: Shape = {};
    const container =
      subject?.shape.kind === 'list' || subject?.shape.kind === 'map' || subject?.shape.kind === 'object';
    if (subject && !container && (subject.shape.kind === 'string' || STRING_SCAN.has(name))) {
      const len = lenOf(subject.shape);
      if (STRING_SCAN.has(name)) cost += strWork(len);
      if (STRING_TO_STRING.has(name)) shape = str(len);
      else if (name === 'split') shape = { kind: 'list', size: len + 1, elem: str(len) };
    }
    if (name === 'join' && subject?.shape.kind === 'list') {
      const len =
        sizeOf(subject.shape) * (lenOf(subject.shape.elem ?? {}) + (a[r ? 0 : 1] ? lenOf(a[r ? 0 : 1]!.shape) : 0));
      cost += strWork(len);
      shape = str(len);
    } else if (!receiver && name === 'dyn' && a[0]) {
      shape = a[0].shape;
    } else if (!receiver && name === 'string' && a[0]) {
      shape = str(a[0].shape.kind === 'string' ? lenOf(a[0].shape) : 32);
    }
    return { cost, shape };
  };

  const { cost } = walk(ast, new Map());
  return { cost: Math.ceil(cost), culprit };
}
