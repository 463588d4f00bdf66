/**
 * A draft's text checked as the engine would: loaded by the rules loader (src/rules/load.ts) and
 * every rule compiled by the engine's compiler with the configured limits (the same calls as
 * `rules validate`). Each error carries its line and column in the draft text and the character
 * offset there, so that the editor can point at it; and, when it compiles, what it changes
 * against the active version.
 */
import { validateRuleset } from '../../rules/compile.js';
import type { RuleLimits } from '../../rules/cost.js';
import { diffRulesets, diffText, type RulesetDiff } from '../../rules/diff.js';
import { loadRulesetText } from '../../rules/load.js';
import { RuleError, type RulesetDef } from '../../rules/types.js';

export interface DraftError {
  /** 1-based, in the draft text; null: the whole draft. */
  line: number | null;
  /** 1-based; null: the line as a whole. */
  column: number | null;
  /** Character offset of line:column (or of the line's start) in the draft text. */
  offset: number;
  rule: string | null;
  /** `line 5, column 24: rule 'big': CEL: …`, for a person. */
  message: string;
}

export interface DraftCheck {
  ok: boolean;
  def: RulesetDef | null;
  errors: DraftError[];
  /** `ruleset v2: 10 rules (9 active, 1 shadow)` when it compiles. */
  summary: string;
  diff: RulesetDiff | null;
  /** diffText of diff, one entry a line. */
  diffLines: string[];
}

/** The offset of `line`:`column` (1-based) in `text`; clamped to the text; column null → the line's start. */
export function offsetOf(text: string, line: number | null, column: number | null): number {
  if (line === null || line < 1) return 0;
  let at = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) return text.length;
    at = nl + 1;
  }
  const end = text.indexOf('\n', at);
  const lineEnd = end < 0 ? text.length : end;
  return Math.min(at + Math.max(0, (column ?? 1) - 1), lineEnd);
}

/** A RuleError of the draft as the editor shows it. */
export function draftError(text: string, e: RuleError): DraftError {
  const where = [
    e.line !== null ? `line ${e.line}` : null,
    e.line !== null && e.column !== null ? `column ${e.column}` : null,
  ]
    .filter(Boolean)
    .join(', ');
  return {
    line: e.line,
    column: e.line !== null ? e.column : null,
    offset: offsetOf(text, e.line, e.column),
    rule: e.ruleId,
    message: `${where || 'draft'}${e.ruleId ? `: rule '${e.ruleId}'` : ''}: ${e.reason}`,
  };
}

/** The draft `text` loaded and compiled with `limits`; compared with `active` when it compiles. */
export function checkDraft(text: string, limits: RuleLimits, active: RulesetDef | null): DraftCheck {
  let def: RulesetDef;
  try {
    def = loadRulesetText(text);
  } catch (err) {
    if (!(err instanceof RuleError)) throw err;
    return { ok: false, def: null, errors: [draftError(text, err)], summary: '', diff: null, diffLines: [] };
  }
  // The compiler gives the column in the expression when the loader could not place it in the
  // text (a folded or escaped scalar): then only the line is the draft's.
  const placed = new Set(def.rules.filter((r) => r.source?.column !== undefined).map((r) => r.id));
  const errors = validateRuleset(def, limits).map((e) =>
    draftError(text, e.ruleId && !placed.has(e.ruleId) ? new RuleError(e.file, e.ruleId, e.line, null, e.reason) : e),
  );
  if (errors.length) return { ok: false, def, errors, summary: '', diff: null, diffLines: [] };
  const shadow = def.rules.filter((r) => r.mode === 'shadow').length;
  const diff = active ? diffRulesets(active, def) : null;
  return {
    ok: true,
    def,
    errors: [],
    summary: `ruleset ${def.version}: ${def.rules.length} rules (${def.rules.length - shadow} active, ${shadow} shadow) compile`,
    diff,
    diffLines: diff ? diffText(diff).split('\n') : ['(no active version to compare with)'],
  };
}
