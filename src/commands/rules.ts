/**
 * `fraud-engine rules …` and `fraud-engine lists …`: the risk analysts' tools. Rulesets are
 * validated from files, published to PostgreSQL as immutable versions (who, when, why),
 * compared, activated (and rolled back by activating an older version), and backtested on
 * history before that (./rules-backtest.ts). Commands that need PostgreSQL read `postgres.url`
 * from the config (FRAUD_POSTGRES_URL) and apply the schema migrations first (src/rules/admin.ts).
 */
import { existsSync } from 'node:fs';
import { configOf, formatOption, guarded, HELP_WORDS, parseOrUsage, required, UsageError } from '../cli/kit.js';
import type { EngineConfig } from '../config/config.js';
import { publishCostErrors } from '../pipelines/replay/rule-costs.js';
import rulesBacktest from './rules-backtest.js';
import { defaultAuthor, diffOf, publishRuleset, withRulesStore } from '../rules/admin.js';
import {
  activateText,
  activationsText,
  addToListText,
  listEntriesText,
  printPublished,
  printRuleErrors,
  removeFromListText,
  rulesErrorExit,
  rulesetsText,
  rulesetText,
  validatedText,
} from '../rules/admin-text.js';
import { compileRuleset, type CompiledRuleset } from '../rules/compile.js';
import { DEFAULT_RULE_LIMITS, ruleLimitsOf, type RuleLimits } from '../rules/cost.js';
import { diffText } from '../rules/diff.js';
import { loadAndValidate } from '../rules/files.js';
import { RulesetStoreError, type PgRulesetStore } from '../rules/pg-store.js';
import type { RuleError, RulesetDef } from '../rules/types.js';

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
           [--against <version|dir>] [--json FILE] [--batch-size 500] [--from DATE] [--to DATE]
                                              replay HISTORY once; decide with the active ruleset (PostgreSQL if configured, else
                                              config/rules) and with the proposed one; per rule and overall: hits, outcome changes,
                                              frauds and false positives; each proposed rule's cost (estimate, measured µs/event).
                                              --from/--to (YYYY-MM-DD, UTC; or ISO 8601 with a zone): only history in [from, to)
  draft "<rule in plain words>" --input HISTORY …   ask the assistant for one rule (see: rules draft --help)

PostgreSQL: postgres.url (FRAUD_POSTGRES_URL).`;

const LISTS_HELP = `usage: fraud-engine lists <command> [--config config/default.yaml]

  add <name> <value> [--comment WHY] [--author A]     add a value (engines take it up within a second)
  remove <name> <value> [--comment WHY] [--author A]  remove a value
  show [name] [--json]                                the values, with who added them, when and why

Lists: block_card, allow_card, block_customer, allow_customer, block_device, block_ip, block_email, block_terminal.`;

/** The compile limits of the config (--config, else config/default.yaml when there is one, else the defaults). */
export function limitsOf(configPath: string | undefined): RuleLimits {
  if (configPath === undefined && !existsSync('config/default.yaml')) return DEFAULT_RULE_LIMITS;
  return ruleLimitsOf(configOf(configPath).rules);
}

/** A ruleset's files loaded and compiled, each error printed. */
function loadFiles(path: string, limits: RuleLimits): { def: RulesetDef | null; errors: RuleError[] } {
  if (!existsSync(path)) throw new UsageError(`no such file or directory: ${path}`);
  const r = loadAndValidate(path, limits);
  printRuleErrors(r.errors);
  return r;
}

const print = (text: string): number => {
  console.log(text);
  return 0;
};

const OPTIONS = {
  config: { type: 'string' },
  comment: { type: 'string' },
  author: { type: 'string' },
  version: { type: 'string' },
  activate: { type: 'boolean' },
  json: { type: 'boolean' },
  input: { type: 'string' },
  format: { type: 'string' },
  'label-delay-days': { type: 'string' },
  model: { type: 'string' },
  against: { type: 'string' },
  'batch-size': { type: 'string' },
  'max-us-per-event': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
} as const;

async function rulesMain(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'draft') return (await import('./rules-draft.js')).default(rest);
  if (!sub || HELP_WORDS.includes(sub)) {
    console.log(RULES_HELP);
    return sub ? 0 : 2;
  }
  // --json is a file for backtest, a flag for list / show / diff.
  if (sub === 'backtest') {
    const { values, positionals } = parseOrUsage(rest, { ...OPTIONS, json: { type: 'string' } }, RULES_HELP, {
      positionals: true,
    });
    const path = required(positionals[0], 'rules backtest: <dir|file>', RULES_HELP);
    if (!existsSync(path)) throw new UsageError(`no such file or directory: ${path}`);
    return rulesBacktest(path, values);
  }
  const { values, positionals } = parseOrUsage(rest, OPTIONS, RULES_HELP, { positionals: true });
  const arg = (i: number, name: string): string => required(positionals[i], `rules ${sub}: <${name}>`, RULES_HELP);
  const store = <T>(fn: (store: PgRulesetStore) => Promise<T>) => withRulesStore(configOf(values.config), fn);

  switch (sub) {
    case 'validate': {
      const path = arg(0, 'dir|file');
      const { def, errors } = loadFiles(path, limitsOf(values.config));
      if (errors.length || !def) {
        console.error(`${path}: ${errors.length} error(s)`);
        return 1;
      }
      console.log(validatedText(path, def));
      return 0;
    }
    case 'publish': {
      const path = arg(0, 'dir|file');
      if (!values.comment?.trim())
        throw new UsageError(
          'rules publish: --comment "why" is required (who, when and why are kept with every version)',
        );
      const cfg = configOf(values.config);
      const limits = ruleLimitsOf(cfg.rules);
      const { def, errors } = loadFiles(path, limits);
      const refused = (n: number) => {
        console.error(
          `rules publish: ${def ? `ruleset ${values.version ?? def.version}` : path} refused: ${n} error(s); nothing published, the active ruleset is unchanged`,
        );
        return 1;
      };
      if (errors.length || !def) return refused(errors.length);
      const slow = await measuredCostErrors(compileRuleset(def, undefined, limits), cfg, values);
      if (slow.length) {
        printRuleErrors(slow);
        return refused(slow.length);
      }
      const author = values.author ?? defaultAuthor();
      return withRulesStore(cfg, async (s) => {
        const p = await publishRuleset(s, def, {
          comment: values.comment!,
          author,
          version: values.version,
          source: path,
          activate: values.activate === true,
        });
        printPublished(p);
        return 0;
      });
    }
    case 'list':
      return store(async (s) => print(await rulesetsText(s, values.json)));
    case 'show': {
      const version = arg(0, 'version');
      return store(async (s) => print(await rulesetText(s, version, values.json)));
    }
    case 'diff': {
      const [a, b] = [arg(0, 'a'), arg(1, 'b')];
      const load = (x: string): RulesetDef => {
        const { def, errors } = loadFiles(x, limitsOf(values.config));
        if (errors.length || !def) throw new RulesetStoreError(`${x} does not compile`);
        return def;
      };
      const d = await diffOf(a, b, load, store);
      console.log(values.json ? JSON.stringify(d, null, 2) : diffText(d));
      return 0;
    }
    case 'activate': {
      const version = arg(0, 'version');
      const by = values.author ?? defaultAuthor();
      return store(async (s) => print(await activateText(s, version, { by, comment: values.comment ?? '' })));
    }
    case 'history':
      return store(async (s) => print(await activationsText(s, 50)));
    default:
      throw new UsageError(`unknown rules command '${sub}'\n\n${RULES_HELP}`);
  }
}

/**
 * `rules publish`: the rules over the measured cost bound (--max-us-per-event, else
 * rules.max_rule_us_per_event; 0: not measured), on --input HISTORY or a small simulated history.
 */
async function measuredCostErrors(
  rs: CompiledRuleset,
  cfg: EngineConfig,
  values: { 'max-us-per-event'?: string; input?: string; format?: string },
): Promise<RuleError[]> {
  const given = values['max-us-per-event'];
  const bound = given === undefined ? cfg.rules.max_rule_us_per_event : Number(given);
  if (!(bound >= 0)) throw new UsageError('--max-us-per-event must be a number >= 0 (0: not measured)');
  if (bound === 0) return [];
  const format = formatOption(values.format);
  if (values.input && !existsSync(values.input)) throw new UsageError(`rules publish: no such file: ${values.input}`);
  const boundName = given === undefined ? 'rules.max_rule_us_per_event' : '--max-us-per-event';
  const r = await publishCostErrors(rs, { bound, boundName, input: values.input, format });
  if (!r.errors.length) console.log(r.summary);
  return r.errors;
}

async function listsMain(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseOrUsage(
    rest,
    { config: { type: 'string' }, comment: { type: 'string' }, author: { type: 'string' }, json: { type: 'boolean' } },
    LISTS_HELP,
    { positionals: true },
  );
  if (!sub || HELP_WORDS.includes(sub)) {
    console.log(LISTS_HELP);
    return sub ? 0 : 2;
  }
  const by = values.author ?? defaultAuthor();
  const [name, value] = positionals;
  const need = () => {
    if (value === undefined) throw new UsageError(`lists ${sub}: expected <name> <value>\n\n${LISTS_HELP}`);
  };
  const store = <T>(fn: (store: PgRulesetStore) => Promise<T>) => withRulesStore(configOf(values.config), fn);
  switch (sub) {
    case 'add':
      need();
      return store(async (s) => print(await addToListText(s, name!, value!, { by, comment: values.comment })));
    case 'remove':
      need();
      return store(async (s) => {
        const r = await removeFromListText(s, name!, value!, { by, comment: values.comment });
        console.log(r.text);
        return r.removed ? 0 : 1;
      });
    case 'show':
      return store(async (s) => print(await listEntriesText(s, name, values.json)));
    default:
      throw new UsageError(`unknown lists command '${sub}'\n\n${LISTS_HELP}`);
  }
}

export default function rules(argv: string[]): Promise<number> {
  return guarded(() => rulesMain(argv), rulesErrorExit);
}

export function lists(argv: string[]): Promise<number> {
  return guarded(() => listsMain(argv), rulesErrorExit);
}
