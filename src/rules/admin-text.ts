/**
 * What the analysts' tasks on the rules store (./admin.ts) print: the versions, a version as
 * YAML, the activations, the lists' values, the report of a publication. Plain text (or JSON)
 * for `rules …` and `lists …`; the command prints it.
 */
import { table } from '../observability/table.js';
import { NoDatabaseError, type Published } from './admin.js';
import { formatRuleError, rulesetYaml } from './files.js';
import { PublishError, RulesetStoreError, type PgRulesetStore } from './pg-store.js';
import { RuleError, type RulesetDef } from './types.js';

/** A date as the tables show it, to the second ('-': none). */
export const isoTime = (d: Date | null): string => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');

/** `rules validate`: the summary of a ruleset that compiles. */
export function validatedText(path: string, def: RulesetDef): string {
  const n = (mode: string) => def.rules.filter((r) => r.mode === mode).length;
  return `${path}: ruleset ${def.version} OK (${def.rules.length} rules: ${n('active')} active, ${n('shadow')} shadow)`;
}

/** `rules publish`: what was published (and activated), each line to `out`, the note on list values to `err`. */
export function printPublished(
  p: Published,
  out: (line: string) => void = console.log,
  err: (line: string) => void = console.error,
): void {
  out(`published ruleset ${p.meta.version} (${p.meta.rules} rules) by ${p.meta.author}: ${p.meta.comment}`);
  if (p.listValuesIgnored)
    err(
      `note: ${p.listValuesIgnored} list value(s) in the files are not part of a version: lists live in PostgreSQL (fraud-engine lists add …)`,
    );
  if (p.activation)
    out(`activated ${p.activation.version}${p.activation.previous ? ` (was ${p.activation.previous})` : ''}`);
  else out(`activate it with: fraud-engine rules activate ${p.meta.version}`);
}

/** `rules list`: the versions, newest first, with status, author, date and comment. */
export async function rulesetsText(store: PgRulesetStore, json = false): Promise<string> {
  const all = await store.list();
  if (json) return JSON.stringify(all, null, 2);
  if (!all.length)
    return 'no ruleset published yet (engines use config/rules): fraud-engine rules publish config/rules --comment …';
  return table([
    ['version', 'status', 'rules', 'author', 'created', 'last active', 'comment'],
    ...all.map((m) => [
      m.version,
      m.status,
      String(m.rules),
      m.author,
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
    `ruleset ${meta.version}: ${meta.status}, published ${isoTime(meta.created_at)} by ${meta.author}${meta.source ? ` from ${meta.source}` : ''}`,
    `comment: ${meta.comment}`,
  ]);
}

/** `rules activate`: activates `version` and says what changed. */
export async function activateText(
  store: PgRulesetStore,
  version: string,
  o: { by: string; comment: string },
): Promise<string> {
  const a = await store.activate(version, o);
  return a.changed
    ? `activated ${a.version}${a.previous ? ` (was ${a.previous})` : ''}: running engines take it up within a second`
    : `${version} is already the active ruleset`;
}

/** `rules history`: the last activations. */
export async function activationsText(store: PgRulesetStore, limit = 50): Promise<string> {
  const rows = await store.activations(limit);
  return table([
    ['activated', 'version', 'previous', 'by', 'comment'],
    ...rows.map((r) => [isoTime(r.activated_at), r.version, r.previous_version ?? '-', r.activated_by, r.comment]),
  ]);
}

/** `lists show`: the values of list `name` (all lists when none), with who added them, when and why. */
export async function listEntriesText(store: PgRulesetStore, name: string | undefined, json = false): Promise<string> {
  const rows = await store.listEntries(name);
  if (json) return JSON.stringify(rows, null, 2);
  if (!rows.length) return name ? `${name} is empty` : 'all lists are empty';
  return table([
    ['list', 'value', 'added by', 'added', 'comment'],
    ...rows.map((r) => [r.name, r.value, r.added_by, isoTime(r.added_at), r.comment]),
  ]);
}

/** `lists add`: adds `value` to list `name` and says whether it was there already. */
export async function addToListText(
  store: PgRulesetStore,
  name: string,
  value: string,
  o: { by: string; comment?: string },
): Promise<string> {
  return (await store.addToList(name, value, o)) ? `added ${value} to ${name}` : `${value} is already in ${name}`;
}

/** `lists remove`: removes `value` from list `name`; `removed` false when it was not there. */
export async function removeFromListText(
  store: PgRulesetStore,
  name: string,
  value: string,
  o: { by: string; comment?: string },
): Promise<{ text: string; removed: boolean }> {
  const removed = await store.removeFromList(name, value, o);
  return { text: removed ? `removed ${value} from ${name}` : `${value} is not in ${name}`, removed };
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
  if (err instanceof RulesetStoreError || err instanceof RuleError) {
    console.error(err.message);
    return 1;
  }
  return undefined;
}
