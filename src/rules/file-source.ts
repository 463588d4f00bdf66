/** A ruleset compiled from files (config/rules by default): replay, backtests, and `run` without PostgreSQL. */
import { compileRuleset, type CompiledRuleset } from './compile.js';
import { loadRulesetFiles } from './load.js';

export class StaticRulesetSource {
  constructor(private readonly rs: CompiledRuleset) {}
  static fromFiles(path: string): StaticRulesetSource {
    return new StaticRulesetSource(compileRuleset(loadRulesetFiles(path)));
  }
  current(): CompiledRuleset {
    return this.rs;
  }
}
