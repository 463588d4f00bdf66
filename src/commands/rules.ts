/**
 * `fraud-engine rules …` and `fraud-engine lists …`: the risk analysts' tools. Rulesets are
 * validated from files, published to PostgreSQL as immutable versions (who, when, why),
 * compared, activated (and rolled back by activating an older version), and backtested on
 * history before that. Commands that need PostgreSQL read `postgres.url` from the config
 * (FRAUD_POSTGRES_URL) and apply the schema migrations first.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { stringify } from 'yaml';
import { ConfigError, loadConfig, type EngineConfig } from '../config/config.js';
import { readHistoryFile, type HistoryFormat } from '../events/history/index.js';
import { FEATURE_NAMES } from '../features/names.js';
import { OnnxScorer } from '../models/onnx-scorer.js';
import { compileRuleset, validateRuleset, type CompiledRuleset } from '../rules/compile.js';
import { RuleLists } from '../rules/context.js';
import { DEFAULT_RULE_LIMITS, ruleLimitsOf, type RuleLimits } from '../rules/cost.js';
import { diffRulesets, diffText } from '../rules/diff.js';
import { loadRulesetFiles } from '../rules/load.js';
import { PgRulesetStore, PublishError, RulesetStoreError, rulesPool } from '../rules/pg-store.js';
import { RuleError, type RulesetDef } from '../rules/types.js';
import { migrate } from '../storage/migrate.js';
import { backtestRulesets, backtestText, measureRulesetCosts, sampleHistory } from './rules-backtest.js';

const RULES_HELP = `usage: fraud-engine rules <command> [--config config/default.yaml]

  validate <dir|file>                         compile every rule; each error as file:line:column rule 'id': reason (exit 1 on errors);
                                              a rule over the compile limits (rules.max_rule_cost: estimated cost, sizes) is an error
  publish <dir|file> --comment WHY [--author A] [--version ID] [--activate] [--input HISTORY [--format csv|jsonl]] [--max-us-per-event N]
                                              store the ruleset as a new version (draft); the id is the files' \`version\` unless --version.
                                              Refused when a rule is over the compile limits, or when a rule measured on HISTORY (else on
                                              a simulated history) costs more than N µs per event (rules.max_rule_us_per_event; 0: not measured)
  list [--json]                               versions, newest first, with status, author, date and comment
  show <version> [--json]                     a version as YAML (importable with publish)
  diff <a> <b> [--json]                       rules added, removed, changed and threshold changes (a version or a directory each)
  activate <version> [--comment WHY] [--author A]
                                              make it the active ruleset of every engine (activating an older version rolls back)
  history                                     the last activations
  backtest <dir|file> --input HISTORY [--format csv|jsonl] [--label-delay-days 7] [--model models/model.onnx]
           [--against <version|dir>] [--json FILE] [--batch-size 500]
                                              replay HISTORY once; decide with the active ruleset (PostgreSQL if configured, else
                                              config/rules) and with the proposed one; per rule and overall: hits, outcome changes,
                                              frauds and false positives; each proposed rule's cost (estimate, measured µs/event)
  draft "<rule in plain words>" --input HISTORY …   ask the assistant for one rule (see: rules draft --help)

PostgreSQL: postgres.url (FRAUD_POSTGRES_URL).`;

const LISTS_HELP = `usage: fraud-engine lists <command> [--config config/default.yaml]

  add <name> <value> [--comment WHY] [--author A]     add a value (engines take it up within a second)
  remove <name> <value> [--comment WHY] [--author A]  remove a value
  show [name] [--json]                                the values, with who added them, when and why

Lists: block_card, allow_card, block_customer, allow_customer, block_device, block_ip, block_email, block_terminal.`;

class UsageError extends Error {}

const defaultAuthor = (): string => {
  try { return process.env.FRAUD_RULES_AUTHOR ?? userInfo().username; } catch { return 'unknown'; }
};

/** `file:line:column rule 'id': reason` — the form editors and CI annotate. */
export function formatRuleError(e: RuleError): string {
  const pos = [e.line, e.line !== null ? e.column : null].filter((x) => x !== null).join(':');
  return `${e.file}${pos ? `:${pos}` : ''}${e.ruleId ? ` rule '${e.ruleId}'` : ''}: ${e.reason}`;
}

function config(path: string | undefined): EngineConfig {
  return loadConfig(path ?? 'config/default.yaml');
}

async function withStore<T>(cfg: EngineConfig, fn: (store: PgRulesetStore) => Promise<T>): Promise<T> {
  if (!cfg.postgres.url) throw new UsageError('this command needs PostgreSQL: set FRAUD_POSTGRES_URL (postgres.url)');
  const pool: pg.Pool = rulesPool(cfg.postgres, { applicationName: 'fraud-engine-rules-cli' });
  pool.on('error', () => undefined);
  try {
    await migrate(pool);
    return await fn(new PgRulesetStore(pool, { limits: ruleLimitsOf(cfg.rules) }));
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** The compile limits of the config (--config, else config/default.yaml when there is one, else the defaults). */
function limitsOf(configPath: string | undefined): RuleLimits {
  if (configPath === undefined && !existsSync('config/default.yaml')) return DEFAULT_RULE_LIMITS;
  return ruleLimitsOf(config(configPath).rules);
}

/** Loads and compiles files, printing every error; null when there are errors. */
function loadFiles(path: string, limits: RuleLimits): { def: RulesetDef; errors: RuleError[] } {
  if (!existsSync(path)) throw new UsageError(`no such file or directory: ${path}`);
  try {
    const def = loadRulesetFiles(path);
    return { def, errors: validateRuleset(def, limits) };
  } catch (err) {
    if (err instanceof RuleError) return { def: null as unknown as RulesetDef, errors: [err] };
    throw err;
  }
}

function printErrors(errors: RuleError[]): void {
  for (const e of errors) console.error(formatRuleError(e));
}

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();
const looksLikePath = (p: string): boolean => existsSync(p) && (isDir(p) || /\.ya?ml$/.test(p));

function rulesetYaml(def: RulesetDef, header: string[] = []): string {
  const body = stringify({
    version: def.version,
    description: def.description,
    thresholds: def.thresholds,
    rules: def.rules.map((r) => ({ id: r.id, description: r.description, expression: r.expression, action: r.action, priority: r.priority, mode: r.mode, owner: r.owner })),
  }, { lineWidth: 0 });
  return [...header.map((h) => `# ${h}`), body].join('\n');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

const iso = (d: Date | null): string => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');

async function rulesMain(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'draft') return (await import('./rules-draft.js')).default(rest);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      config: { type: 'string' }, comment: { type: 'string' }, author: { type: 'string' }, version: { type: 'string' },
      // --json is a file for backtest, a flag for list / show / diff.
      activate: { type: 'boolean' }, json: { type: sub === 'backtest' ? 'string' : 'boolean' }, input: { type: 'string' }, format: { type: 'string' },
      'label-delay-days': { type: 'string' }, model: { type: 'string' }, against: { type: 'string' }, 'batch-size': { type: 'string' },
      'max-us-per-event': { type: 'string' }, help: { type: 'boolean' },
    },
  });
  const jsonFlag = values.json === true;
  if (!sub || values.help || sub === 'help') { console.log(RULES_HELP); return sub ? 0 : 2; }
  const arg = (i: number, name: string): string => {
    const v = positionals[i];
    if (v === undefined) throw new UsageError(`rules ${sub}: missing <${name}>\n\n${RULES_HELP}`);
    return v;
  };

  switch (sub) {
    case 'validate': {
      const path = arg(0, 'dir|file');
      const { def, errors } = loadFiles(path, limitsOf(values.config));
      if (errors.length) {
        printErrors(errors);
        console.error(`${path}: ${errors.length} error(s)`);
        return 1;
      }
      console.log(`${path}: ruleset ${def.version} OK (${def.rules.length} rules: ${def.rules.filter((r) => r.mode === 'active').length} active, ${def.rules.filter((r) => r.mode === 'shadow').length} shadow)`);
      return 0;
    }
    case 'publish': {
      const path = arg(0, 'dir|file');
      if (!values.comment?.trim()) throw new UsageError('rules publish: --comment "why" is required (who, when and why are kept with every version)');
      const cfg = config(values.config);
      const limits = ruleLimitsOf(cfg.rules);
      const { def, errors } = loadFiles(path, limits);
      const refused = (n: number) => console.error(`rules publish: ${def ? `ruleset ${values.version ?? def.version}` : path} refused: ${n} error(s); nothing published, the active ruleset is unchanged`);
      if (errors.length) {
        printErrors(errors);
        refused(errors.length);
        return 1;
      }
      const slow = await measuredCostErrors(def, limits, cfg, values);
      if (slow.length) {
        printErrors(slow);
        refused(slow.length);
        return 1;
      }
      const author = values.author ?? defaultAuthor();
      return withStore(cfg, async (store) => {
        const meta = await store.publish(def, { comment: values.comment!, author, version: values.version, source: path });
        console.log(`published ruleset ${meta.version} (${meta.rules} rules) by ${meta.author}: ${meta.comment}`);
        const listed = Object.values(def.lists).reduce((n, v) => n + (v?.length ?? 0), 0);
        if (listed) console.error(`note: ${listed} list value(s) in the files are not part of a version: lists live in PostgreSQL (fraud-engine lists add …)`);
        if (values.activate) {
          const a = await store.activate(meta.version, { by: author, comment: values.comment! });
          console.log(`activated ${a.version}${a.previous ? ` (was ${a.previous})` : ''}`);
        } else {
          console.log(`activate it with: fraud-engine rules activate ${meta.version}`);
        }
        return 0;
      });
    }
    case 'list':
      return withStore(config(values.config), async (store) => {
        const all = await store.list();
        if (jsonFlag) { console.log(JSON.stringify(all, null, 2)); return 0; }
        if (!all.length) { console.log('no ruleset published yet (engines use config/rules): fraud-engine rules publish config/rules --comment …'); return 0; }
        console.log(table([['version', 'status', 'rules', 'author', 'created', 'last active', 'comment'],
          ...all.map((m) => [m.version, m.status, String(m.rules), m.author, iso(m.created_at), iso(m.activated_at), m.comment])]));
        return 0;
      });
    case 'show': {
      const version = arg(0, 'version');
      return withStore(config(values.config), async (store) => {
        const s = await store.require(version);
        if (jsonFlag) { console.log(JSON.stringify({ ...s.meta, rules: s.def.rules.map(({ source: _s, ...r }) => r) }, null, 2)); return 0; }
        console.log(rulesetYaml(s.def, [
          `ruleset ${s.meta.version}: ${s.meta.status}, published ${iso(s.meta.created_at)} by ${s.meta.author}${s.meta.source ? ` from ${s.meta.source}` : ''}`,
          `comment: ${s.meta.comment}`,
        ]));
        return 0;
      });
    }
    case 'diff': {
      const a = arg(0, 'a');
      const b = arg(1, 'b');
      const fromFiles = (p: string): RulesetDef => {
        const { def, errors } = loadFiles(p, limitsOf(values.config));
        if (errors.length) { printErrors(errors); throw new RulesetStoreError(`${p} does not compile`); }
        return def;
      };
      const both = async (store: PgRulesetStore | null) => {
        const get = async (x: string) => (looksLikePath(x) ? fromFiles(x) : (await store!.require(x)).def);
        const d = diffRulesets(await get(a), await get(b));
        console.log(jsonFlag ? JSON.stringify(d, null, 2) : diffText(d));
        return 0;
      };
      return looksLikePath(a) && looksLikePath(b) ? both(null) : withStore(config(values.config), both);
    }
    case 'activate': {
      const version = arg(0, 'version');
      return withStore(config(values.config), async (store) => {
        const a = await store.activate(version, { by: values.author ?? defaultAuthor(), comment: values.comment ?? '' });
        if (!a.changed) console.log(`${version} is already the active ruleset`);
        else console.log(`activated ${a.version}${a.previous ? ` (was ${a.previous})` : ''}: running engines take it up within a second`);
        return 0;
      });
    }
    case 'history':
      return withStore(config(values.config), async (store) => {
        const rows = await store.activations(50);
        console.log(table([['activated', 'version', 'previous', 'by', 'comment'],
          ...rows.map((r) => [iso(r.activated_at), r.version, r.previous_version ?? '-', r.activated_by, r.comment])]));
        return 0;
      });
    case 'backtest':
      return backtest(arg(0, 'dir|file'), values);
    default:
      throw new UsageError(`unknown rules command '${sub}'\n\n${RULES_HELP}`);
  }
}

async function backtest(path: string, values: Record<string, string | boolean | undefined>): Promise<number> {
  const input = values.input as string | undefined;
  if (!input) throw new UsageError('rules backtest: --input <history file> is required');
  if (!existsSync(input)) throw new UsageError(`rules backtest: no such file: ${input}`);
  const format = values.format as string | undefined;
  if (format && format !== 'csv' && format !== 'jsonl') throw new UsageError('--format must be csv or jsonl');
  const delay = Number(values['label-delay-days'] ?? 7);
  if (!(delay >= 0)) throw new UsageError('--label-delay-days must be a number >= 0');
  const batchSize = Number(values['batch-size'] ?? 500);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError('--batch-size must be an integer >= 1');
  const cfg = config(values.config as string | undefined);
  const limits = ruleLimitsOf(cfg.rules);

  const proposedFiles = loadFiles(path, limits);
  if (proposedFiles.errors.length) {
    printErrors(proposedFiles.errors);
    console.error(`rules backtest: the proposed ruleset does not compile (${proposedFiles.errors.length} error(s))`);
    return 1;
  }
  // Baseline: --against (a version or a directory), else the active version in PostgreSQL
  // (config/rules when none is active or no database is configured). Lists: PostgreSQL's when
  // configured (they are not versioned), for both sides; else each side's files.
  const against = values.against as string | undefined;
  let baseline: CompiledRuleset;
  let baselineSource: string;
  let lists: RuleLists | null = null;
  if (cfg.postgres.url && !(against && looksLikePath(against))) {
    await withStore(cfg, async (store) => {
      lists = new RuleLists(await store.lists());
      const version = against ?? (await store.activeVersion());
      if (version) {
        baseline = compileRuleset((await store.require(version)).def, lists, limits);
        baselineSource = against ? `PostgreSQL ${version}` : 'PostgreSQL, active';
      } else {
        baseline = compileRuleset(loadRulesetFiles(cfg.rules.dir), lists, limits);
        baselineSource = `${cfg.rules.dir}: no active version in PostgreSQL`;
      }
    });
  } else {
    const dir = against ?? cfg.rules.dir;
    baseline = compileRuleset(loadRulesetFiles(dir), undefined, limits);
    baselineSource = dir;
  }
  const proposed = compileRuleset(proposedFiles.def, lists ?? undefined, limits);

  const records = await readHistoryFile(input, format as HistoryFormat | undefined);
  const modelPath = (values.model as string | undefined) ?? cfg.model.path;
  const scorer = existsSync(modelPath) ? await OnnxScorer.load(modelPath, { expectedFeatures: FEATURE_NAMES }) : null;
  if (!scorer) console.error(`rules backtest: no model at ${modelPath}: backtesting on rules only (score absent, thresholds unused)`);

  const report = await backtestRulesets({
    input, records, baseline: baseline!, baselineSource: baselineSource!, proposed, proposedSource: path, scorer, labelDelayDays: delay, batchSize,
  });
  console.log(backtestText(report));
  const bound = cfg.rules.max_rule_us_per_event;
  for (const r of report.rules) {
    if (bound > 0 && r.cost && r.cost.us_per_event > bound) {
      console.error(`warning: rule '${r.id}' measured ${r.cost.us_per_event} µs per event, over rules.max_rule_us_per_event (${bound}): rules publish would refuse it`);
    }
  }
  const jsonOut = values.json as string | undefined;
  if (jsonOut) {
    writeFileSync(jsonOut, JSON.stringify(report, null, 2) + '\n');
    console.error(`report: ${jsonOut}`);
  }
  return 0;
}

/**
 * `rules publish`: each rule's measured cost, as RuleErrors for the rules over the bound
 * (--max-us-per-event, else rules.max_rule_us_per_event; 0: not measured), on --input HISTORY
 * or else on a small simulated history. Wall-clock time: the bound is meant for rules that are
 * tens of times dearer than usual (the shipped ones take ~0.2 µs), not for fine ranking.
 */
async function measuredCostErrors(def: RulesetDef, limits: RuleLimits, cfg: EngineConfig, values: Record<string, string | boolean | undefined>): Promise<RuleError[]> {
  const given = values['max-us-per-event'] as string | undefined;
  const bound = given === undefined ? cfg.rules.max_rule_us_per_event : Number(given);
  if (!(bound >= 0)) throw new UsageError('--max-us-per-event must be a number >= 0 (0: not measured)');
  if (bound === 0) return [];
  const input = values.input as string | undefined;
  const format = values.format as string | undefined;
  if (format && format !== 'csv' && format !== 'jsonl') throw new UsageError('--format must be csv or jsonl');
  if (input && !existsSync(input)) throw new UsageError(`rules publish: no such file: ${input}`);
  const records = input ? await readHistoryFile(input, format as HistoryFormat | undefined) : sampleHistory();
  const { events, usPerEvent } = await measureRulesetCosts(compileRuleset(def, undefined, limits), records);
  const where = input ? input : 'a simulated history';
  const errors: RuleError[] = [];
  for (const r of def.rules) {
    const us = usPerEvent.get(r.id) ?? 0;
    if (us > bound) {
      errors.push(new RuleError(r.source?.file ?? '<rule>', r.id, r.source?.line ?? null, null,
        `cost: measured ${us.toFixed(1)} µs per event over ${events} events of ${where}, over ${given === undefined ? 'rules.max_rule_us_per_event' : '--max-us-per-event'} (${bound})`));
    }
  }
  if (!errors.length) {
    const [id, us] = [...usPerEvent].sort((a, b) => b[1] - a[1])[0] ?? ['-', 0];
    console.log(`cost: every rule under ${bound} µs per event (the dearest: '${id}', ${us.toFixed(2)} µs, over ${events} events of ${where})`);
  }
  return errors;
}

async function listsMain(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { config: { type: 'string' }, comment: { type: 'string' }, author: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (!sub || values.help || sub === 'help') { console.log(LISTS_HELP); return sub ? 0 : 2; }
  const by = values.author ?? defaultAuthor();
  const need = (n: number) => { if (positionals.length < n) throw new UsageError(`lists ${sub}: expected ${n === 2 ? '<name> <value>' : '<name>'}\n\n${LISTS_HELP}`); };
  switch (sub) {
    case 'add':
      need(2);
      return withStore(config(values.config), async (store) => {
        const added = await store.addToList(positionals[0]!, positionals[1]!, { by, comment: values.comment });
        console.log(added ? `added ${positionals[1]} to ${positionals[0]}` : `${positionals[1]} is already in ${positionals[0]}`);
        return 0;
      });
    case 'remove':
      need(2);
      return withStore(config(values.config), async (store) => {
        const removed = await store.removeFromList(positionals[0]!, positionals[1]!, { by, comment: values.comment });
        console.log(removed ? `removed ${positionals[1]} from ${positionals[0]}` : `${positionals[1]} is not in ${positionals[0]}`);
        return removed ? 0 : 1;
      });
    case 'show':
      return withStore(config(values.config), async (store) => {
        const rows = await store.listEntries(positionals[0]);
        if (values.json) { console.log(JSON.stringify(rows, null, 2)); return 0; }
        if (!rows.length) { console.log(positionals[0] ? `${positionals[0]} is empty` : 'all lists are empty'); return 0; }
        console.log(table([['list', 'value', 'added by', 'added', 'comment'], ...rows.map((r) => [r.name, r.value, r.added_by, iso(r.added_at), r.comment])]));
        return 0;
      });
    default:
      throw new UsageError(`unknown lists command '${sub}'\n\n${LISTS_HELP}`);
  }
}

/** Runs a subcommand with the errors a user can act on printed plainly (exit 1), usage errors exit 2. */
async function guarded(fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UsageError) { console.error(err.message); return 2; }
    if (err instanceof ConfigError) { console.error(err.message); return 2; }
    if (err instanceof PublishError) {
      console.error(`ruleset ${err.version} refused: ${err.errors.length} rule error(s); the active ruleset is unchanged`);
      printErrors(err.errors);
      return 1;
    }
    if (err instanceof RulesetStoreError || err instanceof RuleError) { console.error(err.message); return 1; }
    throw err;
  }
}

export default function rules(argv: string[]): Promise<number> {
  return guarded(() => rulesMain(argv));
}

export function lists(argv: string[]): Promise<number> {
  return guarded(() => listsMain(argv));
}
