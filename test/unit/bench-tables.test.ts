import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const DOC = resolve(ROOT, 'docs/performance.md');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [resolve(ROOT, 'scripts/bench-tables.mjs'), ...args], { cwd: ROOT, encoding: 'utf8' });

describe("bench-tables: docs/performance.md's tables come from the committed bench JSON", () => {
  it('the document holds exactly what docs/bench/*.json give (npm run bench:tables)', () => {
    const r = run('--check');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('every table names the JSON it comes from, and the document carries the rendered tables', () => {
    const tables = run('--stdout').stdout;
    expect(tables.match(/^From `docs\/bench\/[^`]+\.json`/gm)?.length).toBe(3);
    expect(readFileSync(DOC, 'utf8')).toContain(tables.trim());
  });

  it('a figure edited by hand is caught, and rendering puts the JSON back', () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'bench-tables-')), 'performance.md');
    const doc = readFileSync(DOC, 'utf8');
    const edited = doc.replace(/(\| ratio engine \/ passthrough \| )[^|]+/, '$1 0.99 ');
    expect(edited).not.toBe(doc);
    writeFileSync(copy, edited);
    const stale = run('--check', '--doc', copy);
    expect(stale.status).toBe(1);
    expect(stale.stderr).toMatch(/is not what docs\/bench/);
    expect(run('--doc', copy).status).toBe(0);
    expect(readFileSync(copy, 'utf8')).toBe(doc);
  });
});
