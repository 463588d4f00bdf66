/**
 * `fraud-engine rules backtest <dir|file> --input HISTORY [--from D --to D]` (parsed by ./rules.ts): what a proposed
 * ruleset would have changed on history (the window [from, to) of it when given) against the one in force
 * (src/rules/admin.ts `backtestBaseline`), by the one backtest engine (src/pipelines/replay/backtest.ts).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { configOf, formatOption, intOption, numberOption, UsageError } from '../cli/kit.js';
import { readHistoryFile } from '../events/history/index.js';
import { engineScorerIfPresent } from '../models/onnx-scorer.js';
import { backtestRulesets } from '../pipelines/replay/backtest.js';
import { backtestText, costWarnings } from '../pipelines/replay/backtest-text.js';
import { parseWindow, readHistoryWindow, windowText, WindowError } from '../pipelines/replay/backtest-window.js';
import { backtestBaseline } from '../rules/admin.js';
import { printRuleErrors } from '../rules/admin-text.js';
import { compileRuleset } from '../rules/compile.js';
import { ruleLimitsOf } from '../rules/cost.js';
import { loadAndValidate } from '../rules/files.js';

export interface BacktestArgs {
  config?: string;
  input?: string;
  format?: string;
  'label-delay-days'?: string;
  'batch-size'?: string;
  model?: string;
  against?: string;
  json?: string;
  from?: string;
  to?: string;
}

export default async function rulesBacktest(path: string, values: BacktestArgs): Promise<number> {
  const input = values.input;
  if (!input) throw new UsageError('rules backtest: --input <history file> is required');
  if (!existsSync(input)) throw new UsageError(`rules backtest: no such file: ${input}`);
  const format = formatOption(values.format);
  let window;
  try {
    window = parseWindow(values.from, values.to);
  } catch (err) {
    if (err instanceof WindowError) throw new UsageError(`rules backtest: ${err.message}`);
    throw err;
  }
  const windowed = window.from !== undefined || window.to !== undefined;
  const delay = numberOption('label-delay-days', values['label-delay-days'], 7);
  const batchSize = intOption('batch-size', values['batch-size'], 500, 1);
  const cfg = configOf(values.config);
  const limits = ruleLimitsOf(cfg.rules);

  const proposedFiles = loadAndValidate(path, limits);
  printRuleErrors(proposedFiles.errors);
  if (proposedFiles.errors.length || !proposedFiles.def) {
    console.error(`rules backtest: the proposed ruleset does not compile (${proposedFiles.errors.length} error(s))`);
    return 1;
  }
  const baseline = await backtestBaseline(cfg, limits, { against: values.against });
  const proposed = compileRuleset(proposedFiles.def, baseline.lists ?? undefined, limits);

  const records = windowed ? await readHistoryWindow(input, window, format) : await readHistoryFile(input, format);
  if (windowed && records.length === 0) {
    console.error(`rules backtest: no transactions in ${input} within ${windowText(window)}`);
    return 1;
  }
  const modelPath = values.model ?? cfg.model.path;
  const scorer = await engineScorerIfPresent(modelPath);
  if (!scorer)
    console.error(
      `rules backtest: no model at ${modelPath}: backtesting on rules only (score absent, thresholds unused)`,
    );

  const report = await backtestRulesets({
    input: windowed ? `${input} ${windowText(window)}` : input,
    records,
    baseline: baseline.ruleset,
    baselineSource: baseline.source,
    proposed,
    proposedSource: path,
    scorer,
    labelDelayDays: delay,
    batchSize,
  });
  console.log(backtestText(report));
  for (const w of costWarnings(report, cfg.rules.max_rule_us_per_event)) console.error(w);
  if (values.json) {
    writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
    console.error(`report: ${values.json}`);
  }
  return 0;
}
