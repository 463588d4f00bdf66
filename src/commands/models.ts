/**
 * `fraud-engine models …`: model promotion as a versioned change under four eyes. A model file is
 * published for a role (champion or challenger) after the checks an engine makes, approved by
 * another person with the approver role, and then taken up by every running engine between two
 * batches, without a restart (src/models/registry/). Who acts signs in as for `rules`: --user NAME
 * (or FRAUD_USER) and FRAUD_PASSWORD.
 *
 * `compare` (champion against challenger on labelled live traffic) is in ./models-compare.ts.
 */
import { configOf, guarded, HELP_WORDS, parseOrUsage, required, UsageError } from '../cli/kit.js';
import { IdentityError, type User } from '../identity/users.js';
import { publishModelFile, signInToRegistry, withModelRegistry } from '../models/registry/admin.js';
import { ModelFileError } from '../models/registry/model-file.js';
import { checkRole, ModelRegistryError, type ModelRegistry } from '../models/registry/pg-model-registry.js';
import { modelsText, requestLine } from '../models/registry/text.js';
import { credentials } from './rules.js';

const HELP = `usage: fraud-engine models <command> [--config config/default.yaml]

  publish --path MODEL.onnx [--role challenger|champion] --comment WHY --user NAME
                                    check the file as an engine loads it (metadata beside it, the engine's features
                                    in order, a trial run), then record it for the role (default challenger) with its
                                    sha256: a request, pending approval. A file that fails is refused with the reason
  approve <version> --user NAME [--comment WHY]
                                    approve the open request for <version> (an approver, not its requester): the file
                                    is hashed again, and every running engine swaps it in between two batches
  reject <version> --user NAME --comment WHY
                                    reject it
  retire --role challenger --user NAME --comment WHY
                                    request that the challenger stop being scored (approved like a publication)
  list [--json]                     what runs per role, the open requests, every version with its state
  compare --from D --to D           champion and challenger side by side on the audit trail joined with the
                                    labels that arrived (AUC, AP, CP@100, decline precision, false-decline rate)

A version is the metadata's model_version and names one file (its sha256). Approved versions win
over model.path / model.challenger_path; those decide only while the registry never had a version
for the role. PostgreSQL: postgres.url (FRAUD_POSTGRES_URL).

Four eyes: who acts signs in with --user NAME (or FRAUD_USER) and the password in FRAUD_PASSWORD;
nobody approves their own request.`;

const OPTIONS = {
  config: { type: 'string' },
  path: { type: 'string' },
  role: { type: 'string' },
  comment: { type: 'string' },
  user: { type: 'string' },
  author: { type: 'string' },
  json: { type: 'boolean' },
} as const;

type Sub = (argv: string[]) => Promise<number>;

function parse(argv: string[]) {
  return parseOrUsage(argv, OPTIONS, HELP, { positionals: true });
}

/** `fn` as the signed-in user of `cmd` (credentials checked before the database is opened). */
function asUser<T>(
  cmd: string,
  values: ReturnType<typeof parse>['values'],
  fn: (r: ModelRegistry, user: User) => Promise<T>,
): Promise<T> {
  const creds = credentials(`models ${cmd}`, values);
  const cfg = configOf(values.config);
  return withModelRegistry(cfg, async (r) => fn(r, await signInToRegistry(r, cfg, creds)));
}

const needComment = (cmd: string, comment: string | undefined): string => {
  if (!comment?.trim()) throw new UsageError(`models ${cmd}: --comment "why" is required`);
  return comment;
};

const print = (text: string): number => {
  console.log(text);
  return 0;
};

const publish: Sub = async (argv) => {
  const { values } = parse(argv);
  const path = required(values.path, 'models publish: --path MODEL.onnx', HELP);
  const role = checkRole(values.role ?? 'challenger');
  const comment = needComment('publish', values.comment);
  return asUser('publish', values, async (r, user) => {
    const { row } = await publishModelFile(r, path, { role, by: user.username, comment });
    return print(
      `published model ${row.version} as ${row.role} (${row.onnx_path}, sha256 ${row.sha256}, ${row.features} features): pending; another approver approves it with \`fraud-engine models approve ${row.version}\``,
    );
  });
};

const approve: Sub = async (argv) => {
  const { values, positionals } = parse(argv);
  const version = required(positionals[0], 'models approve: <version>', HELP);
  return asUser('approve', values, async (r, user) => {
    const { request, previous } = await r.approve(version, { by: user.username, comment: values.comment });
    const what =
      request.kind === 'publish'
        ? `${version} is the active ${request.role} (was ${previous ?? "the configuration's"})`
        : `challenger ${version} retired`;
    return print(`approved request ${request.id}: ${what}; running engines take it up within a second`);
  });
};

const reject: Sub = async (argv) => {
  const { values, positionals } = parse(argv);
  const version = required(positionals[0], 'models reject: <version>', HELP);
  const comment = needComment('reject', values.comment);
  return asUser('reject', values, async (r, user) => {
    const req = await r.reject(version, { by: user.username, comment });
    return print(`rejected ${requestLine(req)}`);
  });
};

const retire: Sub = async (argv) => {
  const { values } = parse(argv);
  const role = required(values.role, 'models retire: --role challenger', HELP);
  const comment = needComment('retire', values.comment);
  return asUser('retire', values, async (r, user) => {
    const req = await r.requestRetire(role, { by: user.username, comment });
    return print(
      `requested: ${requestLine(req)}; another approver approves it with \`fraud-engine models approve ${req.version}\``,
    );
  });
};

const list: Sub = async (argv) => {
  const { values } = parse(argv);
  const cfg = configOf(values.config);
  return withModelRegistry(cfg, async (r) => {
    const [rows, pending, state] = await Promise.all([r.versions(), r.pending(), r.state()]);
    if (values.json) return print(JSON.stringify({ state, pending, versions: rows }, null, 2));
    return print(modelsText(rows, pending, state, { champion: cfg.model.path, challenger: cfg.model.challenger_path }));
  });
};

/** Its own module (src/commands/models-compare.ts), loaded only when asked for. */
const compare: Sub = async (argv) => (await import('./models-compare.js')).default(argv);

const SUBCOMMANDS: Record<string, Sub> = { publish, approve, reject, retire, list, compare };

function modelsErrorExit(err: unknown): number | undefined {
  if (err instanceof ModelRegistryError || err instanceof ModelFileError || err instanceof IdentityError) {
    console.error(
      err instanceof ModelFileError ? `model refused (${err.reason}): ${err.message}; nothing published` : err.message,
    );
    return 1;
  }
  return undefined;
}

export default function models(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || HELP_WORDS.includes(sub)) {
    console.log(HELP);
    return Promise.resolve(sub ? 0 : 2);
  }
  const run = SUBCOMMANDS[sub];
  if (!run) {
    console.error(`unknown models command '${sub}'\n\n${HELP}`);
    return Promise.resolve(2);
  }
  return guarded(() => run(rest), modelsErrorExit);
}
