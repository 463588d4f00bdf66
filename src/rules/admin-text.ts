/**
 * What the analysts' tasks on the rules store (./admin.ts) print: the versions, a version as
 * YAML, the activations, the open and decided change requests, the lists' values, the report of
 * a publication. Plain text (or JSON) for `rules …` and `lists …`; the command prints it.
 */
import { IdentityError } from '../identity/users.js';
import { table } from '../observability/table.js';
import { NoDatabaseError, type Published } from './admin.js';
import { formatRuleError, rulesetYaml } from './files.js';
import type { Approved, ListRequest, RuleApprovals, RulesetRequest } from './pg-approvals.js';
import { PublishError, RulesetStoreError, type PgRulesetStore } from './pg-store.js';
import { RuleError, type RulesetDef } from './types.js';

/** A date as the tables show it, to the second ('-': none). */
export const isoTime = (d: Date | null): string => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');

/** `rules validate`: the summary of a ruleset that compiles. */
export function validatedText(path: string, def: RulesetDef): string {
  const n = (mode: string) => def.rules.filter((r) => r.mode === mode).length;
  return `${path}: ruleset ${def.version} OK (${def.rules.length} rules: ${n('active')} active, ${n('shadow')} shadow)`;
}

/** `rules publish`: what was published (a pending request), each line to `out`, the note on list values to `err`. */
export function printPublished(
  p: Published,
  out: (line: string) => void = console.log,
  err: (line: string) => void = console.error,
): void {
  out(
    `published ruleset ${p.meta.version} (${p.meta.rules} rules) by ${p.meta.author}: ${p.meta.comment}; pending approval`,
  );
  if (p.listValuesIgnored)
    err(
      `note: ${p.listValuesIgnored} list value(s) in the files are not part of a version: lists live in PostgreSQL (fraud-engine lists add …)`,
    );
  out(
    `another approver activates it with: fraud-engine rules approve ${p.meta.version} (or the console's Approvals page)`,
  );
}

/** `rules list`: the versions, newest first, with status, author, date and comment. */
export async function rulesetsText(store: PgRulesetStore, json = false): Promise<string> {
  const all = await store.list();
  if (json) return JSON.stringify(all, null, 2);
  if (!all.length)
    return 'no ruleset published yet (engines use config/rules): fraud-engine rules publish config/rules --comment …';
  return table([
    ['version', 'status', 'rules', 'author', 'approved by', 'created', 'last active', 'comment'],
    ...all.map((m) => [
      m.version,
      m.status,
      String(m.rules),
      m.author,
      m.approved_by ?? '-',
      isoTime(m.created_at),
      isoTime(m.activated_at),
      m.comment,
    ]),
  ]);
}

/** `rules show`: a version as YAML (importable with publish), or as JSON. */
export async function rulesetText(store: PgRulesetStore, version: string, json = false): Promise<string> {
  const { meta, def } = await store.require(version);
  if (json) return JSON.stringify({ ...meta, rules: def.rules.map(({ source: _s, ...r }) => r) }, null, 2);
  return rulesetYaml(def, [
    `ruleset ${meta.version}: ${meta.status}, published ${isoTime(meta.created_at)} by ${meta.author}${meta.source ? ` from ${meta.source}` : ''}${meta.approved_by ? `, approved by ${meta.approved_by}` : ''}`,
    `comment: ${meta.comment}`,
  ]);
}

/** `rules approve`: what the approval made active. */
export function approvedText(a: Approved): string {
  return `approved request ${a.request.id} (${a.request.kind} ${a.version}, requested by ${a.request.requested_by}): ${a.version} is active${a.previous ? ` (was ${a.previous})` : ''}; running engines take it up within a second`;
}

/** `rules activate`: the rollback requested. */
export function activationRequestedText(r: RulesetRequest): string {
  return `requested activation of ${r.version} (request ${r.id}, active now: ${r.base_version ?? 'none'}); another approver approves it with: fraud-engine rules approve ${r.version}`;
}

/** `rules pending`: the open ruleset requests. */
export async function pendingText(approvals: RuleApprovals, json = false): Promise<string> {
  const rows = await approvals.pending();
  if (json) return JSON.stringify(rows, null, 2);
  if (!rows.length) return 'no open ruleset request';
  return table([
    ['request', 'version', 'kind', 'requested by', 'requested', 'active then', 'comment'],
    ...rows.map((r) => [
      String(r.id),
      r.version,
      r.kind,
      r.requested_by,
      isoTime(r.requested_at),
      r.base_version ?? '-',
      r.comment,
    ]),
  ]);
}

/** `rules history`: the last activations. */
export async function activationsText(store: PgRulesetStore, limit = 50): Promise<string> {
  const rows = await store.activations(limit);
  return table([
    ['activated', 'version', 'previous', 'requested by', 'approved by', 'comment'],
    ...rows.map((r) => [
      isoTime(r.activated_at),
      r.version,
      r.previous_version ?? '-',
      r.requested_by ?? '-',
      r.activated_by,
      r.comment,
    ]),
  ]);
}

/** `lists show`: the values of list `name` (all lists when none), with who added them, when and why. */
export async function listEntriesText(store: PgRulesetStore, name: string | undefined, json = false): Promise<string> {
  const rows = await store.listEntries(name);
  if (json) return JSON.stringify(rows, null, 2);
  if (!rows.length) return name ? `${name} is empty` : 'all lists are empty';
  return table([
    ['list', 'value', 'added by', 'approved by', 'added', 'comment'],
    ...rows.map((r) => [r.name, r.value, r.added_by, r.approved_by ?? '-', isoTime(r.added_at), r.comment]),
  ]);
}

/** `lists add|remove`: the change requested. */
export function listRequestedText(r: ListRequest): string {
  return `requested: ${r.op} ${r.value} ${r.op === 'add' ? 'to' : 'from'} ${r.name} (request ${r.id}); another approver applies it with: fraud-engine lists approve ${r.id}`;
}

/** `lists pending`: the open list change requests. */
export async function pendingListsText(approvals: RuleApprovals, json = false): Promise<string> {
  const rows = await approvals.pendingListChanges();
  if (json) return JSON.stringify(rows, null, 2);
  if (!rows.length) return 'no open list change request';
  return table([
    ['request', 'change', 'list', 'value', 'requested by', 'requested', 'comment'],
    ...rows.map((r) => [String(r.id), r.op, r.name, r.value, r.requested_by, isoTime(r.requested_at), r.comment]),
  ]);
}

/** Rule errors, each as file:line:column rule 'id': reason, on stderr. */
export const printRuleErrors = (errors: readonly RuleError[]): void => {
  for (const e of errors) console.error(formatRuleError(e));
};

/**
 * The rules store's errors a user can act on, printed plainly (for a command's error handler):
 * no database (2), refusals and rule errors (1). Anything else: undefined.
 */
export function rulesErrorExit(err: unknown): number | undefined {
  if (err instanceof NoDatabaseError) {
    console.error(err.message);
    return 2;
  }
  if (err instanceof PublishError) {
    console.error(
      `ruleset ${err.version} refused: ${err.errors.length} rule error(s); the active ruleset is unchanged`,
    );
    printRuleErrors(err.errors);
    return 1;
  }
  if (err instanceof RulesetStoreError || err instanceof RuleError || err instanceof IdentityError) {
    console.error(err.message);
    return 1;
  }
  return undefined;
}
