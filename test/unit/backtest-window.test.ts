/** The backtest's history window [from, to): parsing, selection, reading a file, and `rules backtest --from --to`. */
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import rules from '../../src/commands/rules.js';
import type { HistoryRecord } from '../../src/events/history/index.js';
import type { BacktestReport } from '../../src/pipelines/replay/backtest.js';
import {
  inWindow,
  parseWindow,
  readHistoryWindow,
  selectWindow,
  windowText,
  WindowError,
} from '../../src/pipelines/replay/backtest-window.js';
import { simulate, writeSimulation } from '../../src/simulator/index.js';

const at = (d: string) => Date.parse(`${d}T00:00:00Z`);

describe('backtest window', () => {
  it('parses dates and ISO times as [from, to) and refuses bad or reversed bounds', () => {
    expect(parseWindow('2018-04-02', '2018-04-05')).toEqual({ from: at('2018-04-02'), to: at('2018-04-05') });
    expect(parseWindow('2018-04-02T06:00:00+02:00', undefined)).toEqual({ from: at('2018-04-02') + 4 * 3_600_000 });
    expect(parseWindow(undefined, '')).toEqual({});
    expect(() => parseWindow('2018-02-30', '2018-04-05')).toThrow(/--from: '2018-02-30' is not a date/);
    expect(() => parseWindow('2018-04-02T06:00:00', undefined)).toThrow(WindowError);
    expect(() => parseWindow('2018-04-05', '2018-04-05')).toThrow(/--from must be before --to/);
  });

  it('refuses a window longer than the maximum, or open, when a maximum is given', () => {
    expect(parseWindow('2018-04-01', '2018-05-02', { maxDays: 31 }).to).toBe(at('2018-05-02'));
    expect(() => parseWindow('2018-04-01', '2018-05-03', { maxDays: 31 })).toThrow(
      /32 days, longer than the 31 days allowed/,
    );
    expect(() => parseWindow('2018-04-01', '', { maxDays: 31, names: ['From', 'To'] })).toThrow(
      /both From and To are needed/,
    );
  });

  it('includes from and excludes to', () => {
    const w = { from: at('2018-04-02'), to: at('2018-04-03') };
    expect(inWindow(w, w.from)).toBe(true);
    expect(inWindow(w, w.to - 1)).toBe(true);
    expect(inWindow(w, w.to)).toBe(false);
    expect(inWindow(w, w.from - 1)).toBe(false);
    expect(inWindow({ to: w.to }, 0)).toBe(true);
    expect(windowText(w)).toBe('[2018-04-02, 2018-04-03)');
  });

  describe('on a simulated history', () => {
    const sim = simulate({ customers: 60, terminals: 120, days: 6, seed: 3, start: '2018-04-01' });
    const records: HistoryRecord[] = [...sim.transactions()];
    const w = { from: at('2018-04-03'), to: at('2018-04-05') };
    let file = '';
    beforeAll(async () => {
      file = join(mkdtempSync(join(tmpdir(), 'bt-window-')), 'history.csv');
      const out = createWriteStream(file);
      await writeSimulation(sim, out, 'csv');
      out.end();
      await once(out, 'close');
    });
    afterEach(() => vi.restoreAllMocks());

    it('selects exactly the records of the window, in order', async () => {
      const picked = selectWindow(records, w);
      const expected = records.filter((r) => r.event.event_time >= w.from && r.event.event_time < w.to);
      expect(picked.length).toBeGreaterThan(0);
      expect(picked.length).toBeLessThan(records.length);
      expect(picked.map((r) => r.event.auth_id)).toEqual(expected.map((r) => r.event.auth_id));
      const fromFile = await readHistoryWindow(file, w);
      expect(fromFile.map((r) => r.event.auth_id)).toEqual(expected.map((r) => r.event.auth_id));
    });

    it('`rules backtest --from --to` replays only the window, and says so when it is empty', async () => {
      const err: string[] = [];
      vi.spyOn(console, 'log').mockImplementation(() => undefined);
      vi.spyOn(console, 'error').mockImplementation((m: unknown) => {
        err.push(String(m));
      });
      vi.stubEnv('FRAUD_POSTGRES_URL', '');
      const json = join(mkdtempSync(join(tmpdir(), 'bt-window-')), 'report.json');
      const args = ['backtest', 'config/rules', '--input', file, '--model', '/nonexistent/model.onnx'];
      const code = await rules([...args, '--from', '2018-04-03', '--to', '2018-04-05', '--json', json]);
      expect(code).toBe(0);
      const report = JSON.parse(readFileSync(json, 'utf8')) as BacktestReport;
      expect(report.transactions).toBe(selectWindow(records, w).length);
      expect(report.input).toBe(`${file} [2018-04-03, 2018-04-05)`);

      expect(await rules([...args, '--from', '2019-01-01', '--to', '2019-01-02'])).toBe(1);
      expect(err.at(-1)).toBe(`rules backtest: no transactions in ${file} within [2019-01-01, 2019-01-02)`);
      expect(await rules([...args, '--from', '2018-04-05', '--to', '2018-04-03'])).toBe(2);
      vi.unstubAllEnvs();
    });
  });
});
