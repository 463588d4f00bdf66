#!/usr/bin/env node
// The cost of encoding one decision (issue 17): its feature snapshot as the map of 27 names
// (the decision schema before `feature_values`, the snapshot filled name by name as the engine
// did) against the record (the current schema, the snapshot built by vectorToRecord and written
// by decisionOnWire). Per variant: building the snapshot, encoding the whole decision, and the
// bytes. CPU time (process.cpuUsage) over R rounds of N decisions, after a warm-up.
// usage: npm run build && node scripts/bench-decision-encode.mjs [--n 200000] [--rounds 5]
import { parseArgs } from 'node:util';
import avro from 'avsc';
import { decisionOnWire, readSchema } from '../dist/events/codec.js';
import { vectorToRecord } from '../dist/features/definitions.js';
import { FEATURE_NAMES } from '../dist/features/names.js';

const { values } = parseArgs({
  options: { n: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '5' } },
});
const N = Number(values.n);
const ROUNDS = Number(values.rounds);

const current = JSON.parse(readSchema('decision'));
const before = JSON.parse(readSchema('decision'));
before.fields.splice(
  before.fields.findIndex((f) => f.name === 'feature_values'),
  1,
);
const recordType = avro.Type.forSchema(current);
const mapType = avro.Type.forSchema(before);

// A typical vector: counts, amounts, ratios, a few missing.
const vector = FEATURE_NAMES.map((_, i) => (i % 9 === 8 ? null : Math.round(((i * 37) % 101) * 13.7) / 10));
const base = {
  auth_id: 'bench-1a2b3c-123456',
  card_token: 'tok_4f9a8b7c6d5e',
  outcome: 'APPROVE',
  score: 0.012345,
  reasons: [],
  rule_hits: [],
  tags: [],
  model_version: 'gbm-2026-11-30',
  ruleset_version: 'default-2',
  degraded: [],
  event_time: Date.UTC(2026, 11, 1),
  decided_time: Date.UTC(2026, 11, 1) + 12,
  engine_latency_ms: 11.482,
  context: {
    customer_id: 'c-48213',
    terminal_id: 't-9021',
    merchant_id: 'm-311',
    mcc: '5411',
    amount_minor: 4599,
    currency: 'EUR',
    channel: 'POS',
    country: 'FR',
    device_id: null,
  },
  factors: null,
  challenger_score: null,
  challenger_version: null,
};

function mapOf(vec) {
  const features = {};
  for (let j = 0; j < FEATURE_NAMES.length; j++) features[FEATURE_NAMES[j]] = vec[j] ?? null;
  return features;
}

const variants = {
  map: {
    build: () => mapOf(vector),
    encode: (f) => mapType.toBuffer({ ...base, features: f }),
  },
  record: {
    build: () => vectorToRecord(vector),
    encode: (f) => recordType.toBuffer(decisionOnWire({ ...base, features: f })),
  },
};

function cpuUs(fn) {
  const t = process.cpuUsage();
  for (let i = 0; i < N; i++) fn();
  const u = process.cpuUsage(t);
  return (u.user + u.system) / N;
}

const out = {};
for (const [name, v] of Object.entries(variants)) {
  const f = v.build();
  out[name] = { bytes: v.encode(f).length + 5, build_us: [], encode_us: [] };
  cpuUs(() => v.encode(v.build())); // warm-up
}
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, v] of Object.entries(variants)) {
    const f = v.build();
    out[name].build_us.push(Math.round(cpuUs(v.build) * 1000) / 1000);
    out[name].encode_us.push(Math.round(cpuUs(() => v.encode(f)) * 1000) / 1000);
  }
}
console.log(JSON.stringify({ n: N, rounds: ROUNDS, node: process.version, ...out }));
