/**
 * `fraud-engine models …`: the models' tools. Only `compare` here (champion against challenger on
 * labelled live traffic, ./models-compare.ts); each subcommand is its own module, loaded lazily.
 */
import { HELP_WORDS } from '../cli/kit.js';

type Sub = { summary: string; load: () => Promise<{ default: (argv: string[]) => Promise<number> }> };

const SUBCOMMANDS: Record<string, Sub> = {
  compare: {
    summary: 'champion and challenger side by side on the audit trail joined with the labels that arrived',
    load: () => import('./models-compare.js'),
  },
};

const HELP = `usage: fraud-engine models <command> [options]

${Object.entries(SUBCOMMANDS)
  .map(([name, s]) => `  ${name.padEnd(10)} ${s.summary}`)
  .join('\n')}

Run 'fraud-engine models <command> --help' for a command's options.`;

export default async function models(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || HELP_WORDS.includes(sub)) {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  const s = SUBCOMMANDS[sub];
  if (!s) {
    console.error(`unknown subcommand 'models ${sub}'\n\n${HELP}`);
    return 2;
  }
  return (await s.load()).default(rest);
}
