/** The dates a history file covers, from its first and last rows, and the window the editor proposes. */
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { historySpan, lastDays, spanText } from '../../src/console/rules/history-span.js';
import { simulate, writeSimulation } from '../../src/simulator/index.js';

describe('history span', () => {
  it('reads the first and last rows of a CSV and a JSONL history', async () => {
    const sim = simulate({ customers: 40, terminals: 80, days: 12, seed: 4, start: '2018-04-01' });
    const records = [...sim.transactions()];
    const dir = mkdtempSync(join(tmpdir(), 'span-'));
    for (const format of ['csv', 'jsonl'] as const) {
      const file = join(dir, `h.${format}`);
      const out = createWriteStream(file);
      await writeSimulation(sim, out, format);
      out.end();
      await once(out, 'close');
      const span = historySpan(file)!;
      expect(span).toEqual({ first: records[0]!.event.event_time, last: records.at(-1)!.event.event_time });
      expect(spanText(span)).toMatch(/^2018-04-01 to 2018-04-1[12]$/);
    }
    expect(historySpan(join(dir, 'missing.csv'))).toBeNull();
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'not,a,history\n1,2,3\n');
    expect(historySpan(bad)).toBeNull();
  });

  it('proposes the last whole days, within the history', () => {
    const span = { first: Date.parse('2018-04-01T00:04:00Z'), last: Date.parse('2018-04-30T23:59:00Z') };
    expect(lastDays(span, 7)).toEqual({ from: '2018-04-24', to: '2018-05-01' });
    expect(lastDays({ ...span, first: Date.parse('2018-04-28T10:00:00Z') }, 7)).toEqual({
      from: '2018-04-28',
      to: '2018-05-01',
    });
  });
});
