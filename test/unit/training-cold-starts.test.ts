/**
 * `train --cold-starts`: beside the warm vectors, the training data holds the vectors an empty
 * store serves for the transactions of each cold start, exactly as replaying the history cut to
 * begin there, under ids of their own so the trainer keeps both rows.
 */
import { describe, expect, it } from 'vitest';
import { coldStartId, FEATURE_CSV_HEADER, writeFeatureCsv, writeTrainingCsv } from '../../src/features/csv.js';
import { interleaveLabels } from '../../src/features/label-feed.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import { DAY_MS } from '../../src/events/time.js';
import { simulate } from '../../src/simulator/index.js';
import trainCommand from '../../src/commands/train.js';
import { memorySink } from '../helpers/memory-sink.js';

describe('training data with cold starts', () => {
  const records = [...simulate({ customers: 100, terminals: 200, days: 15, seed: 5 }).transactions()];
  const day0 = Math.floor(records[0]!.event.event_time / DAY_MS) * DAY_MS;
  const cold = { from: day0 + 8 * DAY_MS, to: day0 + 11 * DAY_MS };
  const inCold = records.filter((r) => r.event.event_time >= cold.from && r.event.event_time < cold.to);

  it('appends the vectors of a replay of the history cut to the cold start, with their labels', async () => {
    const f = memorySink();
    const l = memorySink();
    const rows = await writeTrainingCsv(records, 7, f.sink, l.sink, [cold]);
    expect(rows).toEqual([inCold.length]);
    expect(inCold.length).toBeGreaterThan(300);
    expect(f.s.closed && l.s.closed).toBe(true);

    let warm = '';
    await writeFeatureCsv(new MemoryFeatureStore(), interleaveLabels(records, 7), async (t) => {
      warm += t;
    });
    // The cut history replayed on its own (the ids renamed after), as `features` on a cut file gives.
    let cut = '';
    await writeFeatureCsv(new MemoryFeatureStore(), interleaveLabels(inCold, 7), async (t) => {
      cut += t;
    });
    const suffix = coldStartId('', cold);
    expect(suffix).toBe(`@cold-${new Date(cold.from).toISOString().slice(0, 10)}`);
    const renamed = cut.slice(FEATURE_CSV_HEADER.length).replace(/^([^,]+),/gm, (_, id: string) => `${id}${suffix},`);
    expect(f.s.text).toBe(warm + renamed);

    // From an empty store the customer's history is shorter than warm for the same payment.
    const c30 = 1 + FEATURE_NAMES.indexOf('customer_nb_tx_30d');
    const warmRows = new Map(warm.split('\n').map((line) => [line.split(',')[0], line.split(',')] as const));
    const shorter = renamed
      .trimEnd()
      .split('\n')
      .filter((line) => {
        const cells = line.split(',');
        const w = warmRows.get(cells[0]!.replace(suffix, ''))!;
        return Number(cells[c30]) < Number(w[c30]);
      });
    expect(shorter.length).toBeGreaterThan(inCold.length / 2);

    // Labels: every warm transaction, then each cold row under its id with the same label.
    const labelLines = l.s.text.trimEnd().split('\n');
    expect(labelLines[0]).toBe('auth_id,tx_datetime,tx_fraud');
    expect(labelLines.length - 1).toBe(records.length + inCold.length);
    const frauds = inCold.filter((r) => r.fraud).length;
    expect(frauds).toBeGreaterThan(0);
    expect(labelLines.filter((x) => x.includes(suffix) && x.endsWith(',1')).length).toBe(frauds);
  });

  it('without cold starts writes what it always wrote', async () => {
    const f = memorySink();
    const l = memorySink();
    expect(await writeTrainingCsv(records.slice(0, 300), 7, f.sink, l.sink)).toEqual([]);
    expect(f.s.text.split('\n').length).toBe(302);
    expect(f.s.text.includes('@cold-')).toBe(false);
  });

  it('train refuses a cold start outside the window, with the audit trail, or days without starts', async () => {
    const run = async (argv: string[]) => {
      const out: string[] = [];
      const { error, log } = console;
      console.error = (...a: unknown[]) => out.push(a.join(' '));
      console.log = (...a: unknown[]) => out.push(a.join(' '));
      try {
        return { code: await trainCommand(argv), err: out.join('\n') };
      } finally {
        console.error = error;
        console.log = log;
      }
    };
    const history = ['--input', '/nonexistent.csv', '--train-from', '2018-06-01', '--train-to', '2018-07-01'];
    expect(await run([...history, '--out', 'm.onnx', '--cold-starts', '2018-06-20'])).toEqual({
      code: 2,
      err: '--cold-starts: 2018-06-20 + 14 days is not inside the training window',
    });
    expect(
      await run([...history, '--out', 'm.onnx', '--cold-starts', '2018-06-01,2018-06-20', '--cold-start-days', '12']),
    ).toEqual({ code: 2, err: '--cold-starts: 2018-06-20 + 12 days is not inside the training window' });
    expect(await run([...history, '--out', 'm.onnx', '--cold-start-days', '5'])).toEqual({
      code: 2,
      err: '--cold-start-days: only with --cold-starts',
    });
    const audit = ['--from-audit', '--from', '2026-10-01', '--to', '2026-11-01', '--out', 'm.onnx'];
    expect(await run([...audit, '--cold-starts', '2026-10-02'])).toEqual({
      code: 2,
      err: '--from-audit reads the audit trail: drop --cold-starts',
    });
  });
});
