#!/usr/bin/env node
/**
 * `npm run bench:pan`: the cost of card-number detection (src/security/pan.ts) on the hot path,
 * and its false-positive rate on random 64-hex strings (the shape of an email hash).
 *
 *  - µs per call of containsPan and identifierHasPan over typical identifiers (a token, a
 *    customer id, a 64-hex email hash, a device id, an IPv4, a UUID, an MCC, a country…), the
 *    ~10 identifier fields an event carries;
 *  - the share of N random 64-hex strings that containsPan and identifierHasPan flag.
 *
 * Measured on the 2-core dev machine (Node 20, shared with other jobs, three runs):
 * containsPan 0.047-0.073 µs/call and identifierHasPan 0.042-0.066 µs/call on the typical
 * identifiers (most are rejected by the digit count; ~0.6 µs per event for 10 fields); on
 * 64-hex hashes (scanned in full) 0.41-0.52 and 0.27-0.29 µs; maskPans on a log message with
 * a PAN, a UUID and a date 2.3-4.7 µs (the exemption regexes run). False positives on 1,000,000
 * random 64-hex strings: containsPan 0.99-1.03 %, identifierHasPan 0.0026-0.0047 % (the rule
 * of maximal 13-19 digit runs alone, MII-prefixed and Luhn-valid, would be 0.21-0.22 %: see
 * identifierHasPan in src/security/pan.ts).
 *
 * Imports the compiled module from dist/ (`npm run bench:pan` builds first).
 *   node scripts/bench-pan.mjs [--calls 1000000] [--hashes 1000000] [--json]
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { containsPan, identifierHasPan, maskPans } from '../dist/security/pan.js';

const { values: opt } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000000' },
    hashes: { type: 'string', default: '1000000' },
    json: { type: 'boolean', default: false },
  },
});
const CALLS = Number(opt.calls);
const HASHES = Number(opt.hashes);

const IDENTIFIERS = [
  'tok_3f9a1c0b7d2e4a6f8c1b3d5e', // card token
  'c-123456', // customer id
  randomBytes(32).toString('hex'), // email hash
  'dev_9c2e41b07a3fd815', // device id
  '10.23.187.4', // ip
  '7d0c8f2e-0a06-4952-8393-47c1d2e3f4a5', // auth id (UUID)
  'T-000417', // terminal id
  'm-00093', // merchant id
  '5411', // mcc
  'FR', // country
];

// The slow path: 64-hex strings always have 13+ digits, so they are scanned in full.
const HEX = Array.from({ length: 1000 }, () => randomBytes(32).toString('hex'));
const LOG_LINE =
  'decision auth 7d0c8f2e-0a06-4952-8393-47c1d2e3f4a5 at 2026-12-01T03:46:54.123Z: card 4111 1111 1111 1111 REVIEW score 0.913';

function bench(name, inputs, fn) {
  let sink = 0;
  for (let i = 0; i < 100_000; i++) if (fn(inputs[i % inputs.length])) sink++; // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) if (fn(inputs[i % inputs.length])) sink++;
  const ns = Number(process.hrtime.bigint() - t0);
  return { name, calls: CALLS, usPerCall: ns / 1000 / CALLS, flagged: sink };
}

const timings = [
  bench('containsPan on typical identifiers', IDENTIFIERS, containsPan),
  bench('identifierHasPan on typical identifiers', IDENTIFIERS, identifierHasPan),
  bench('containsPan on 64-hex hashes', HEX, containsPan),
  bench('identifierHasPan on 64-hex hashes', HEX, identifierHasPan),
  bench('maskPans on a log message with a PAN, a UUID and a date', [LOG_LINE], (s) => maskPans(s) !== s),
];

let contains = 0;
let ident = 0;
for (let i = 0; i < HASHES; i++) {
  const h = randomBytes(32).toString('hex');
  if (containsPan(h)) contains++;
  if (identifierHasPan(h)) ident++;
}
const fp = { hashes: HASHES, containsPan: contains / HASHES, identifierHasPan: ident / HASHES };

if (opt.json) {
  console.log(JSON.stringify({ timings, falsePositives: fp }));
} else {
  for (const t of timings) console.log(`${t.usPerCall.toFixed(3).padStart(7)} µs/call  ${t.name} (${t.calls} calls)`);
  console.log(
    `false positives on ${HASHES} random 64-hex strings: containsPan ${(100 * fp.containsPan).toFixed(4)} % (${contains}), identifierHasPan ${(100 * fp.identifierHasPan).toFixed(4)} % (${ident})`,
  );
}
