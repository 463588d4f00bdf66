/**
 * The dependency rule of ARCHITECTURE.md §7, checked on every import of src/: the CLI → the
 * commands → the composition roots (app) → the pipelines and sinks → the stages → the shared ground. Each
 * folder of src/ may import only the folders listed for it below; a new folder, or a new arrow
 * that runs back up, fails here until it is placed on purpose.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

/** What the composition roots may import: all that the commands may, but the commands and the bench. */
const APP: readonly string[] = [
  'assistant',
  'cases',
  'cli',
  'config',
  'console',
  'identity',
  'evaluation',
  'events',
  'features',
  'kafka',
  'models',
  'observability',
  'pipelines',
  'rules',
  'security',
  'simulator',
  'sinks',
  'storage',
];

/** Folder → the folders it may import (besides itself). Lower layers first. */
const ALLOWED: Record<string, readonly string[]> = {
  // shared ground
  security: [],
  config: [],
  events: ['security'],
  observability: ['security'],
  storage: ['config', 'observability'],
  kafka: ['config', 'observability', 'security'],
  // who is who: users, roles, sessions, the action log
  identity: ['storage', 'config', 'observability', 'security'],
  // stages
  features: ['events', 'config', 'observability', 'security'],
  // storage, identity: the model registry (src/models/registry/) enforces four eyes itself, as the rules store does
  models: ['events', 'features', 'config', 'observability', 'storage', 'identity'],
  // identity: four eyes (who may approve, the action log) is enforced by the rules store itself
  rules: ['events', 'features', 'config', 'observability', 'storage', 'security', 'identity'],
  evaluation: ['events'],
  simulator: ['events'],
  // pipelines and sinks
  pipelines: [
    'events',
    'features',
    'models',
    'rules',
    'evaluation',
    'simulator',
    'kafka',
    'config',
    'observability',
    'security',
    'storage',
  ],
  sinks: ['events', 'kafka', 'config', 'observability', 'security', 'storage'],
  // the analyst assistant: over the backtest engine (replay) and the audit trail, never on the decision path
  assistant: [
    'events',
    'features',
    'models',
    'rules',
    'pipelines',
    'sinks',
    'evaluation',
    'security',
    'config',
    'observability',
    'storage',
  ],
  bench: [
    'app',
    'cli',
    'events',
    'features',
    'models',
    'rules',
    'simulator',
    'pipelines',
    'kafka',
    'config',
    'observability',
    'security',
    'storage',
  ],
  // the analysts' review cases: the queue, claims, verdicts (with their labels' outbox), decision search
  cases: ['sinks', 'identity', 'events', 'kafka', 'config', 'observability', 'security', 'storage'],
  // the analysts' web console: over the audit trail, cases, rules and the backtest engine
  console: [
    'identity',
    'cases',
    // the clients built from the configuration (the label codecs), one home for each
    'cli',
    'assistant',
    'events',
    'features',
    'models',
    'rules',
    'pipelines',
    'sinks',
    'evaluation',
    'kafka',
    'security',
    'config',
    'observability',
    'storage',
  ],
  // the edge's toolbox (src/cli/ but its dispatch): option parsing, clients from the configuration, child engines
  cli: ['config', 'events', 'observability', 'security'],
  // composition roots: start a whole process (the engine, the audit sink) from a configuration
  app: APP,
  // the commands: argument parsing, help and lifecycle over the composition roots
  commands: ['app', 'bench', ...APP],
  'cli/main': ['commands'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The folder of a file under src/; the CLI's dispatch stands above the commands, the rest of src/cli/ below them. */
function folderOf(file: string): string {
  const rel = relative(SRC, file).replace(/\.js$/, '.ts');
  return rel === 'cli/main.ts' ? 'cli/main' : rel.split('/')[0]!;
}

/** Every relative import (static, type-only and dynamic) of a file, resolved to a path under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => resolve(dirname(file), s)).filter((p) => p.startsWith(`${SRC}/`));
}

describe('architecture: dependencies point one way', () => {
  const all = files(SRC);
  const edges = new Map<string, Set<string>>();
  for (const f of all) {
    const from = folderOf(f);
    for (const target of importsOf(f)) {
      const to = folderOf(target);
      if (to !== from) (edges.get(from) ?? edges.set(from, new Set()).get(from)!).add(to);
    }
  }

  it('every folder of src/ is placed', () => {
    const folders = [...new Set(all.map(folderOf))].filter((f) => !f.endsWith('.ts'));
    expect(folders).toContain('cli/main');
    expect(folders.filter((f) => !(f in ALLOWED))).toEqual([]);
  });

  it('every import goes to a folder its folder may use', () => {
    const wrong: string[] = [];
    for (const f of all) {
      const from = folderOf(f);
      for (const target of importsOf(f)) {
        const to = folderOf(target);
        if (to !== from && !(ALLOWED[from] ?? []).includes(to))
          wrong.push(`${relative(SRC, f)} → ${relative(SRC, target)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the allowed arrows themselves have no cycle', () => {
    const seen = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (n: string, path: string[]) => {
      if (seen.get(n) === 'done') return;
      if (seen.get(n) === 'open') {
        cycles.push([...path, n].join(' → '));
        return;
      }
      seen.set(n, 'open');
      for (const m of ALLOWED[n] ?? []) visit(m, [...path, n]);
      seen.set(n, 'done');
    };
    for (const n of Object.keys(ALLOWED)) visit(n, []);
    expect(cycles).toEqual([]);
    // And the graph is real: the arrows found are a subset of the allowed ones, and there are some.
    expect([...edges.values()].reduce((s, x) => s + x.size, 0)).toBeGreaterThan(20);
  });

  it('nothing on the decision path imports the assistant or an LLM client', () => {
    const onPath = all.filter((f) => ['pipelines', 'features', 'models', 'rules', 'kafka'].includes(folderOf(f)));
    for (const f of onPath) {
      const text = readFileSync(f, 'utf8');
      expect(text, relative(SRC, f)).not.toMatch(/from '(openai|.*\/assistant\/[^']*)'/);
    }
  });
});
