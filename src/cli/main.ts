/**
 * The `fraud-engine` CLI: one binary, subcommands. Each subcommand lives in src/commands/
 * (a composition root) and is imported lazily so that `simulate` never loads onnxruntime.
 */
type CommandModule = { default: (argv: string[]) => Promise<number> };

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  run: { summary: 'consume authorizations from Kafka and produce decisions', load: () => import('../commands/run.js') },
  simulate: {
    summary: 'generate synthetic card transactions (file or Kafka load)',
    load: () => import('../commands/simulate.js'),
  },
  features: {
    summary: 'compute the feature vector of every transaction in a file (backfill, parity)',
    load: () => import('../commands/features.js'),
  },
  replay: {
    summary: 'run the decision pipeline embedded over a file of past transactions',
    load: () => import('../commands/replay.js'),
  },
  demo: {
    summary: 'the engine end to end on the local stack with a live summary (npm run demo)',
    load: () => import('../commands/demo.js'),
  },
  train: {
    summary: "log the engine's feature vectors for a history file and fit the ONNX model (training/)",
    load: () => import('../commands/train.js'),
  },
  bench: {
    summary: 'throughput and latency of the engine beside a kafkajs passthrough (npm run bench)',
    load: () => import('../commands/bench.js'),
  },
  console: {
    summary: "the analysts' web console: review queue, decisions, rules with backtests, approvals",
    load: () => import('../commands/console.js'),
  },
  migrate: {
    summary: 'apply the PostgreSQL schema migrations (rules, audit trail, identity, cases)',
    load: () => import('../commands/migrate.js'),
  },
  users: {
    summary: 'add, list and disable the people of the console and the rules tooling (roles)',
    load: () => import('../commands/users.js'),
  },
  topics: { summary: 'create the topics of config/topics.tsv (ensure)', load: () => import('../commands/topics.js') },
  schemas: {
    summary: 'register the Avro schemas of config/schemas with the registry',
    load: () => import('../commands/schemas.js'),
  },
  rules: {
    summary:
      'validate, publish (a request), approve / reject (four eyes), diff, roll back and backtest CEL rulesets (PostgreSQL versions)',
    load: () => import('../commands/rules.js'),
  },
  models: {
    summary:
      'publish a model for champion or challenger, approve / reject (four eyes), retire, list (hot-swapped by engines); compare champion and challenger on labelled traffic',
    load: () => import('../commands/models.js'),
  },
  lists: {
    summary: 'request, approve and show allow/block list changes (PostgreSQL; engines take them up once approved)',
    load: async () => ({ default: (await import('../commands/rules.js')).lists }),
  },
  sink: {
    summary: 'sink audit: write every decision and fraud label to PostgreSQL (audit trail, partitioned by day)',
    load: () => import('../commands/sink.js'),
  },
  decisions: {
    summary: 'show <auth_id> | search --card TOKEN --from T --to T: read the audit trail',
    load: () => import('../commands/decisions.js'),
  },
  explain: {
    summary: 'explain a stored decision with an OpenAI-compatible chat model (analyst assistant)',
    load: () => import('../commands/explain.js'),
  },
  'draft-rule': {
    summary: 'draft one CEL rule from plain words with the assistant, validate and backtest it (= rules draft)',
    load: () => import('../commands/rules-draft.js'),
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: fraud-engine <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'fraud-engine <command> --help' for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const mod = await cmd.load();
  return mod.default(rest);
}
