/**
 * Richer fields on top of the handbook's columns, drawn from separate streams (the handbook's
 * columns are identical with or without them):
 *  - per customer: an email hash, one card token (a second card for ~10%, used for ~30% of
 *    their transactions), 1-2 own devices each with an IPv4 string from 10.0.0.0/8;
 *  - per terminal: a channel (~75% POS, ~20% ECOM, ~5% ATM), a country (mostly the country of
 *    the region of the grid it stands in, some cross-border, more so for ECOM) and a merchant;
 *    merchants own 1-5 terminals of one channel and have one MCC;
 *  - per transaction: the card used; for ECOM the device (one of the customer's own, except for
 *    scenario-3 frauds — stolen credentials — which mostly come from a device never seen before).
 * Tokens never look like a PAN; the IPs are strings only, never contacted.
 */
import { Rng } from './rng.js';
import type { CustomerProfiles, TerminalProfiles } from './profiles.js';
import type { TransactionColumns } from './generate.js';
import { STREAM } from './streams.js';

export const ENRICH_PARAMS = {
  secondCardShare: 0.1,
  secondCardUse: 0.3,
  secondDeviceShare: 0.4,
  channel: { POS: 0.75, ECOM: 0.2, ATM: 0.05 },
  crossBorder: { POS: 0.03, ECOM: 0.3, ATM: 0.02 },
  maxTerminalsPerMerchant: 5,
  /** Share of scenario-3 ECOM frauds made from a new device. */
  freshDeviceOnAccountTakeover: 0.85,
  currency: 'EUR',
} as const;

type SimChannel = 'POS' | 'ECOM' | 'ATM';

/** ISO 18245 merchant category codes by channel. */
export const MCC_BY_CHANNEL: Record<SimChannel, readonly string[]> = {
  // grocery, restaurants, fast food, fuel, pharmacy, department store, clothing, misc retail,
  // commuter transport, electronics, hotels, misc food
  POS: ['5411', '5812', '5814', '5541', '5912', '5311', '5651', '5999', '4111', '5732', '7011', '5499'],
  // electronics, digital media, games, apps, books, travel agencies, department store, clothing, misc retail
  ECOM: ['5732', '5815', '5816', '5817', '5942', '4722', '5311', '5651', '5999'],
  ATM: ['6011'],
};

export const HOME_COUNTRIES = ['FR', 'BE', 'DE', 'NL', 'ES'] as const;
export const FOREIGN_COUNTRIES = ['FR', 'BE', 'DE', 'NL', 'ES', 'LU', 'IT', 'GB', 'IE', 'US'] as const;

/** The country of a region of the 100×100 grid (a rough map: ES south, FR centre-west, DE east, BE/NL north-west). */
export function regionCountry(x: number, y: number): string {
  if (y < 25) return 'ES';
  if (y < 60) return x < 60 ? 'FR' : 'DE';
  if (x < 35) return 'BE';
  return x < 60 ? 'NL' : 'DE';
}

export interface Enrichment {
  /** Per customer. */
  emailHash: string[];
  /** Card table; customer c owns cardTokens[firstCard[c]] and, if secondCard[c] >= 0, cardTokens[secondCard[c]]. */
  cardTokens: string[];
  firstCard: Int32Array;
  secondCard: Int32Array;
  /** Device table (own devices and the fresh devices of account takeovers). */
  deviceIds: string[];
  deviceIps: string[];
  /** Own devices of customer c: deviceIds[deviceOffsets[c] .. deviceOffsets[c+1]). */
  deviceOffsets: Int32Array;
  /** Per terminal. */
  terminalChannel: SimChannel[];
  terminalCountry: string[];
  terminalMerchant: Int32Array;
  /** Per merchant. */
  merchantIds: string[];
  merchantMcc: string[];
  /** Per transaction: index into cardTokens; index into deviceIds or -1. */
  txCard: Int32Array;
  txDevice: Int32Array;
}

/**
 * `<prefix>_<hex>` identifier without a run of 12+ digits, so that no token ever looks like (part
 * of) a card number to a PAN detector or a log redactor.
 */
function token(rng: Rng, prefix: string, nHex: number): string {
  for (;;) {
    const h = rng.hex(nHex);
    if (!/\d{12}/.test(h)) return `${prefix}_${h}`;
  }
}

function ipv4(rng: Rng): string {
  return `10.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`;
}

export function enrich(
  customers: CustomerProfiles,
  terminals: TerminalProfiles,
  tx: TransactionColumns,
  seed: number,
): Enrichment {
  const P = ENRICH_PARAMS;

  // Customers: email hash, cards, devices.
  const cr = Rng.derive(seed, STREAM.enrichCustomers);
  const nc = customers.count;
  const emailHash: string[] = new Array<string>(nc);
  const cardTokens: string[] = [];
  const firstCard = new Int32Array(nc);
  const secondCard = new Int32Array(nc).fill(-1);
  const deviceIds: string[] = [];
  const deviceIps: string[] = [];
  const deviceOffsets = new Int32Array(nc + 1);
  for (let c = 0; c < nc; c++) {
    emailHash[c] = noCardNumberRun(cr.hex(64));
    firstCard[c] = cardTokens.push(token(cr, 'tok', 24)) - 1;
    if (cr.chance(P.secondCardShare)) secondCard[c] = cardTokens.push(token(cr, 'tok', 24)) - 1;
    const nDevices = cr.chance(P.secondDeviceShare) ? 2 : 1;
    for (let k = 0; k < nDevices; k++) {
      deviceIds.push(token(cr, 'dev', 16));
      deviceIps.push(ipv4(cr));
    }
    deviceOffsets[c + 1] = deviceIds.length;
  }

  // Terminals: channel, country, merchant (merchants own 1-5 terminals of one channel).
  const tr = Rng.derive(seed, STREAM.enrichTerminals);
  const nt = terminals.count;
  const terminalChannel: SimChannel[] = new Array<SimChannel>(nt);
  const terminalCountry: string[] = new Array<string>(nt);
  const terminalMerchant = new Int32Array(nt);
  const merchantIds: string[] = [];
  const merchantMcc: string[] = [];
  const open: Record<SimChannel, { merchant: number; left: number }> = {
    POS: { merchant: -1, left: 0 },
    ECOM: { merchant: -1, left: 0 },
    ATM: { merchant: -1, left: 0 },
  };
  for (let t = 0; t < nt; t++) {
    const u = tr.random();
    const ch: SimChannel = u < P.channel.POS ? 'POS' : u < P.channel.POS + P.channel.ECOM ? 'ECOM' : 'ATM';
    terminalChannel[t] = ch;
    const home = regionCountry(terminals.x[t]!, terminals.y[t]!);
    if (tr.chance(P.crossBorder[ch])) {
      let other = home;
      while (other === home) other = FOREIGN_COUNTRIES[tr.int(FOREIGN_COUNTRIES.length)]!;
      terminalCountry[t] = other;
    } else {
      terminalCountry[t] = home;
    }
    const slot = open[ch];
    if (slot.left === 0) {
      slot.merchant = merchantIds.length;
      slot.left = 1 + tr.int(P.maxTerminalsPerMerchant);
      merchantIds.push(`mer_${String(slot.merchant).padStart(6, '0')}`);
      const mccs = MCC_BY_CHANNEL[ch];
      merchantMcc.push(mccs[tr.int(mccs.length)]!);
    }
    terminalMerchant[t] = slot.merchant;
    slot.left--;
  }

  // Transactions, in time order: card, device.
  const xr = Rng.derive(seed, STREAM.enrichTransactions);
  const n = tx.count;
  const txCard = new Int32Array(n);
  const txDevice = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const c = tx.customer[i]!;
    const second = secondCard[c]!;
    txCard[i] = second >= 0 && xr.chance(P.secondCardUse) ? second : firstCard[c]!;
    if (terminalChannel[tx.terminal[i]!] !== 'ECOM') continue;
    if (tx.scenario[i] === 3 && xr.chance(P.freshDeviceOnAccountTakeover)) {
      txDevice[i] = deviceIds.push(token(xr, 'dev', 16)) - 1;
      deviceIps.push(ipv4(xr));
    } else {
      const first = deviceOffsets[c]!;
      txDevice[i] = first + xr.int(deviceOffsets[c + 1]! - first);
    }
  }

  return {
    emailHash,
    cardTokens,
    firstCard,
    secondCard,
    deviceIds,
    deviceIps,
    deviceOffsets,
    terminalChannel,
    terminalCountry,
    terminalMerchant,
    merchantIds,
    merchantMcc,
    txCard,
    txDevice,
  };
}

/**
 * A random hex digest can hold a run of 13+ decimal digits that passes Luhn: the engine then
 * dead-letters the authorization as a card number in an identifier (the demo lost 2 of 60,000
 * events so, and exited 1). Every 12th character becomes a letter (a pure map, so the random
 * streams and every other simulated field stay as they were): no digit run reaches 13.
 */
export function noCardNumberRun(hex: string): string {
  let out = '';
  for (let i = 0; i < hex.length; i++) {
    const ch = hex[i]!;
    out += i % 12 === 11 && ch >= '0' && ch <= '9' ? 'abcdef'[Number(ch) % 6] : ch;
  }
  return out;
}
