/**
 * Rulesets as files, for the analysts' tools: loaded and validated with every error at once,
 * errors in the form editors and CI annotate, and rules written back as YAML (importable with
 * `rules publish`, pasted under `rules:` in config/rules).
 */
import { existsSync, statSync } from 'node:fs';
import { stringify } from 'yaml';
import { validateRuleset } from './compile.js';
import type { RuleLimits } from './cost.js';
import { loadRulesetFiles } from './load.js';
import { bareRule, RuleError, type RuleDef, type RulesetDef } from './types.js';

/** `file:line:column rule 'id': reason` — the form editors and CI annotate. */
export function formatRuleError(e: RuleError): string {
  const pos = [e.line, e.line !== null ? e.column : null].filter((x) => x !== null).join(':');
  return `${e.file}${pos ? `:${pos}` : ''}${e.ruleId ? ` rule '${e.ruleId}'` : ''}: ${e.reason}`;
}

/** Whether a ruleset reference names files (an existing directory or YAML file) rather than a stored version. */
export function isRulesetPath(ref: string): boolean {
  return existsSync(ref) && (statSync(ref).isDirectory() || /\.ya?ml$/.test(ref));
}

/**
 * Loads a ruleset (directory or file) and compiles every rule against `limits`: the definition
 * and every error; a structural error (the files do not parse) is the only one, without a definition.
 */
export function loadAndValidate(path: string, limits: RuleLimits): { def: RulesetDef | null; errors: RuleError[] } {
  try {
    const def = loadRulesetFiles(path);
    return { def, errors: validateRuleset(def, limits) };
  } catch (err) {
    if (err instanceof RuleError) return { def: null, errors: [err] };
    throw err;
  }
}

/** A whole ruleset as YAML, `header` lines as comments first. */
export function rulesetYaml(def: RulesetDef, header: string[] = []): string {
  const body = stringify(
    { version: def.version, description: def.description, thresholds: def.thresholds, rules: def.rules.map(bareRule) },
    { lineWidth: 0 },
  );
  return [...header.map((h) => `# ${h}`), body].join('\n');
}

/** One rule as a YAML list item, indented to paste under `rules:` in config/rules/*.yaml. */
export function ruleYaml(rule: RuleDef, comment: string[] = []): string {
  const body = stringify([bareRule(rule)], { lineWidth: 0 })
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`);
  return [...comment.map((c) => `  # ${c}`), ...body].join('\n');
}
