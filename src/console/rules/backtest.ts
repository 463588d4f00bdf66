/**
 * A draft's backtest from the console: the one backtest library (src/pipelines/replay/backtest.ts,
 * as `rules backtest`), the draft against the active version, on the window [from, to) of the
 * configured history file (src/pipelines/replay/backtest-window.ts, as `rules backtest --from --to`).
 */
import { existsSync } from 'node:fs';
import { backtestRulesets, type BacktestReport } from '../../pipelines/replay/backtest.js';
import { readHistoryWindow, windowText, type HistoryWindow } from '../../pipelines/replay/backtest-window.js';
import { compileRuleset } from '../../rules/compile.js';
import { RuleLists } from '../../rules/context.js';
import { loadRulesetFiles } from '../../rules/load.js';
import type { RulesetDef } from '../../rules/types.js';
import type { ConsoleRules } from '../deps.js';

/** A backtest that cannot run on what was asked (no history, an empty window): the message says why. */
export class BacktestInputError extends Error {}

export interface ActiveRuleset {
  def: RulesetDef;
  /** The active version; null: none is active, the files of rules.dir are in force. */
  version: string | null;
  source: string;
}

/** The ruleset in force: the active version in PostgreSQL, else the default files (as the engine falls back). */
export async function activeRuleset(r: ConsoleRules): Promise<ActiveRuleset> {
  const version = await r.store.activeVersion();
  if (version) return { def: (await r.store.require(version)).def, version, source: `PostgreSQL ${version} (active)` };
  return { def: loadRulesetFiles(r.rulesDir), version: null, source: `${r.rulesDir} (no active version)` };
}

/** The draft `proposed` backtested against the active ruleset on the window of the history file. */
export async function backtestDraft(
  r: ConsoleRules,
  proposed: RulesetDef,
  window: HistoryWindow,
  proposedSource: string,
): Promise<BacktestReport> {
  if (!existsSync(r.historyFile))
    throw new BacktestInputError(
      `There is no history file at ${r.historyFile} (console.history_file): write one with \`fraud-engine simulate --out ${r.historyFile}\` or point console.history_file at yours.`,
    );
  const records = await readHistoryWindow(r.historyFile, window);
  if (!records.length)
    throw new BacktestInputError(
      `No transactions in ${r.historyFile} within ${windowText(window)}: choose a window the history covers. Nothing was run.`,
    );
  const base = await activeRuleset(r);
  // Lists live in PostgreSQL, not in versions: both sides see the same, as the engine would.
  const lists = new RuleLists(await r.store.lists());
  return backtestRulesets({
    input: `${r.historyFile} ${windowText(window)}`,
    records,
    baseline: compileRuleset(base.def, lists, r.limits),
    baselineSource: base.source,
    proposed: compileRuleset(proposed, lists, r.limits),
    proposedSource,
    scorer: await r.scorer(),
    measureCosts: false,
  });
}
