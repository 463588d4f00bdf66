#!/usr/bin/env node
/**
 * `npm run bench:rules`: the cost of the rules stage per event, for a ruleset of N rules
 * (default 100: the shipped config/rules plus generated variants of the same shapes), over
 * simulated events with the real feature vectors the in-memory store serves.
 *
 * Measures, per event: building the CEL context (ruleContext) + evaluating every rule
 * (evaluateRules), exactly what DecisionEngine does per event. With --compare it measures the
 * same expressions on @bufbuild/cel when that package is installed (`npm i --no-save
 * @bufbuild/cel @bufbuild/protobuf`), and checks that both libraries hit the same rules.
 *
 * Measured on the 2-core dev machine (Node 20, 100 rules, 20k events): @marcbachmann/cel-js
 * 24.8 µs/event with map-typed variables, 19.3-20 µs with the typed views of
 * src/rules/context.ts; @bufbuild/cel 66-74 µs (Maps built once per event; 450 µs with
 * plain objects), identical hits on every event. The engine keeps @marcbachmann/cel-js.
 *
 * Also measured: the engine path with the rules budget check of DecisionEngine (one
 * performance.now() per event) and the clock read alone; with --matches N (N of the generated
 * rules use matches()), each pattern per call on RE2 (re2js, the engine's) and on JavaScript's
 * RegExp as cel-js's built-in `matches` ran it (`new RegExp(p).test(s)`).
 *
 * Measured when matches() moved to RE2 (2 cores shared, Node 20, 20k events, two runs each,
 * before -> after): config/rules (10 rules, no matches()) 1.79-1.85 -> 1.77-1.94 µs/event;
 * 100 rules 19.9-20.2 -> 19.5-20.3; 100 rules of which 10 use matches() 21.7-23.2 -> 24.3-25.3
 * (~0.25 µs more per matches() rule). Per call RE2 0.06-0.45 µs, RegExp 0.08-0.10 µs, the same
 * results on all 5 × 20,000 inputs; but `^(a+)+$` over 'a'*128+'b' takes ~10 µs on RE2 and
 * ~2^128 steps on RegExp (70 ms at 24 characters, doubling with each). The budget check: 42-45
 * ns per performance.now(), within the noise of the engine path (±0.5 µs/event).
 *
 * Imports the compiled engine from dist/ (`npm run bench:rules` builds first).
 *   node scripts/bench-rules.mjs [--rules 100] [--matches 0] [--events 20000] [--rounds 5] [--compare] [--json]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FEATURE_NAMES } from '../dist/features/names.js';
import { MemoryFeatureStore } from '../dist/features/memory-store.js';
import { interleaveLabels, enrichFeed } from '../dist/features/label-feed.js';
import { simulate } from '../dist/simulator/index.js';
import { compileRuleset } from '../dist/rules/compile.js';
import { evaluateRules, ruleContext } from '../dist/rules/evaluate.js';
import { loadRulesetFiles } from '../dist/rules/load.js';
// Absent before the engine ran matches() on RE2 (to bench an older build the same way).
const { regexMatches } = await import('../dist/rules/regex.js').catch(() => ({ regexMatches: null }));
import { TX_FIELDS } from '../dist/rules/context.js';
import { LIST_NAMES } from '../dist/rules/types.js';

const { values } = parseArgs({
  options: {
    rules: { type: 'string', default: '100' },
    events: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    matches: { type: 'string', default: '0' },
    compare: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const N_RULES = Number(values.rules);
const N_EVENTS = Number(values.events);
const ROUNDS = Number(values.rounds);
const N_MATCHES = Number(values.matches);

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rule shapes analysts write: thresholds on amounts, features, score, time, lists, sets. */
const TEMPLATES = [
  (r) => `tx.amount >= ${(500 + Math.floor(r() * 5000)).toFixed(1)}`,
  (r) =>
    `has(f.customer_amount_over_avg_30d) && f.customer_amount_over_avg_30d >= ${(2 + r() * 4).toFixed(2)} && tx.amount > ${(50 + Math.floor(r() * 200)).toFixed(1)}`,
  (r) =>
    `f.terminal_risk_7d >= ${(0.2 + r() * 0.6).toFixed(2)} && f.terminal_nb_tx_7d >= ${(1 + Math.floor(r() * 5)).toFixed(1)}`,
  (r) => `f.card_nb_tx_1d > ${(3 + Math.floor(r() * 10)).toFixed(1)}`,
  (r) =>
    `tx.channel == "ECOM" && has(f.customer_device_seen_before) && f.customer_device_seen_before == 0.0 && tx.amount > ${(50 + Math.floor(r() * 300)).toFixed(1)}`,
  (r) => `f.tx_during_night == 1.0 && tx.amount > ${(100 + Math.floor(r() * 300)).toFixed(1)}`,
  (r) => `score > ${(0.5 + r() * 0.45).toFixed(3)} && tx.amount > ${(20 + Math.floor(r() * 100)).toFixed(1)}`,
  (r) =>
    `tx.mcc in ["7995", "5967", "${4000 + Math.floor(r() * 4000)}"] && tx.amount > ${(20 + Math.floor(r() * 200)).toFixed(1)}`,
  (r) =>
    `tx.country != "FR" && tx.channel == "${['ECOM', 'POS', 'ATM'][Math.floor(r() * 3)]}" && tx.amount_minor > ${10000 + Math.floor(r() * 50000)}`,
  (r) =>
    `tx.hour >= ${Math.floor(r() * 4)} && tx.hour <= ${4 + Math.floor(r() * 3)} && tx.weekday >= 6 && tx.amount > ${(30 + Math.floor(r() * 100)).toFixed(1)}`,
  () => `tx.email_hash != "" && tx.email_hash in lists.block_email`,
  () => `tx.customer_id in lists.block_customer || tx.terminal_id in lists.block_terminal`,
  (r) =>
    `has(f.customer_secs_since_prev_tx) && f.customer_secs_since_prev_tx < ${(30 + Math.floor(r() * 300)).toFixed(1)} && f.customer_nb_terminals_1d >= ${(2 + Math.floor(r() * 3)).toFixed(1)}`,
  (r) =>
    `f.terminal_nb_tx_1h > ${(3 + Math.floor(r() * 10)).toFixed(1)} || f.customer_nb_merchants_1d > ${(4 + Math.floor(r() * 6)).toFixed(1)}`,
];
const ACTIONS = ['REVIEW', 'REVIEW', 'DECLINE', 'TAG:watch'];
/** Rules with `matches()` (--matches N: the last N generated rules), over identifiers of <= 128 characters. */
const MATCHES = [
  { field: 'card_token', pattern: '^tok_[0-9]+$', and: ' && tx.amount > 500.0' },
  { field: 'ip', pattern: '^10\\.1[0-9]\\.', and: '' },
  { field: 'email_hash', pattern: '^(00|ff)[0-9a-f]*$', and: ' && tx.email_hash != ""' },
  { field: 'terminal_id', pattern: '^[0-9]{1,3}$', and: ' && tx.channel == "POS"' },
  { field: 'customer_id', pattern: '^(test|demo)_[a-z0-9]+', and: '' },
];
const celString = (s) => JSON.stringify(s);
const MATCH_TEMPLATES = MATCHES.map((m) => () => `tx.${m.field}.matches(${celString(m.pattern)})${m.and}`);

function benchRuleset(n) {
  const base = loadRulesetFiles('config/rules');
  const r = rng(42);
  const rules = [...base.rules];
  for (let i = 0; rules.length < n; i++) {
    const t =
      rules.length >= n - N_MATCHES ? MATCH_TEMPLATES[i % MATCH_TEMPLATES.length] : TEMPLATES[i % TEMPLATES.length];
    rules.push({
      id: `gen_${i}`,
      description: '',
      expression: t(r),
      action: ACTIONS[i % ACTIONS.length],
      priority: Math.floor(r() * 1000),
      mode: i % 5 === 4 ? 'shadow' : 'active',
      owner: 'bench',
    });
  }
  const lists = {
    block_card: Array.from({ length: 2000 }, (_, i) => `tok_blocked_${i}`),
    block_terminal: Array.from({ length: 200 }, (_, i) => String(i * 37)),
    block_email: Array.from({ length: 500 }, (_, i) => `e${i}`),
    block_customer: ['17', '42'],
    allow_card: ['tok_vip'],
  };
  return { ...base, version: `bench-${n}`, rules: rules.slice(0, n), lists };
}

async function benchEvents(n) {
  // ~ n transactions: 1000 customers do ~2.9 tx/day on average (the handbook's simulator).
  const days = Math.max(8, Math.ceil(n / 2900) + 7);
  const sim = simulate({ customers: 1000, terminals: 2000, days, seed: 3 });
  const store = new MemoryFeatureStore();
  const enriched = await enrichFeed(store, interleaveLabels([...sim.transactions()], 7));
  // Skip the warm-up week so that windows and terminal risks are populated, as in production.
  const tail = enriched.slice(Math.max(0, enriched.length - n));
  const r = rng(7);
  return tail.map((e) => ({ event: e.event, vector: e.vector, score: r() < 0.03 ? null : r() ** 3 }));
}

function measure(label, events, evalOne) {
  // Warm-up: let the JIT settle on the real shapes.
  for (let i = 0; i < Math.min(events.length, 5000); i++) evalOne(events[i]);
  const perEvent = [];
  let hits = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = process.hrtime.bigint();
    for (const e of events) hits += evalOne(e);
    const ns = Number(process.hrtime.bigint() - t0);
    perEvent.push(ns / events.length / 1000);
  }
  perEvent.sort((a, b) => a - b);
  const median = perEvent[Math.floor(perEvent.length / 2)];
  return {
    library: label,
    us_per_event: Math.round(median * 100) / 100,
    best_us: Math.round(perEvent[0] * 100) / 100,
    hits_per_event: hits / (ROUNDS * events.length),
  };
}

const def = benchRuleset(N_RULES);
const events = await benchEvents(N_EVENTS);
const rs = compileRuleset(def);
const results = [];

results.push(
  measure('@marcbachmann/cel-js (engine path: ruleContext + evaluateRules)', events, (e) => {
    const ctx = ruleContext(e.event, FEATURE_NAMES, e.vector, e.score, rs.lists);
    const out = evaluateRules(rs, ctx);
    return out.active.length + out.shadow.length;
  }),
);

// The rules budget of DecisionEngine.decideBatch: one clock read and a compare per event.
const budgetStart = performance.now();
const NEVER = 1e15;
results.push(
  measure('engine path + rules budget check (performance.now() per event)', events, (e) => {
    if (performance.now() - budgetStart > NEVER) return 0;
    const ctx = ruleContext(e.event, FEATURE_NAMES, e.vector, e.score, rs.lists);
    const out = evaluateRules(rs, ctx);
    return out.active.length + out.shadow.length;
  }),
);
const clock = (() => {
  let x = 0;
  for (let i = 0; i < 100_000; i++) x += performance.now();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 1_000_000; i++) x += performance.now();
  return { ns_per_read: Number(process.hrtime.bigint() - t0) / 1_000_000, x };
})();

/** Each pattern of MATCHES per call, over the events' values of its field: RE2 vs JavaScript's RegExp as cel-js's built-in ran it. */
const regex =
  N_MATCHES > 0 && regexMatches
    ? MATCHES.map(({ field, pattern }) => {
        const inputs = events.map((e) => e.event[field] ?? '');
        let sink = 0;
        const per = (fn) => {
          for (let i = 0; i < Math.min(5000, inputs.length); i++) sink += fn(inputs[i], pattern) ? 1 : 0;
          const t0 = process.hrtime.bigint();
          for (let r = 0; r < ROUNDS; r++) for (const s of inputs) sink += fn(s, pattern) ? 1 : 0;
          return Number(process.hrtime.bigint() - t0) / (ROUNDS * inputs.length) / 1000;
        };
        const builtin = per((s, p) => new RegExp(p).test(s));
        const re2 = per(regexMatches);
        const differ = inputs.filter((s) => new RegExp(pattern).test(s) !== regexMatches(s, pattern)).length;
        return {
          field,
          pattern,
          builtin_us: Math.round(builtin * 1000) / 1000,
          re2_us: Math.round(re2 * 1000) / 1000,
          inputs: inputs.length,
          different_results: differ,
          hits: sink,
        };
      })
    : [];

if (values.compare) {
  let cel = null;
  try {
    cel = await import('@bufbuild/cel');
  } catch {
    console.error('bench-rules: @bufbuild/cel is not installed, skipping the comparison');
  }
  if (cel) {
    const { celEnv, parse, plan, check, CelScalar, mapType } = cel;
    const env = celEnv({
      variables: {
        tx: mapType(CelScalar.STRING, CelScalar.DYN),
        f: mapType(CelScalar.STRING, CelScalar.DOUBLE),
        score: CelScalar.DOUBLE,
        lists: mapType(CelScalar.STRING, mapType(CelScalar.STRING, CelScalar.BOOL)),
      },
    });
    const TX_KEYS = Object.keys(TX_FIELDS);
    const bufLists = new Map(LIST_NAMES.map((n) => [n, rs.lists[n]]));
    const compiled = [...rs.active, ...rs.shadow].map((r) => {
      const parsed = parse(r.def.expression);
      let fn;
      try {
        fn = plan(env, check(env, parsed));
      } catch {
        fn = plan(env, parsed);
      }
      return fn;
    });
    // An absent score: NaN compares false, as the engine's missing-variable error counts as not hit.
    const hitsOf = (e) => {
      const ctx = ruleContext(e.event, FEATURE_NAMES, e.vector, e.score, rs.lists);
      // The same values as Maps, built once per event (plain objects would be converted on every access).
      const f = new Map();
      for (const name of FEATURE_NAMES) {
        const v = ctx.f[name];
        if (v !== undefined) f.set(name, v);
      }
      const bindings = {
        tx: new Map(TX_KEYS.map((k) => [k, ctx.tx[k]])),
        f,
        score: ctx.score ?? Number.NaN,
        lists: bufLists,
      };
      const hits = [];
      for (let i = 0; i < compiled.length; i++) {
        const v = compiled[i](bindings);
        if (v === true) hits.push(i); // a CelError counts as not hit, as in the engine
      }
      return hits;
    };
    results.push(measure('@bufbuild/cel (same expressions and contexts)', events, (e) => hitsOf(e).length));
    // Differential check: both libraries must hit the same rules on every event.
    const all = [...rs.active, ...rs.shadow];
    let differ = 0;
    for (const e of events) {
      const mine = evaluateRules(rs, ruleContext(e.event, FEATURE_NAMES, e.vector, e.score, rs.lists));
      const a = new Set([...mine.active, ...mine.shadow].map((r) => all.indexOf(r)));
      const b = hitsOf(e);
      if (a.size !== b.length || b.some((i) => !a.has(i))) differ++;
    }
    results.at(-1).events_with_different_hits = differ;
  }
}

const summary = {
  rules: def.rules.length,
  active: rs.active.length,
  shadow: rs.shadow.length,
  events: events.length,
  rounds: ROUNDS,
  node: process.version,
  results,
  clock_ns_per_read: Math.round(clock.ns_per_read * 10) / 10,
  matches: regex,
};
if (values.json) console.log(JSON.stringify(summary));
else {
  console.log(
    `rules: ${summary.rules} (${summary.active} active, ${summary.shadow} shadow), events: ${summary.events} x ${ROUNDS} rounds, node ${process.version}`,
  );
  for (const r of results) {
    const parity =
      r.events_with_different_hits === undefined ? '' : `, ${r.events_with_different_hits} events with different hits`;
    console.log(
      `  ${r.library.padEnd(68)} ${String(r.us_per_event).padStart(8)} µs/event (best ${r.best_us}), ${r.hits_per_event.toFixed(2)} hits/event${parity}`,
    );
  }
  console.log(`  performance.now(): ${summary.clock_ns_per_read} ns per read`);
  for (const m of regex)
    console.log(
      `  matches ${`tx.${m.field} ~ ${m.pattern}`.padEnd(40)} RE2 ${m.re2_us} µs/call, RegExp (cel-js built-in) ${m.builtin_us} µs/call, ${m.different_results} of ${m.inputs} results differ`,
    );
  console.log('  budget: < 20 µs/event for 100 rules');
}
