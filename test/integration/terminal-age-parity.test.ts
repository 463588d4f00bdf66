/**
 * terminal_known_fraud_age as the engine serves it is the feature that was measured offline
 * (docs/model.md §2.2): the in-memory store's vectors of a simulated history, labels arriving 7
 * days after their transaction, against the Python definition the feature was chosen with
 * (docs/model/ap-2026-12/age.py, via test/helpers/terminal_age_reference.py). The trainer itself
 * computes no feature (it reads the engine's vectors), so this is the one Python computation of
 * it. Python computes in float32 days from epoch seconds, so values agree to float32 rounding.
 * Needs python (the trainer's venv), no services. The Redis stores equal the in-memory one
 * (feature-store-parity.test.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { FEATURE_INDEX } from '../../src/features/definitions.js';
import { enrichFeed, interleaveLabels, type LabelledTx } from '../../src/features/label-feed.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import { simulate } from '../../src/simulator/index.js';
import { trainerPython } from '../helpers/python.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

describe('terminal_known_fraud_age: engine = the Python definition it was measured with', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fraud-terminal-age-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the same age (or missing) for every transaction of a simulated history', async () => {
    const records: LabelledTx[] = [...simulate({ customers: 300, terminals: 400, days: 75, seed: 11 })];
    const vectors = await enrichFeed(new MemoryFeatureStore(), interleaveLabels(records, 7), { batchSize: 256 });
    const engine = new Map(vectors.map((v) => [v.auth_id, v.vector[FEATURE_INDEX.terminal_known_fraud_age]]));

    const terminals = new Map<string, number>();
    const lines = ['ts,terminal,fraud'];
    for (const r of records) {
      expect(r.event.event_time % 1000).toBe(0); // whole seconds, as age.py takes them
      let id = terminals.get(r.event.terminal_id);
      if (id === undefined) terminals.set(r.event.terminal_id, (id = terminals.size));
      lines.push(`${r.event.event_time / 1000},${id},${r.fraud ? 1 : 0}`);
    }
    writeFileSync(join(dir, 'tx.csv'), lines.join('\n') + '\n');
    await run(await trainerPython(), [
      join(ROOT, 'test/helpers/terminal_age_reference.py'),
      join(dir, 'tx.csv'),
      join(dir, 'age.json'),
    ]);
    const reference = JSON.parse(readFileSync(join(dir, 'age.json'), 'utf8')) as (number | null)[];
    expect(reference.length).toBe(records.length);

    const mismatches: string[] = [];
    let known = 0;
    records.forEach((r, i) => {
      const want = reference[i]!;
      const got = engine.get(r.event.auth_id);
      if (got === undefined) throw new Error(`no vector for ${r.event.auth_id}`);
      if (want === null || got === null) {
        if (want !== got) mismatches.push(`${r.event.auth_id}: engine ${String(got)}, python ${String(want)}`);
        return;
      }
      known++;
      if (Math.fround(got) !== want) mismatches.push(`${r.event.auth_id}: engine ${got}, python ${want}`);
    });
    expect(mismatches.slice(0, 5)).toEqual([]);
    // The comparison had substance: many ages known, spread over the window.
    expect(known).toBeGreaterThan(1000);
    const ages = reference.filter((a): a is number => a !== null);
    expect(Math.min(...ages)).toBeLessThan(8);
    expect(Math.max(...ages)).toBeGreaterThan(30);
    console.log(`[terminal-age parity] ${records.length} tx, ${known} with a known fraud streak: identical`);
  }, 600_000);
});
