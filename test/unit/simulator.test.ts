import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { simulate, writeSimulation, type Simulation } from '../../src/simulator/index.js';
import { Rng } from '../../src/simulator/rng.js';
import { noCardNumberRun, regionCountry } from '../../src/simulator/enrich.js';
import { identifierHasPan } from '../../src/security/pan.js';
import simulateCommand from '../../src/commands/simulate.js';
import { SECONDS_PER_DAY as DAY } from '../../src/events/time.js';

async function render(sim: Simulation, format: 'csv' | 'jsonl'): Promise<string> {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (b: Buffer) => parts.push(b));
  await writeSimulation(sim, out, format);
  out.end();
  return Buffer.concat(parts).toString('utf8');
}

const SMALL = { customers: 300, terminals: 600, days: 20 };

describe('rng', () => {
  it('is deterministic and roughly uniform / normal / Poisson', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xs);
    expect(new Rng(43).nextU32()).not.toBe(xs[0]);

    const r = new Rng(7);
    const n = 200_000;
    let su = 0;
    let sn = 0;
    let sn2 = 0;
    let sp = 0;
    let sp2 = 0;
    for (let i = 0; i < n; i++) {
      const u = r.random();
      expect(u >= 0 && u < 1).toBe(true);
      su += u;
      const z = r.normal(3, 2);
      sn += z;
      sn2 += z * z;
      const k = r.poisson(2.5);
      sp += k;
      sp2 += k * k;
    }
    expect(su / n).toBeCloseTo(0.5, 2);
    expect(sn / n).toBeCloseTo(3, 1);
    expect(Math.sqrt(sn2 / n - (sn / n) ** 2)).toBeCloseTo(2, 1);
    expect(sp / n).toBeCloseTo(2.5, 1);
    expect(sp2 / n - (sp / n) ** 2).toBeCloseTo(2.5, 1); // Poisson: variance = mean
    let big = 0;
    for (let i = 0; i < 20_000; i++) big += r.poisson(100);
    expect(big / 20_000).toBeCloseTo(100, 0);
  });
});

describe('simulator: determinism', () => {
  it('gives identical CSV and JSONL for the same seed', async () => {
    const a = simulate({ ...SMALL, seed: 3 });
    const b = simulate({ ...SMALL, seed: 3 });
    expect(a.count).toBeGreaterThan(1000);
    expect(await render(a, 'csv')).toBe(await render(b, 'csv'));
    expect(await render(a, 'jsonl')).toBe(await render(b, 'jsonl'));
  });

  it('writes each JSONL line as JSON.stringify of the event plus the labels', async () => {
    for (const enrich of [true, false]) {
      const sim = simulate({ ...SMALL, seed: 6, enrich });
      const lines = (await render(sim, 'jsonl')).trimEnd().split('\n');
      expect(lines.length).toBe(sim.count);
      for (let i = 0; i < sim.count; i++) {
        const want = JSON.stringify({
          ...sim.event(i),
          tx_fraud: sim.tx.fraud[i],
          tx_fraud_scenario: sim.tx.scenario[i],
        });
        if (lines[i] !== want) expect(lines[i]).toBe(want);
      }
    }
  });

  it('gives different output for a different seed', async () => {
    const a = await render(simulate({ ...SMALL, seed: 3 }), 'csv');
    const b = await render(simulate({ ...SMALL, seed: 4 }), 'csv');
    expect(a).not.toBe(b);
  });

  it('keeps the handbook columns identical with or without the richer fields', () => {
    const a = simulate({ ...SMALL, seed: 5, enrich: true });
    const b = simulate({ ...SMALL, seed: 5, enrich: false });
    expect(b.enrichment).toBeNull();
    for (const k of ['timeSec', 'customer', 'terminal', 'amountCents', 'fraud', 'scenario'] as const) {
      expect(Buffer.compare(Buffer.from(a.tx[k].buffer), Buffer.from(b.tx[k].buffer))).toBe(0);
    }
  });

  it('rejects bad options with the option name', () => {
    expect(() => simulate({ customers: -1 })).toThrow(/customers/);
    expect(() => simulate({ start: '2018-02-30' })).toThrow(/start/);
    expect(() => simulate({ radius: Number.NaN })).toThrow(/radius/);
  });
});

describe('simulator: the default run (handbook parameters)', () => {
  let sim: Simulation;
  beforeAll(() => {
    sim = simulate(); // 5,000 customers, 10,000 terminals, 183 days from 2018-04-01, r = 5, seed 0
  });

  it('matches the handbook figures: ~1.75M transactions, ~0.8% fraud, scenario shares', () => {
    const s = sim.stats();
    // Handbook (its own PRNG): 1,754,155 transactions, 14,681 frauds (0.84%).
    expect(s.count).toBeGreaterThan(1_700_000);
    expect(s.count).toBeLessThan(1_810_000);
    expect(s.fraudRate).toBeGreaterThan(0.007);
    expect(s.fraudRate).toBeLessThan(0.0095);
    const share = (k: 1 | 2 | 3): number => s.byScenario[k] / s.frauds;
    expect(share(1)).toBeGreaterThan(0.04);
    expect(share(1)).toBeLessThan(0.1);
    expect(share(2)).toBeGreaterThan(0.5);
    expect(share(2)).toBeLessThan(0.72);
    expect(share(3)).toBeGreaterThan(0.22);
    expect(share(3)).toBeLessThan(0.42);
  });

  it('holds the handbook invariants on every transaction', () => {
    const { tx, customers, terminals, options } = sim;
    const r2 = options.radius * options.radius;
    const termWindows = new Map<number, number[]>();
    for (const c of sim.compromisedTerminals) termWindows.set(c.id, [...(termWindows.get(c.id) ?? []), c.day]);
    const custWindows = new Map<number, number[]>();
    for (const c of sim.compromisedCustomers) custWindows.set(c.id, [...(custWindows.get(c.id) ?? []), c.day]);
    const inWindow = (list: number[] | undefined, day: number, len: number): boolean =>
      (list ?? []).some((d) => day >= d && day < d + len);

    expect(sim.compromisedTerminals.length).toBe(2 * (options.days - 1));
    expect(sim.compromisedCustomers.length).toBe(3 * (options.days - 1));
    let prev = -1;
    const bad: string[] = [];
    for (let i = 0; i < tx.count; i++) {
      const t = tx.timeSec[i]!;
      const day = Math.floor(t / DAY);
      const inDay = t - day * DAY;
      const cents = tx.amountCents[i]!;
      const sc = tx.scenario[i]!;
      const c = tx.customer[i]!;
      const term = tx.terminal[i]!;
      if (t < prev) bad.push(`${i}: not in time order`);
      prev = t;
      if (!(inDay > 0 && inDay < DAY) || day >= options.days) bad.push(`${i}: time ${t} outside its day`);
      if (cents < 0) bad.push(`${i}: negative amount`);
      if ((tx.fraud[i] === 1) !== sc > 0) bad.push(`${i}: fraud flag and scenario disagree`);
      if (sc === 1 && !(cents > 22000)) bad.push(`${i}: scenario 1 with amount ${cents / 100}`);
      if (sc === 0 && cents > 22000) bad.push(`${i}: genuine with amount ${cents / 100}`);
      if (sc === 2 && !inWindow(termWindows.get(term), day, 28))
        bad.push(`${i}: scenario 2 on a terminal not compromised`);
      if (sc === 3 && (!inWindow(custWindows.get(c), day, 14) || cents % 5 !== 0)) bad.push(`${i}: bad scenario 3`);
      // Every transaction on a compromised terminal in its window is fraud (2, or 3 if overwritten).
      if (inWindow(termWindows.get(term), day, 28) && sc !== 2 && sc !== 3)
        bad.push(`${i}: compromised terminal, scenario ${sc}`);
      const dx = customers.x[c]! - terminals.x[term]!;
      const dy = customers.y[c]! - terminals.y[term]!;
      if (!(dx * dx + dy * dy < r2)) bad.push(`${i}: terminal outside the radius`);
      if (bad.length > 5) break;
    }
    expect(bad).toEqual([]);
    // A third (rounded down) of a compromised customer's window becomes fraud: overall between 25% and 40%.
    let inWin = 0;
    let s3 = 0;
    for (let i = 0; i < tx.count; i++) {
      if (inWindow(custWindows.get(tx.customer[i]!), Math.floor(tx.timeSec[i]! / DAY), 14)) {
        inWin++;
        if (tx.scenario[i] === 3) s3++;
      }
    }
    expect(s3 / inWin).toBeGreaterThan(0.25);
    expect(s3 / inWin).toBeLessThan(0.4);
  });

  it('gives customer profiles in the handbook ranges', () => {
    const c = sim.customers;
    for (let i = 0; i < c.count; i++) {
      expect(c.meanAmount[i]! >= 5 && c.meanAmount[i]! < 100).toBe(true);
      expect(c.stdAmount[i]).toBe(c.meanAmount[i]! / 2);
      expect(c.meanNbTxPerDay[i]! >= 0 && c.meanNbTxPerDay[i]! < 4).toBe(true);
      expect(c.x[i]! >= 0 && c.x[i]! < 100 && c.y[i]! >= 0 && c.y[i]! < 100).toBe(true);
    }
  });

  it('numbers transactions 0..N-1 in time order as AuthorizationEvents', () => {
    const e0 = sim.event(0);
    expect(e0.auth_id).toBe('0');
    expect(e0.event_time).toBeGreaterThanOrEqual(Date.UTC(2018, 3, 1));
    expect(e0.currency).toBe('EUR');
    const last = sim.event(sim.count - 1);
    expect(last.auth_id).toBe(String(sim.count - 1));
    expect(last.event_time).toBeLessThan(Date.UTC(2018, 3, 1) + 183 * DAY * 1000);
    let n = 0;
    let prev = 0;
    for (const t of sim.transactions(1000, 2000)) {
      expect(t.event.auth_id).toBe(String(1000 + n));
      expect(t.event.event_time).toBeGreaterThanOrEqual(prev);
      expect(t.fraud).toBe(t.scenario > 0);
      prev = t.event.event_time;
      n++;
    }
    expect(n).toBe(1000);
  });

  it('adds plausible richer fields', () => {
    const e = sim.enrichment!;
    const { tx } = sim;
    // Cards: tokens, never PAN-like; ~10% of customers have a second card used ~30% of the time.
    expect(e.cardTokens.every((t) => /^tok_[0-9a-f]{24}$/.test(t) && !/\d{12}/.test(t))).toBe(true);
    const second = Array.from(e.secondCard).filter((x) => x >= 0).length / e.secondCard.length;
    expect(second).toBeGreaterThan(0.07);
    expect(second).toBeLessThan(0.13);
    let onTwoCards = 0;
    let onSecond = 0;
    const ch = { POS: 0, ECOM: 0, ATM: 0 };
    let ecomOwn = 0;
    let ecomGenuine = 0;
    let s3Ecom = 0;
    let s3Fresh = 0;
    for (let i = 0; i < tx.count; i++) {
      const c = tx.customer[i]!;
      const t = tx.terminal[i]!;
      if (e.secondCard[c]! >= 0) {
        onTwoCards++;
        if (e.txCard[i] === e.secondCard[c]) onSecond++;
      } else if (e.txCard[i] !== e.firstCard[c]) {
        throw new Error(`transaction ${i} not on the customer's only card`);
      }
      const channel = e.terminalChannel[t]!;
      const d = e.txDevice[i]!;
      if (channel !== 'ECOM') {
        if (d !== -1) throw new Error(`device on a ${channel} transaction ${i}`);
        continue;
      }
      if (d < 0) throw new Error(`no device on ECOM transaction ${i}`);
      const own = d >= e.deviceOffsets[c]! && d < e.deviceOffsets[c + 1]!;
      if (tx.scenario[i] === 3) {
        s3Ecom++;
        if (!own) s3Fresh++;
      } else {
        ecomGenuine++;
        if (own) ecomOwn++;
      }
    }
    expect(onSecond / onTwoCards).toBeGreaterThan(0.25);
    expect(onSecond / onTwoCards).toBeLessThan(0.35);
    expect(ecomOwn).toBe(ecomGenuine);
    expect(s3Ecom).toBeGreaterThan(50);
    expect(s3Fresh / s3Ecom).toBeGreaterThan(0.7);
    // Channels per terminal.
    for (const c of e.terminalChannel) ch[c]++;
    const nt = e.terminalChannel.length;
    expect(Math.abs(ch.POS / nt - 0.75)).toBeLessThan(0.03);
    expect(Math.abs(ch.ECOM / nt - 0.2)).toBeLessThan(0.03);
    expect(Math.abs(ch.ATM / nt - 0.05)).toBeLessThan(0.02);
    // Merchants own 1-5 terminals of one channel; one MCC each; ATMs are 6011.
    const owned = new Map<number, number[]>();
    e.terminalMerchant.forEach((m, t) => {
      const list = owned.get(m);
      if (list) list.push(t);
      else owned.set(m, [t]);
    });
    expect(owned.size).toBe(e.merchantIds.length);
    for (const [m, ts] of owned) {
      expect(ts.length >= 1 && ts.length <= 5).toBe(true);
      expect(new Set(ts.map((t) => e.terminalChannel[t])).size).toBe(1);
      if (e.terminalChannel[ts[0]!] === 'ATM') expect(e.merchantMcc[m]).toBe('6011');
      expect(e.merchantMcc[m]).toMatch(/^\d{4}$/);
    }
    // Devices and IPs, email hashes, countries.
    expect(e.deviceIps.every((ip) => /^10\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip))).toBe(true);
    expect(new Set(e.deviceIds).size).toBe(e.deviceIds.length);
    expect(e.deviceIds.every((d) => /^dev_[0-9a-f]{16}$/.test(d) && !/\d{12}/.test(d))).toBe(true);
    expect(e.emailHash.every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
    // No email hash looks like a card number to the engine (a run of 13+ digits).
    expect(e.emailHash.filter((h) => identifierHasPan(h))).toEqual([]);
    expect(e.emailHash.every((h) => !/[0-9]{13}/.test(h))).toBe(true);
    let home = 0;
    let pos = 0;
    for (let t = 0; t < nt; t++) {
      if (e.terminalChannel[t] !== 'POS') continue;
      pos++;
      if (e.terminalCountry[t] === regionCountry(sim.terminals.x[t]!, sim.terminals.y[t]!)) home++;
    }
    expect(home / pos).toBeGreaterThan(0.94);
    expect(home / pos).toBeLessThan(1);
  });
});

describe('simulate command', () => {
  it('writes a CSV file and a JSONL file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-cmd-'));
    try {
      const csv = join(dir, 'a.csv');
      const args = ['--customers', '200', '--terminals', '400', '--days', '10', '--seed', '9'];
      expect(await simulateCommand([...args, '--out', csv])).toBe(0);
      const lines = readFileSync(csv, 'utf8').trimEnd().split('\n');
      expect(lines[0]).toBe(
        'transaction_id,tx_datetime,customer_id,terminal_id,tx_amount,tx_fraud,tx_fraud_scenario,' +
          'card_token,merchant_id,mcc,channel,device_id,ip,email_hash,country,currency,description',
      );
      expect(lines[1]).toMatch(/^0,2018-04-01T\d{2}:\d{2}:\d{2}Z,\d+,\d+,\d+\.\d{2},[01],[0-3],tok_/);
      const sim = simulate({ customers: 200, terminals: 400, days: 10, seed: 9 });
      expect(lines.length).toBe(sim.count + 1);

      const jsonl = join(dir, 'a.jsonl');
      expect(await simulateCommand([...args, '--out', jsonl])).toBe(0);
      const first = JSON.parse(readFileSync(jsonl, 'utf8').split('\n')[0]!) as Record<string, unknown>;
      expect(first).toEqual({ ...sim.event(0), tx_fraud: sim.tx.fraud[0], tx_fraud_scenario: sim.tx.scenario[0] });

      const basic = join(dir, 'b.csv');
      expect(await simulateCommand([...args, '--handbook-only', '--out', basic])).toBe(0);
      const b = readFileSync(basic, 'utf8').split('\n');
      expect(b[0]).toBe('transaction_id,tx_datetime,customer_id,terminal_id,tx_amount,tx_fraud,tx_fraud_scenario');
      expect(b[1]).toBe(lines[1]!.split(',').slice(0, 7).join(','));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad arguments with exit code 2', async () => {
    expect(await simulateCommand(['--days', 'ten'])).toBe(2);
    expect(await simulateCommand(['--format', 'xml', '--days', '1'])).toBe(2);
    expect(await simulateCommand(['--bogus'])).toBe(2);
  });
});

describe('simulated email hashes', () => {
  it('never carry a run of digits the engine would take for a card number', () => {
    // A hex digest that happens to be all digits, starting with a Luhn-valid test card number.
    const digits = `4111111111111111${'0123456789'.repeat(5)}`.slice(0, 64);
    expect(identifierHasPan(digits)).toBe(true);
    const h = noCardNumberRun(digits);
    expect(h).toHaveLength(64);
    expect(/^[0-9a-f]{64}$/.test(h)).toBe(true);
    expect(/[0-9]{13}/.test(h)).toBe(false);
    expect(identifierHasPan(h)).toBe(false);
  });
});
