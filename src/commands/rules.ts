/**
 * `fraud-engine rules …` and `fraud-engine lists …`: the risk analysts' tools. Rulesets are
 * validated from files, published to PostgreSQL as immutable versions (who, when, why) that are
 * change requests until another approver approves them (four eyes: src/rules/pg-approvals.ts),
 * compared, rolled back (a request too), and backtested on history before that
 * (./rules-backtest.ts). Whoever changes something signs in: --user NAME (or FRAUD_USER) and
 * FRAUD_PASSWORD, a user of `fraud-engine users`. Commands that need PostgreSQL read `postgres.url`
 * from the config (FRAUD_POSTGRES_URL) and apply the schema migrations first (src/rules/admin.ts).
 */
import { existsSync } from 'node:fs';
import { configOf, formatOption, guarded, HELP_WORDS, parseOrUsage, required, UsageError } from '../cli/kit.js';
import type { EngineConfig } from '../config/config.js';
import { publishCostErrors } from '../pipelines/replay/rule-costs.js';
import rulesBacktest from './rules-backtest.js';
import type { User } from '../identity/users.js';
import { diffOf, publishRuleset, signInTo, withRulesStore } from '../rules/admin.js';
import {
  activationRequestedText,
  activationsText,
  approvedText,
  listEntriesText,
  listRequestedText,
  pendingListsText,
  pendingText,
  printPublished,
  printRuleErrors,
  rulesErrorExit,
  rulesetsText,
  rulesetText,
  validatedText,
} from '../rules/admin-text.js';
import { compileRuleset, type CompiledRuleset } from '../rules/compile.js';
import { DEFAULT_RULE_LIMITS, ruleLimitsOf, type RuleLimits } from '../rules/cost.js';
import { diffText } from '../rules/diff.js';
import { loadAndValidate } from '../rules/files.js';
import { RuleApprovals } from '../rules/pg-approvals.js';
import { RulesetStoreError, type PgRulesetStore } from '../rules/pg-store.js';
import type { RuleError, RulesetDef } from '../rules/types.js';

const IDENTITY_HELP = `Four eyes: publishing, rolling back and list changes are requests; another user with the approver
role approves or rejects them (here or on the console's Approvals page), and only then do they
reach the engines. Who acts signs in: --user NAME (or FRAUD_USER) with the password in
FRAUD_PASSWORD (never on the command line); a user of \`fraud-engine users add\`.`;

const RULES_HELP = `usage: fraud-engine rules <command> [--config config/default.yaml]

  validate <dir|file>                         compile every rule; each error as file:line:column rule 'id': reason (exit 1 on errors);
                                              a rule over the compile limits (rules.max_rule_cost: estimated cost, sizes) is an error
  publish <dir|file> --comment WHY --user NAME [--version ID] [--input HISTORY [--format csv|jsonl]] [--max-us-per-event N]
                                              store the ruleset as a new version, pending approval (a change request); the id is the
                                              files' \`version\` unless --version.
                                              Refused when a rule is over the compile limits, or when a rule measured on HISTORY (else on
                                              a simulated history) costs more than N µs per event (rules.max_rule_us_per_event; 0: not measured)
  list [--json]                               versions, newest first, with status, author, date and comment
  show <version> [--json]                     a version as YAML (importable with publish)
  diff <a> <b> [--json]                       rules added, removed, changed and threshold changes (a version or a directory each)
  pending [--json]                            the open requests (new versions and rollbacks)
  approve <version> --user NAME [--comment WHY]
                                              approve the open request for <version> (an approver, not its author): it becomes the
                                              active ruleset of every engine
  reject <version> --user NAME --comment WHY  reject it (an approver, not its author)
  activate <version> --user NAME --comment WHY
                                              request that an older version be active again (the rollback), approved like a new one
  history                                     the last activations, with who asked and who approved
  backtest <dir|file> --input HISTORY [--format csv|jsonl] [--label-delay-days 7] [--model models/model.onnx]
           [--against <version|dir>] [--json FILE] [--batch-size 500] [--from DATE] [--to DATE]
                                              replay HISTORY once; decide with the active ruleset (PostgreSQL if configured, else
                                              config/rules) and with the proposed one; per rule and overall: hits, outcome changes,
                                              frauds and false positives; each proposed rule's cost (estimate, measured µs/event).
                                              --from/--to (YYYY-MM-DD, UTC; or ISO 8601 with a zone): only history in [from, to)
  draft "<rule in plain words>" --input HISTORY …   ask the assistant for one rule (see: rules draft --help)

PostgreSQL: postgres.url (FRAUD_POSTGRES_URL).

${IDENTITY_HELP}`;

const LISTS_HELP = `usage: fraud-engine lists <command> [--config config/default.yaml]

  add <name> <value> --user NAME [--comment WHY]     request adding a value
  remove <name> <value> --user NAME [--comment WHY]  request removing a value
  pending [--json]                                   the open list change requests
  approve <request> --user NAME [--comment WHY]      apply it (an approver, not its requester): engines take it up within a second
  reject <request> --user NAME --comment WHY         reject it
  show [name] [--json]                               the values, with who added them, who approved, when and why

Lists: block_card, allow_card, block_customer, allow_customer, block_device, block_ip, block_email, block_terminal.

${IDENTITY_HELP}`;

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

/**
 * The signed-in user of a changing command: --user (else FRAUD_USER) and FRAUD_PASSWORD. The old
 * free-text --author is refused: a name anyone can type is not an identity.
 */
export function credentials(
  cmd: string,
  values: { user?: string; author?: string },
): { username: string; password: string } {
  if (values.author !== undefined)
    throw new UsageError(
      `${cmd}: --author is gone: sign in with --user NAME (or FRAUD_USER) and FRAUD_PASSWORD; the recorded identity is the signed-in user`,
    );
  const username = values.user ?? process.env.FRAUD_USER;
  const password = process.env.FRAUD_PASSWORD;
  if (!username || !password)
    throw new UsageError(
      `${cmd}: who is acting? --user NAME (or FRAUD_USER) and the password in FRAUD_PASSWORD (a user of \`fraud-engine users\`)`,
    );
  return { username, password };
}

const OPTIONS = {
  config: { type: 'string' },
  comment: { type: 'string' },
  user: { type: 'string' },
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
  /** `fn` as the signed-in user (credentials checked before the database is opened). */
  const asUser = <T>(fn: (store: PgRulesetStore, user: User, approvals: RuleApprovals) => Promise<T>) => {
    const creds = credentials(`rules ${sub}`, values);
    const cfg = configOf(values.config);
    return withRulesStore(cfg, async (s) => fn(s, await signInTo(s, cfg, creds), new RuleApprovals(s)));
  };

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
      if (values.activate)
        throw new UsageError(
          'rules publish: --activate is gone: a new version is a request that another approver activates (rules approve VERSION)',
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
      return asUser(async (s, user) => {
        const p = await publishRuleset(s, def, {
          comment: values.comment!,
          author: user.username,
          version: values.version,
          source: path,
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
    case 'pending':
      return store(async (s) => print(await pendingText(new RuleApprovals(s), values.json)));
    case 'approve': {
      const version = arg(0, 'version');
      return asUser(async (_s, user, a) =>
        print(approvedText(await a.approve(version, { by: user.username, comment: values.comment }))),
      );
    }
    case 'reject': {
      const version = arg(0, 'version');
      if (!values.comment?.trim()) throw new UsageError('rules reject: --comment "why" is required');
      return asUser(async (_s, user, a) => {
        const r = await a.reject(version, { by: user.username, comment: values.comment });
        return print(`rejected request ${r.id} (${r.kind} ${r.version}, requested by ${r.requested_by})`);
      });
    }
    case 'activate': {
      const version = arg(0, 'version');
      if (!values.comment?.trim())
        throw new UsageError(
          'rules activate: --comment "why" is required (a rollback is a request like a new version)',
        );
      return asUser(async (_s, user, a) =>
        print(
          activationRequestedText(await a.requestActivation(version, { by: user.username, comment: values.comment! })),
        ),
      );
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
    {
      config: { type: 'string' },
      comment: { type: 'string' },
      user: { type: 'string' },
      author: { type: 'string' },
      json: { type: 'boolean' },
    },
    LISTS_HELP,
    { positionals: true },
  );
  if (!sub || HELP_WORDS.includes(sub)) {
    console.log(LISTS_HELP);
    return sub ? 0 : 2;
  }
  const [name, value] = positionals;
  const store = <T>(fn: (store: PgRulesetStore) => Promise<T>) => withRulesStore(configOf(values.config), fn);
  const asUser = <T>(fn: (user: User, approvals: RuleApprovals) => Promise<T>) => {
    const creds = credentials(`lists ${sub}`, values);
    const cfg = configOf(values.config);
    return withRulesStore(cfg, async (s) => fn(await signInTo(s, cfg, creds), new RuleApprovals(s)));
  };
  /** The request id of approve / reject. */
  const requestId = (): number => {
    const id = Number(name);
    if (!Number.isInteger(id) || id <= 0)
      throw new UsageError(`lists ${sub}: expected <request> (a number, see lists pending)\n\n${LISTS_HELP}`);
    return id;
  };
  switch (sub) {
    case 'add':
    case 'remove': {
      if (value === undefined) throw new UsageError(`lists ${sub}: expected <name> <value>\n\n${LISTS_HELP}`);
      const op = sub;
      return asUser(async (user, a) =>
        print(
          listRequestedText(
            await a.requestListChange(name!, value, op, { by: user.username, comment: values.comment }),
          ),
        ),
      );
    }
    case 'pending':
      return store(async (s) => print(await pendingListsText(new RuleApprovals(s), values.json)));
    case 'approve': {
      const id = requestId();
      return asUser(async (user, a) => {
        const { request: r, applied } = await a.approveListChange(id, { by: user.username, comment: values.comment });
        const what = `${r.op} ${r.value} ${r.op === 'add' ? 'to' : 'from'} ${r.name}`;
        return print(
          applied
            ? `approved request ${id} (${what}, requested by ${r.requested_by}): engines take it up within a second`
            : `approved request ${id} (${what}); the list already was so: nothing changed`,
        );
      });
    }
    case 'reject': {
      const id = requestId();
      if (!values.comment?.trim()) throw new UsageError('lists reject: --comment "why" is required');
      return asUser(async (user, a) => {
        const r = await a.rejectListChange(id, { by: user.username, comment: values.comment });
        return print(`rejected request ${id} (${r.op} ${r.value} in ${r.name}, requested by ${r.requested_by})`);
      });
    }
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
