/** A ruleset compiled from files (config/rules by default): replay, backtests, and `run` without PostgreSQL. */
import { compileRuleset, type CompiledRuleset } from './compile.js';
import type { RuleLimits } from './cost.js';
import { loadRulesetFiles } from './load.js';

export class StaticRulesetSource {
  constructor(private readonly rs: CompiledRuleset) {}
  static fromFiles(path: string, limits?: RuleLimits): StaticRulesetSource {
    return new StaticRulesetSource(compileRuleset(loadRulesetFiles(path), undefined, limits));
  }
  current(): CompiledRuleset {
    return this.rs;
  }
}
