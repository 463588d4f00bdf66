/**
 * A ruleset by the version a decision names (`ruleset_version`), for reading past decisions
 * again (`models compare`): the published version in PostgreSQL, else the files of the rules
 * directory when their `version` is that one (an engine without an active version decides with
 * them), else null. Each version is looked up once.
 */
import { existsSync } from 'node:fs';
import { loadRulesetFiles } from './load.js';
import type { PgRulesetStore } from './pg-store.js';
import type { RulesetDef } from './types.js';

export function rulesetByVersion(
  store: Pick<PgRulesetStore, 'show'> | null,
  dir: string | null,
): (version: string) => Promise<RulesetDef | null> {
  const cache = new Map<string, Promise<RulesetDef | null>>();
  let files: RulesetDef | null | undefined;
  const fromFiles = (): RulesetDef | null => {
    if (files === undefined) files = dir && existsSync(dir) ? loadRulesetFiles(dir) : null;
    return files;
  };
  const lookup = async (version: string): Promise<RulesetDef | null> => {
    const stored = store ? await store.show(version) : null;
    if (stored) return stored.def;
    const f = fromFiles();
    return f && f.version === version ? f : null;
  };
  return (version) => {
    let p = cache.get(version);
    if (!p) cache.set(version, (p = lookup(version)));
    return p;
  };
}
