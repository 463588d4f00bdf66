#!/usr/bin/env node
/**
 * `npm run bench:decode`: the cost per event of reading an authorization off the wire, before
 * and after the hostile-input checks (issue 13), on simulated events against the local schema
 * registry (`scripts/stack up` first):
 *
 * - `registry_decode`: what the engine did before: the registry client's `decode` (any schema
 *   id, avsc trusting the counts), then validation with the old word-bounded PAN check;
 * - `subject_decode`: the SubjectDecoder alone (allow-list, bounds walk, read into the schema);
 * - `checks`: validation with the new card-number module on every identifier;
 * - `payload_hash`: the memo's payload hash (sha256 of the Avro body);
 * - `new_total`: the three together, what the engine does now per event.
 *
 * Imports the compiled engine from dist/ (`npm run bench:decode` builds first).
 *   node scripts/bench-decode.mjs [--events 20000] [--rounds 5] [--json]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { AvroCodecs } from '../dist/events/codec.js';
import { simulate } from '../dist/simulator/index.js';
import { PAN_CHECKED_FIELDS, validateAuthorization } from '../dist/pipelines/decision/validate.js';
import { payloadHash } from '../dist/features/decision-memo.js';

const { values } = parseArgs({
  options: { events: { type: 'string' }, rounds: { type: 'string' }, json: { type: 'boolean' } },
});
const N = Number(values.events ?? 20000);
const ROUNDS = Number(values.rounds ?? 5);
const registryUrl = process.env.FRAUD_SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const auth = process.env.FRAUD_SCHEMA_REGISTRY_USERNAME
  ? { username: process.env.FRAUD_SCHEMA_REGISTRY_USERNAME, password: process.env.FRAUD_SCHEMA_REGISTRY_PASSWORD ?? '' }
  : undefined;

const run = `bench-decode-${Date.now().toString(36)}`;
const codecs = await AvroCodecs.create(
  registryUrl,
  { authorizations: `${run}-auth`, decisions: `${run}-dec`, labels: `${run}-lab` },
  auth,
);
const sim = simulate({ customers: 2000, terminals: 4000, days: Math.ceil(N / 5800) + 1, seed: 5 });
const now = Date.now();
const wire = [];
for (let i = 0; i < Math.min(N, sim.count); i++)
  wire.push(codecs.encodeAuthorization({ ...sim.event(i), event_time: now - 60_000 }));

// The old word-bounded PAN check of the logger, as validation used it before.
const OLD_PAN_RE = /\b(?:\d[ -]?){12,18}\d\b/g;
function oldLuhn(d) {
  let s = 0;
  for (let i = 0; i < d.length; i++) {
    let x = d.charCodeAt(d.length - 1 - i) - 48;
    if (i % 2) {
      x *= 2;
      if (x > 9) x -= 9;
    }
    s += x;
  }
  return s % 10 === 0;
}
const oldLooksLikePan = (t) =>
  t.replace(OLD_PAN_RE, (m) => {
    const d = m.replace(/[ -]/g, '');
    return d.length >= 13 && d.length <= 19 && oldLuhn(d) ? '[PAN]' : m;
  }) !== t;
// The same identifiers as validation checks, with the old check.
const IDS = PAN_CHECKED_FIELDS;

async function measure(fn) {
  for (let i = 0; i < Math.min(wire.length, 3000); i++) await fn(wire[i]); // warm-up
  const runs = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (const b of wire) await fn(b);
    runs.push(((performance.now() - t0) * 1000) / wire.length);
  }
  runs.sort((a, b) => a - b);
  return Math.round(runs[Math.floor(runs.length / 2)] * 100) / 100;
}

const results = {
  events: wire.length,
  registry_decode: await measure(async (b) => {
    const ev = await codecs.registry.decode(b);
    for (const k of IDS) {
      const v = ev[k];
      if (typeof v === 'string' && v.length >= 13 && oldLooksLikePan(v)) return;
    }
  }),
  subject_decode: await measure((b) => codecs.decodeAuthorization(b)),
  checks: await (async () => {
    const evs = await Promise.all(wire.map((b) => codecs.decodeAuthorization(b)));
    let i = 0;
    return measure(() => {
      validateAuthorization(evs[i++ % evs.length], { now });
    });
  })(),
  payload_hash: await measure((b) => {
    payloadHash(b);
  }),
  new_total: await measure(async (b) => {
    const ev = await codecs.decodeAuthorization(b);
    validateAuthorization(ev, { now });
    payloadHash(b);
  }),
};
if (values.json) console.log(JSON.stringify(results));
else {
  console.log(`per event (µs, median of ${ROUNDS} rounds over ${results.events} simulated authorizations):`);
  for (const [k, v] of Object.entries(results)) if (k !== 'events') console.log(`  ${k.padEnd(16)} ${v}`);
}
process.exit(0);
