/** Rules as analysts write them (YAML / PostgreSQL) and as the engine runs them (compiled). */

export type RuleAction = 'DECLINE' | 'REVIEW' | 'APPROVE' | `TAG:${string}`;
export type RuleModeName = 'active' | 'shadow';

export interface RuleDef {
  id: string;
  description: string;
  expression: string;
  action: RuleAction;
  priority: number;
  mode: RuleModeName;
  owner: string;
  /**
   * Where it came from, for error messages: file and line of the expression and, when the
   * expression maps character for character onto the file, the column of its first character.
   */
  source?: { file: string; line: number; column?: number };
}

/** A rule as written (no `source`): what diffs compare and what the YAML writer writes. */
export function bareRule(r: RuleDef): RuleDef {
  return {
    id: r.id,
    description: r.description,
    expression: r.expression,
    action: r.action,
    priority: r.priority,
    mode: r.mode,
    owner: r.owner,
  };
}

export interface Thresholds {
  review: number;
  decline: number;
}

export const LIST_NAMES = [
  'block_card',
  'allow_card',
  'block_customer',
  'allow_customer',
  'block_device',
  'block_ip',
  'block_email',
  'block_terminal',
] as const;
export type ListName = (typeof LIST_NAMES)[number];
/** Lists as CEL sees them: maps, so that `x in lists.name` is a key lookup, not a scan. */
export type Lists = Record<ListName, ReadonlyMap<string, true>>;

export interface RulesetDef {
  version: string;
  description: string;
  thresholds: Thresholds;
  rules: RuleDef[];
  lists: Partial<Record<ListName, string[]>>;
}

export class RuleError extends Error {
  constructor(
    readonly file: string,
    readonly ruleId: string | null,
    readonly line: number | null,
    readonly column: number | null,
    readonly reason: string,
  ) {
    const where = [file, line !== null ? `line ${line}` : null, column !== null ? `column ${column}` : null]
      .filter(Boolean)
      .join(':');
    super(`${where}${ruleId ? ` rule '${ruleId}'` : ''}: ${reason}`);
  }
}
