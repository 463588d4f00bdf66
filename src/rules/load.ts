/**
 * Reads a ruleset directory (or a single file) of YAML: one file holds `version`,
 * `thresholds` and `rules`; `lists.yaml` optionally holds allow/block lists. Every problem
 * is reported with the file, the rule id and the line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Node } from 'yaml';
import { LIST_NAMES, RuleError, type ListName, type RuleAction, type RuleDef, type RulesetDef } from './types.js';

const ACTION_RE = /^(DECLINE|REVIEW|APPROVE|TAG:[a-z0-9_]{1,64})$/;
const ID_RE = /^[a-z][a-z0-9_]{0,63}$/;

function lineOf(counter: LineCounter, node: Node | null | undefined): number | null {
  if (!node?.range) return null;
  return counter.linePos(node.range[0]).line;
}

function yamlText(
  file: string,
  text: string,
): { doc: ReturnType<typeof parseDocument>; counter: LineCounter; text: string } {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const err = doc.errors[0];
  if (err) {
    const pos = counter.linePos(err.pos[0]);
    throw new RuleError(file, null, pos.line, pos.col, `YAML: ${err.message.split('\n')[0]}`);
  }
  return { doc, counter, text };
}

/**
 * Where an expression's first character is in the file. The column is given only when the
 * expression's characters map one to one onto the file (a one-line plain or quoted scalar
 * without escapes, or a literal block `|`), so that a CEL error position is exact.
 */
function expressionPosition(
  counter: LineCounter,
  text: string,
  node: Node | null | undefined,
): { line: number; column?: number } | null {
  if (!node?.range || !isScalar(node)) return node?.range ? { line: counter.linePos(node.range[0]).line } : null;
  const [start, end] = node.range;
  const pos = counter.linePos(start);
  const raw = text.slice(start, end);
  switch (node.type) {
    case 'PLAIN':
      return raw.includes('\n') ? { line: pos.line } : { line: pos.line, column: pos.col };
    case 'QUOTE_SINGLE':
      return raw.includes('\n') || raw.slice(1, -1).includes("''")
        ? { line: pos.line }
        : { line: pos.line, column: pos.col + 1 };
    case 'QUOTE_DOUBLE':
      return raw.includes('\n') || raw.includes('\\') ? { line: pos.line } : { line: pos.line, column: pos.col + 1 };
    case 'BLOCK_LITERAL': {
      // The content starts on the first non-blank line after the `|` header, at its indentation.
      const m = /\n((?:[ \t]*\n)*)( *)\S/.exec(raw);
      if (!m) return { line: pos.line };
      const blank = m[1]!.split('\n').length - 1;
      return { line: pos.line + 1 + blank, column: m[2]!.length + 1 };
    }
    default:
      return { line: pos.line };
  }
}

function ruleFrom(file: string, counter: LineCounter, text: string, node: unknown, index: number): RuleDef {
  if (!isMap(node))
    throw new RuleError(file, null, lineOf(counter, node as Node), null, `rules[${index}] is not a mapping`);
  const line = lineOf(counter, node);
  const raw = node.toJSON() as Record<string, unknown>;
  const id = typeof raw.id === 'string' ? raw.id : null;
  const fail = (key: string, reason: string): never => {
    const keyNode = node.items.find((p) => (p.key as { value?: unknown })?.value === key);
    throw new RuleError(
      file,
      id ?? `#${index}`,
      lineOf(counter, keyNode?.value as Node) ?? line,
      null,
      `${key}: ${reason}`,
    );
  };
  const known = ['id', 'description', 'expression', 'action', 'priority', 'mode', 'owner'];
  for (const k of Object.keys(raw)) if (!known.includes(k)) fail(k, `unknown key (known: ${known.join(', ')})`);
  if (!id || !ID_RE.test(id)) fail('id', 'required, lower snake case, at most 64 characters');
  if (typeof raw.expression !== 'string' || raw.expression.trim() === '') fail('expression', 'required CEL expression');
  if (typeof raw.action !== 'string' || !ACTION_RE.test(raw.action))
    fail('action', 'one of DECLINE, REVIEW, APPROVE, TAG:<name>');
  const priority = raw.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isInteger(priority)) fail('priority', 'an integer');
  const mode = raw.mode ?? 'active';
  if (mode !== 'active' && mode !== 'shadow') fail('mode', "'active' or 'shadow'");
  const exprNode = node.items.find((p) => (p.key as { value?: unknown })?.value === 'expression');
  const where = expressionPosition(counter, text, exprNode?.value as Node);
  return {
    id: id!,
    description: typeof raw.description === 'string' ? raw.description : '',
    expression: raw.expression as string,
    action: raw.action as RuleAction,
    priority: priority as number,
    mode: mode as 'active' | 'shadow',
    owner: typeof raw.owner === 'string' ? raw.owner : '',
    source: { file, line: where?.line ?? line ?? 0, ...(where?.column !== undefined ? { column: where.column } : {}) },
  };
}

function readLists(file: string, text: string): Partial<Record<ListName, string[]>> {
  const { doc, counter } = yamlText(file, text);
  const out: Partial<Record<ListName, string[]>> = {};
  if (doc.contents === null) return out;
  if (!isMap(doc.contents)) throw new RuleError(file, null, 1, null, 'expected a mapping of list name to values');
  for (const pair of doc.contents.items) {
    const name = String((pair.key as { value?: unknown })?.value);
    if (!(LIST_NAMES as readonly string[]).includes(name)) {
      throw new RuleError(
        file,
        null,
        lineOf(counter, pair.key as Node),
        null,
        `unknown list '${name}' (known: ${LIST_NAMES.join(', ')})`,
      );
    }
    const values = (pair.value as Node | null)?.toJSON?.() ?? [];
    if (!Array.isArray(values))
      throw new RuleError(file, null, lineOf(counter, pair.value as Node), null, `list '${name}' must be a sequence`);
    out[name as ListName] = values.map(String);
  }
  return out;
}

/** Loads a ruleset from a directory (all *.yaml / *.yml, lists.yaml for lists) or one file. */
export function loadRulesetFiles(path: string): RulesetDef {
  const files = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => join(path, f))
    : [path];
  return rulesetOf(
    path,
    files.map((file) => ({ file, text: readFileSync(file, 'utf8') })),
  );
}

/**
 * Loads a ruleset from the text of one file (the console's drafts): the same rules as a file
 * on disk, every error's line and column in `text`, named `name`.
 */
export function loadRulesetText(text: string, name = '<draft>'): RulesetDef {
  return rulesetOf(name, [{ file: name, text }]);
}

function rulesetOf(path: string, files: { file: string; text: string }[]): RulesetDef {
  let head: { version: string; description: string; thresholds: RulesetDef['thresholds'] } | null = null;
  const rules: RuleDef[] = [];
  let lists: RulesetDef['lists'] = {};
  for (const { file, text: source } of files) {
    if (basename(file).replace(/\.ya?ml$/, '') === 'lists') {
      lists = { ...lists, ...readLists(file, source) };
      continue;
    }
    const { doc, counter, text } = yamlText(file, source);
    if (!isMap(doc.contents))
      throw new RuleError(file, null, 1, null, 'expected a mapping with version, thresholds and rules');
    const raw = doc.toJSON() as Record<string, unknown>;
    if (raw.version !== undefined) {
      if (head)
        throw new RuleError(file, null, 1, null, 'a second file declares `version`: one ruleset header per directory');
      const t = raw.thresholds as Record<string, unknown> | undefined;
      const review = t?.review,
        decline = t?.decline;
      if (
        typeof review !== 'number' ||
        typeof decline !== 'number' ||
        !(review >= 0 && review <= decline && decline <= 1)
      ) {
        throw new RuleError(
          file,
          null,
          lineOf(counter, doc.get('thresholds', true) as Node) ?? 1,
          null,
          'thresholds: review and decline are numbers with 0 <= review <= decline <= 1',
        );
      }
      head = {
        version: String(raw.version),
        description: String(raw.description ?? ''),
        thresholds: { review, decline },
      };
    }
    const seq = doc.get('rules', true);
    if (seq === undefined) continue;
    if (!isSeq(seq)) throw new RuleError(file, null, lineOf(counter, seq as Node), null, 'rules must be a sequence');
    seq.items.forEach((item, i) => rules.push(ruleFrom(file, counter, text, item, i)));
  }
  if (!head) throw new RuleError(path, null, null, null, 'no file declares the ruleset `version` and `thresholds`');
  const seen = new Map<string, RuleDef>();
  for (const r of rules) {
    const prev = seen.get(r.id);
    if (prev)
      throw new RuleError(
        r.source!.file,
        r.id,
        r.source!.line,
        null,
        `duplicate rule id (first at ${prev.source!.file}:${prev.source!.line})`,
      );
    seen.set(r.id, r);
  }
  return { ...head, rules, lists };
}
