import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readHistoryFile,
  iterateHistoryFile,
  parseHistoryText,
  parseCsvRecord,
  inferHistoryFormat,
  HistoryFileError,
  type HistoryRecord,
} from '../../src/events/history/index.js';
import { simulate, writeSimulation, type Simulation } from '../../src/simulator/index.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'history-file-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function writeSim(sim: Simulation, name: string, format: 'csv' | 'jsonl'): Promise<string> {
  const path = join(dir, name);
  const out = createWriteStream(path);
  await writeSimulation(sim, out, format);
  out.end();
  await finished(out);
  return path;
}

function expectSame(records: HistoryRecord[], sim: Simulation): void {
  expect(records.length).toBe(sim.count);
  for (let i = 0; i < sim.count; i++) {
    const t = sim.transaction(i);
    const r = records[i]!;
    if (r.fraud !== t.fraud || r.scenario !== t.scenario) throw new Error(`labels differ at ${i}`);
    expect(r.event).toEqual(t.event);
  }
}

const write = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('readHistoryFile: round trip of the simulator output', () => {
  const sim = simulate({ customers: 400, terminals: 800, days: 30, seed: 11 });

  it('reads back the CSV exactly', async () => {
    const path = await writeSim(sim, 'sim.csv', 'csv');
    const recs = await readHistoryFile(path);
    expectSame(recs, sim);
    // The byte fast path and the reference string parser agree.
    expect(parseHistoryText(readFileSync(path, 'utf8'), 'csv')).toEqual(recs);
  });

  it('reads back the JSONL exactly (labels taken out of the event)', async () => {
    const path = await writeSim(sim, 'sim.jsonl', 'jsonl');
    const recs = await readHistoryFile(path);
    expectSame(recs, sim);
    expect(Object.keys(recs[0]!.event)).not.toContain('tx_fraud');
  });

  it('iterates records one by one in file order', async () => {
    const path = await writeSim(sim, 'sim2.csv', 'csv');
    let n = 0;
    for await (const r of iterateHistoryFile(path, 'csv')) {
      expect(r.event.auth_id).toBe(String(n));
      n++;
    }
    expect(n).toBe(sim.count);
  });

  it('reads the handbook-only CSV with card_token = customer_id and defaults', async () => {
    const basic = simulate({ customers: 100, terminals: 200, days: 5, seed: 2, enrich: false });
    const path = await writeSim(basic, 'basic.csv', 'csv');
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe(
      'transaction_id,tx_datetime,customer_id,terminal_id,tx_amount,tx_fraud,tx_fraud_scenario',
    );
    const recs = await readHistoryFile(path);
    expectSame(recs, basic);
    const e = recs[0]!.event;
    expect(e.card_token).toBe(e.customer_id);
    expect(e).toMatchObject({
      channel: 'UNKNOWN',
      currency: 'EUR',
      merchant_id: null,
      mcc: null,
      device_id: null,
      ip: null,
      email_hash: null,
      country: null,
      description: null,
    });
  });
});

describe('readHistoryFile: CSV details', () => {
  it('reads a 7-column CSV (handbook upper-case header, pandas date format, CRLF, BOM)', async () => {
    const path = write(
      'handbook.csv',
      '\ufeffTRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD,TX_FRAUD_SCENARIO\r\n' +
        '0,2018-04-01 00:00:31,596,3156,57.16,0,0\r\n' +
        '1,2018-04-01T00:02:10Z,4961,3412,81.5,1,2\r\n',
    );
    const recs = await readHistoryFile(path);
    expect(recs).toEqual([
      {
        fraud: false,
        scenario: 0,
        event: {
          auth_id: '0',
          event_time: Date.UTC(2018, 3, 1, 0, 0, 31),
          card_token: '596',
          customer_id: '596',
          terminal_id: '3156',
          merchant_id: null,
          mcc: null,
          amount_minor: 5716,
          currency: 'EUR',
          channel: 'UNKNOWN',
          device_id: null,
          ip: null,
          email_hash: null,
          country: null,
          description: null,
        },
      },
      expect.objectContaining({ fraud: true, scenario: 2 }),
    ]);
    expect(recs[1]!.event.amount_minor).toBe(8150);
    expect(recs[1]!.event.event_time).toBe(Date.UTC(2018, 3, 1, 0, 2, 10));
  });

  it('treats missing labels as null and empty card_token as customer_id', async () => {
    const path = write(
      'unlabelled.csv',
      'transaction_id,tx_datetime,customer_id,terminal_id,tx_amount,card_token,channel\n' +
        'a1,2018-04-02T10:00:00Z,c1,t1,12.3,,ecom\n' +
        'a2,2018-04-02T10:00:01.250Z,c1,t1,1e2,tok_x,POS\n',
    );
    const recs = await readHistoryFile(path);
    expect(recs.map((r) => [r.fraud, r.scenario, r.event.card_token, r.event.channel, r.event.amount_minor])).toEqual([
      [null, null, 'c1', 'ECOM', 1230],
      [null, null, 'tok_x', 'POS', 10000],
    ]);
    expect(recs[1]!.event.event_time).toBe(Date.UTC(2018, 3, 2, 10, 0, 1, 250));
  });

  it('parses quoted fields, including commas, quotes and newlines, and keeps line numbers right', async () => {
    const header =
      'transaction_id,tx_datetime,customer_id,terminal_id,tx_amount,tx_fraud,tx_fraud_scenario,description\n';
    const path = write(
      'quoted.csv',
      header +
        '1,2018-04-01T00:00:01Z,"7",8,1.00,0,0,"a, ""quoted"" text"\n' +
        '2,2018-04-01T00:00:02Z,7,8,2.00,0,0,"two\nlines"\n' +
        '3,2018-04-01T00:00:03Z,7,8,3.00,0,0,\n' +
        '4,2018-04-01T00:00:04Z,7,8,oops,0,0,\n',
    );
    const err = await readHistoryFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HistoryFileError);
    expect((err as HistoryFileError).line).toBe(6);
    expect((err as Error).message).toBe(`${path}:6: column 'tx_amount': invalid amount 'oops'`);

    const ok = write('quoted-ok.csv', readFileSync(path, 'utf8').replace('oops', '4.00'));
    const recs = await readHistoryFile(ok);
    expect(recs.map((r) => r.event.description)).toEqual(['a, "quoted" text', 'two\nlines', null, null]);
    expect(recs[0]!.event.customer_id).toBe('7');
  });

  it('names the line of a malformed record', async () => {
    const header = 'transaction_id,tx_datetime,customer_id,terminal_id,tx_amount,tx_fraud,tx_fraud_scenario\n';
    const good = '0,2018-04-01T00:00:01Z,1,2,3.00,0,0\n';
    const cases: [string, RegExp][] = [
      [
        header + good + good + '2,2018-04-01T00:00:01Z,1,2\n',
        /:4: malformed CSV: expected 7 fields as in the header, found 4/,
      ],
      [header + good + '1,2018-04-01T00:00:01Z,1,2,3.00,0,0,9\n', /:3: malformed CSV: expected 7 fields/],
      [header + good + '1,2018-04-01T00:00:01Z,1,2,3.00,maybe,0\n', /:3: column 'tx_fraud': invalid label 'maybe'/],
      [header + good + '1,yesterday,1,2,3.00,0,0\n', /:3: column 'tx_datetime': invalid date-time 'yesterday'/],
      [header + good + '1,2018-02-30T00:00:01Z,1,2,3.00,0,0\n', /:3: column 'tx_datetime'/],
      [header + good + ',2018-04-01T00:00:01Z,1,2,3.00,0,0\n', /:3: column 'transaction_id': empty value/],
      [header + good + '1,2018-04-01T00:00:01Z,1,2,3.00,0,x\n', /:3: column 'tx_fraud_scenario'/],
      [header + good + '1,2018-04-01T00:00:01Z,1,"2,3.00,0,0\n', /:3: malformed CSV: unterminated quoted field/],
      [header + good + '1,2018-04-01T00:00:01Z,1,2"x,3.00,0,0\n', /:3: malformed CSV: quote inside an unquoted field/],
      ['transaction_id,tx_datetime,customer_id,terminal_id\n' + good, /:1: missing required column 'tx_amount'/],
      ['', /:1: empty file/],
    ];
    for (const [i, [text, re]] of cases.entries()) {
      const path = write(`bad${i}.csv`, text);
      await expect(readHistoryFile(path), `case ${i}`).rejects.toThrow(re);
      await expect(readHistoryFile(path), `case ${i}`).rejects.toThrow(path);
      expect(() => parseHistoryText(text, 'csv', 'x.csv'), `case ${i} (string parser)`).toThrow(re);
    }
  });

  it('interns ids correctly across many distinct values (byte fast path = string parser)', async () => {
    const rows = [
      'transaction_id,tx_datetime,customer_id,terminal_id,tx_amount,tx_fraud,tx_fraud_scenario,card_token,email_hash',
    ];
    for (let i = 0; i < 30_000; i++) {
      const c = (i * 7919) % 12_000;
      rows.push(
        `${i},2018-04-01T00:00:00Z,cust${c},${i % 97},${(i % 1000) / 10},0,0,tok_${c.toString(16).padStart(24, '0')},${'ab'.repeat(30)}${c}`,
      );
    }
    const text = rows.join('\n') + '\n';
    const recs = await readHistoryFile(write('many.csv', text));
    expect(recs).toEqual(parseHistoryText(text, 'csv'));
    expect(recs[12_345]!.event.customer_id).toBe(`cust${(12_345 * 7919) % 12_000}`);
    expect(recs[12_345]!.event.amount_minor).toBe(3450);
  });

  it('reports a missing file clearly', async () => {
    await expect(readHistoryFile(join(dir, 'nope.csv'))).rejects.toThrow(/nope\.csv/);
  });
});

describe('readHistoryFile: JSONL details', () => {
  it('fills defaults and names the line of a bad record', async () => {
    const path = write(
      'ev.jsonl',
      '{"auth_id":"a","event_time":1522540800000,"customer_id":"c","terminal_id":"t","amount_minor":100}\n\n' +
        '{"auth_id":2,"event_time":1522540800001,"customer_id":"c","terminal_id":"t","amount_minor":5,"card_token":"tok","channel":"ATM","tx_fraud":1,"tx_fraud_scenario":3}\n',
    );
    const recs = await readHistoryFile(path);
    expect(recs[0]).toEqual({
      fraud: null,
      scenario: null,
      event: {
        auth_id: 'a',
        event_time: 1522540800000,
        card_token: 'c',
        customer_id: 'c',
        terminal_id: 't',
        merchant_id: null,
        mcc: null,
        amount_minor: 100,
        currency: 'EUR',
        channel: 'UNKNOWN',
        device_id: null,
        ip: null,
        email_hash: null,
        country: null,
        description: null,
      },
    });
    expect(recs[1]).toMatchObject({
      fraud: true,
      scenario: 3,
      event: { auth_id: '2', card_token: 'tok', channel: 'ATM' },
    });

    const bad = write(
      'bad.jsonl',
      readFileSync(path, 'utf8') + '{"auth_id":"x","event_time":1,"customer_id":"c","terminal_id":"t"}\n',
    );
    await expect(readHistoryFile(bad)).rejects.toThrow(/bad\.jsonl:4: column 'amount_minor'/);
    const broken = write('broken.jsonl', '{"auth_id":\n');
    await expect(readHistoryFile(broken)).rejects.toThrow(/broken\.jsonl:1: invalid JSON/);
  });
});

describe('helpers', () => {
  it('parseCsvRecord follows RFC 4180', () => {
    expect(parseCsvRecord('a,b,,c')).toEqual(['a', 'b', '', 'c']);
    expect(parseCsvRecord('"a,b","c""d",')).toEqual(['a,b', 'c"d', '']);
    expect(parseCsvRecord('"",x')).toEqual(['', 'x']);
    expect(parseCsvRecord('"open,x')).toBeNull();
    expect(() => parseCsvRecord('"a"b')).toThrow();
  });

  it('infers the format from the extension', () => {
    expect(inferHistoryFormat('/x/y.csv')).toBe('csv');
    expect(inferHistoryFormat('/x/y.JSONL')).toBe('jsonl');
    expect(inferHistoryFormat('/x/y.ndjson')).toBe('jsonl');
  });
});
