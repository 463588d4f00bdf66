import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
    const withCurve = readdirSync(resolve(ROOT, 'docs/bench')).some(
      (f) =>
        /^\d{4}-\d{2}-\d{2}-(quick|full)(-\d+)?\.json$/.test(f) &&
        readFileSync(resolve(ROOT, 'docs/bench', f), 'utf8').includes('"saturation_curve"'),
    );
    expect(tables.match(/^From `docs\/bench\/[^`]+\.json`/gm)?.length).toBe(withCurve ? 4 : 3);
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

  it("renders the newest run's saturation curve, one row per offered rate, and none when no run has one", () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-curve-'));
    const base = JSON.parse(readFileSync(resolve(ROOT, 'docs/bench/2026-12-01-quick.json'), 'utf8'));
    writeFileSync(join(dir, '2026-12-01-quick.json'), JSON.stringify(base));
    expect(run('--stdout', '--dir', dir).stdout).not.toContain('Saturation curve');
    const point = (offered: number, p99: number, shed: number) => ({
      offered_eps: offered,
      sent_eps: offered - 1,
      decided: offered * 10,
      decided_eps: Math.min(offered, 12_000),
      undecided: 0,
      p50_ms: 7,
      p99_ms: p99,
      p999_ms: p99 + 1,
      degraded_decisions: shed,
      decided_without_features: shed,
      degraded_by_reason: shed ? { features_shed: shed } : {},
      features_shed: { recorded: shed - 5, not_recorded: 5 },
      cost: { machine_busy_cores: 1.5 },
    });
    const withCurve = {
      ...base,
      run: { ...base.run, date: '2026-12-02T10:00:00.000Z' },
      events: { ...base.events, curve_seconds: 10 },
      saturation_curve: [point(1000, 31, 0), point(20_000, 212, 40_321)],
    };
    writeFileSync(join(dir, '2026-12-02-quick.json'), JSON.stringify(withCurve));
    const out = run('--stdout', '--dir', dir).stdout;
    expect(out).toContain('### Saturation curve, quick run of 2026-12-02');
    expect(out).toContain('From `docs/bench/2026-12-02-quick.json`. One engine fed at each offered rate for 10 s');
    expect(out).toContain('| 1,000/s | 999/s | 1,000/s | 7 / 31 / 32 ms | 0 (0) of 10,000 | -5 / 5 | — | 0 | 1.50 |');
    expect(out).toContain(
      '| 20,000/s | 19,999/s | 12,000/s | 7 / 212 / 213 ms | 40,321 (40,321) of 200,000 | 40,316 / 5 | features_shed 40,321 | 0 | 1.50 |',
    );
  });
});
