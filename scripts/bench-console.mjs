#!/usr/bin/env node
/**
 * `npm run bench:console`: the console's review pages against ~1 million audit rows. Loads
 * synthetic decisions (30 days, day partitions, 90% APPROVE / 7% REVIEW / 3% DECLINE, ~30
 * features each, 20 rules, 30k cards, 10k terminals; most REVIEW cases older than a day
 * decided) into a TEMPORARY SCHEMA of the configured database (all migrations applied there),
 * then measures, through the real server (fastify inject, a signed-in session), the review
 * queue (open, claimed, decided), the decision searches (card, auth id, rule, outcome + a day,
 * a time range alone) and the case and decision pages: wall time per request and the
 * database time of its Server-Timing header, median and p95. The schema is dropped at the end
 * (--keep keeps it). Not part of `npm test`.
 *
 *   FRAUD_POSTGRES_URL=postgres://… node scripts/bench-console.mjs [--rows 1000000] [--iterations 40]
 *     [--out docs/bench/console-2026-12-01.json] [--keep]
 *
 * Imports the compiled console from dist/ (`npm run bench:console` builds first).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../dist/config/config.js';
import { consoleDepsOf } from '../dist/console/start.js';
import { buildConsole } from '../dist/console/server.js';
import { FEATURE_NAMES } from '../dist/features/names.js';
import { createLogger } from '../dist/observability/logger.js';
import { percentileNearestRank } from '../dist/observability/percentiles.js';
import { migrate } from '../dist/storage/migrate.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    iterations: { type: 'string', default: '40' },
    out: { type: 'string', default: 'docs/bench/console-2026-12-01.json' },
    keep: { type: 'boolean', default: false },
  },
});
const ROWS = Number(values.rows);
const N = Number(values.iterations);
const DAYS = 30;
const CARDS = 30_000;
const TERMINALS = 10_000;
const RULES = 20;
const base = process.env.FRAUD_POSTGRES_URL;
if (!base) {
  console.error('set FRAUD_POSTGRES_URL (the bench creates and drops a schema of its own in that database)');
  process.exit(2);
}
const schema = `bench_console_${process.pid}`;
const log = (...a) => console.error(`[bench:console ${new Date().toISOString().slice(11, 19)}]`, ...a);

// Every connection of the bench and of the console works in the bench schema.
const url = new URL(base);
url.searchParams.set('options', `-c search_path=${schema}`);
const admin = new pg.Pool({ connectionString: base, max: 1 });
await admin.query(`CREATE SCHEMA ${schema}`);
const db = new pg.Pool({ connectionString: url.toString(), max: 4 });

async function load() {
  await migrate(db);
  await db.query(
    `SELECT decision_audit_ensure_partition(d::date)
       FROM generate_series((now() - interval '${DAYS} days')::date, now()::date, interval '1 day') AS d`,
  );
  const features = `jsonb_build_object(${FEATURE_NAMES.map(
    (f) => `'${f}', round((random() * ${f === 'tx_amount' ? 300 : 10})::numeric, 3)`,
  ).join(', ')})`;
  const chunk = 100_000;
  for (let lo = 0; lo < ROWS; lo += chunk) {
    const hi = Math.min(ROWS, lo + chunk) - 1;
    // u: outcome draw; the REVIEW / DECLINE rows carry one active rule hit and, one in four, a shadow one.
    await db.query(
      `INSERT INTO decision_audit (auth_id, event_time, card_token, outcome, score, reasons, rule_hits, features,
         model_version, ruleset_version, decided_time, engine_latency_ms, customer_id, terminal_id, merchant_id, mcc,
         amount_minor, currency, channel, country)
       SELECT 'b-' || i, t, 'card-' || (i % ${CARDS}),
              CASE WHEN u < 0.90 THEN 'APPROVE' WHEN u < 0.97 THEN 'REVIEW' ELSE 'DECLINE' END,
              CASE WHEN u < 0.90 THEN random() * 0.5 ELSE 0.5 + random() * 0.5 END,
              CASE WHEN u < 0.90 THEN '{}'::text[] ELSE ARRAY['rule:rule_' || (i % ${RULES})] END,
              CASE WHEN u < 0.90 THEN '[]'::jsonb ELSE
                jsonb_build_array(jsonb_build_object('rule_id', 'rule_' || (i % ${RULES}), 'action',
                  CASE WHEN u < 0.97 THEN 'REVIEW' ELSE 'DECLINE' END, 'mode', 'ACTIVE'))
                || CASE WHEN i % 4 = 0 THEN jsonb_build_array(jsonb_build_object('rule_id', 'shadow_' || (i % 5),
                  'action', 'DECLINE', 'mode', 'SHADOW')) ELSE '[]'::jsonb END END,
              ${features}, 'bench-model', 'bench-rules', t + interval '4 milliseconds', 4,
              'cust-' || (i % ${CARDS}), 'term-' || ((i::bigint * 7919) % ${TERMINALS}), 'm-' || (i % 500), '5411',
              (random() * 30000)::bigint, 'EUR', 'ECOM', 'FR'
         FROM (SELECT i, random() AS u, now() - random() * interval '${DAYS} days' AS t
                 FROM generate_series(${lo}, ${hi}) AS i) s`,
    );
    log(`loaded ${hi + 1} rows`);
  }
  // Most cases older than a day were decided; a few hundred open ones are claimed.
  await db.query(
    `INSERT INTO case_verdicts (auth_id, event_time, card_token, verdict, note, decided_by, decided_at)
     SELECT auth_id, event_time, card_token, CASE WHEN random() < 0.3 THEN 'fraud' ELSE 'legitimate' END, '',
            'bench-analyst', event_time + interval '2 hours'
       FROM decision_audit WHERE outcome = 'REVIEW' AND event_time < now() - interval '1 day' AND random() < 0.9`,
  );
  await db.query(
    `INSERT INTO case_claims (auth_id, claimed_by, expires_at)
     SELECT a.auth_id, 'bench-analyst', now() + interval '30 minutes' FROM decision_audit a
      WHERE a.outcome = 'REVIEW' AND NOT EXISTS (SELECT 1 FROM case_verdicts v WHERE v.auth_id = a.auth_id)
      ORDER BY random() LIMIT 300`,
  );
  log('vacuum analyze');
  await db.query('VACUUM ANALYZE decision_audit');
  await db.query('VACUUM ANALYZE case_verdicts');
  await db.query('VACUUM ANALYZE case_claims');
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const r = (x) => Math.round(x * 10) / 10;
  return { median: r(percentileNearestRank(s, 50)), p95: r(percentileNearestRank(s, 95)), max: r(s[s.length - 1]) };
};

try {
  const t0 = performance.now();
  await load();
  const loadS = Math.round((performance.now() - t0) / 1000);
  const facts = (
    await db.query(
      `SELECT (SELECT count(*) FROM decision_audit) AS rows,
              (SELECT count(*) FROM decision_audit WHERE outcome = 'REVIEW') AS review,
              (SELECT count(*) FROM case_verdicts) AS verdicts,
              pg_size_pretty((SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                               WHERE i.inhparent = 'decision_audit'::regclass)) AS size`,
    )
  ).rows[0];
  log('loaded', facts, `in ${loadS} s`);

  const cfg = loadConfig('config/default.yaml', { ...process.env, FRAUD_POSTGRES_URL: url.toString() });
  const deps = consoleDepsOf(cfg, createLogger('warn'));
  const app = await buildConsole(deps);
  await deps.users.add({ username: 'bench', roles: ['analyst', 'approver'], password: 'bench-password-1' }, 'bench');
  const session = await deps.sessions.create('bench');
  const headers = { cookie: `fe_session=${session.token}` };

  const pick = async (sql) => (await db.query(sql)).rows.map((r) => r.v);
  const openCases = await pick(
    `SELECT a.auth_id AS v FROM decision_audit a WHERE a.outcome = 'REVIEW'
       AND NOT EXISTS (SELECT 1 FROM case_verdicts v WHERE v.auth_id = a.auth_id) ORDER BY random() LIMIT ${N}`,
  );
  const anyIds = await pick(`SELECT 'b-' || (random() * ${ROWS - 1})::int AS v FROM generate_series(1, ${N})`);
  const hour = 3_600_000;
  const iso = (ms) => new Date(ms).toISOString().slice(0, 16);
  const at = (i) => Date.now() - ((i * 7) % (DAYS - 1)) * 24 * hour - hour;
  const scenarios = {
    'queue open': () => '/queue',
    'queue claimed': () => '/queue?state=claimed',
    'queue decided': () => '/queue?state=decided',
    'search card': (i) => `/decisions?card=card-${(i * 977) % CARDS}`,
    'search auth id': (i) => `/decisions?auth=${anyIds[i % anyIds.length]}`,
    'search rule': (i) => `/decisions?rule=rule_${i % RULES}`,
    'search shadow rule': (i) => `/decisions?rule=shadow_${i % 5}`,
    'search outcome + 1 day': (i) => `/decisions?outcome=DECLINE&from=${iso(at(i) - 24 * hour)}&to=${iso(at(i))}`,
    'search 1 hour': (i) => `/decisions?from=${iso(at(i) - hour)}&to=${iso(at(i))}`,
    'search card + rule + 30 days': (i) =>
      `/decisions?card=card-${(i * 977) % CARDS}&rule=rule_${(i * 977) % RULES}&from=${iso(Date.now() - 30 * 24 * hour)}&to=${iso(Date.now())}`,
    'case page': (i) => `/cases/${openCases[i % openCases.length]}`,
    'decision page': (i) => `/decisions/${anyIds[i % anyIds.length]}`,
  };
  const results = {};
  for (const [name, path] of Object.entries(scenarios)) {
    const wall = [];
    const dbMs = [];
    for (let i = -5; i < N; i++) {
      const t = performance.now();
      const res = await app.inject({ method: 'GET', url: path(Math.abs(i)), headers });
      const ms = performance.now() - t;
      if (res.statusCode !== 200 && res.statusCode !== 302)
        throw new Error(`${name}: ${path(Math.abs(i))} answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
      if (i < 0) continue; // warm-up
      wall.push(ms);
      const m = /db;dur=([\d.]+)/.exec(String(res.headers['server-timing'] ?? ''));
      if (m) dbMs.push(Number(m[1]));
    }
    results[name] = { example: path(0), wall_ms: stats(wall), db_ms: stats(dbMs) };
    log(name.padEnd(30), 'wall', results[name].wall_ms, 'db', results[name].db_ms);
  }
  await app.close();
  await deps.pool.end();
  const pgVersion = (await db.query('SHOW server_version')).rows[0].server_version;
  const out = {
    date: new Date().toISOString(),
    what: 'console pages through fastify inject with a signed-in session; wall = request to full HTML, db = the Server-Timing db part',
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memory_gb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      postgres: pgVersion,
    },
    data: {
      rows: Number(facts.rows),
      review: Number(facts.review),
      verdicts: Number(facts.verdicts),
      audit_size: facts.size,
      days: DAYS,
      cards: CARDS,
      terminals: TERMINALS,
      load_seconds: loadS,
    },
    iterations: N,
    results,
  };
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
  log(`written ${values.out}`);
} finally {
  await db.end();
  if (!values.keep) await admin.query(`DROP SCHEMA ${schema} CASCADE`);
  else log(`kept schema ${schema}`);
  await admin.end();
}
