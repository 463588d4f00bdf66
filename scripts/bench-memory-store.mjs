#!/usr/bin/env node
/**
 * The in-memory feature store alone, as replay drives it (labels applied between the
 * transactions), over a simulated history: CPU time (this process's user + system) per event.
 * Several builds alternate round by round, for before/after in the same conditions.
 *   node scripts/bench-memory-store.mjs [DIR ...]   (each DIR holds a build in DIR/dist; default: .)
 *   env DAYS (default 20), ROUNDS (default 3)
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dirs = process.argv.slice(2);
if (dirs.length === 0) dirs.push('.');
const builds = [];
for (const d of dirs) {
  const load = (p) => import(pathToFileURL(resolve(d, 'dist', p)).href);
  builds.push({
    dir: d,
    Store: (await load('features/memory-store.js')).MemoryFeatureStore,
    feed: await load('features/label-feed.js'),
    sim: await load('simulator/index.js'),
  });
}
const records = [...builds[0].sim.simulate({ days: Number(process.env.DAYS ?? 20) })];
const feed = builds[0].feed.interleaveLabels(records, 7);
for (let r = 0; r < Number(process.env.ROUNDS ?? 3); r++) {
  for (const b of builds) {
    const store = new b.Store();
    const c0 = process.cpuUsage();
    let n = 0;
    for (const item of feed) {
      if (item.kind === 'label') store.applyLabelSync(item.label);
      else {
        store.enrichEventSync(item.event);
        n++;
      }
    }
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    console.log(
      JSON.stringify({
        dist: b.dir,
        round: r + 1,
        events: n,
        cpu_s: Math.round(cpu * 1000) / 1000,
        us_per_event: Math.round((cpu / n) * 1e8) / 100,
        loadavg_1m: Math.round(loadavg()[0] * 100) / 100,
      }),
    );
  }
}
