#!/usr/bin/env node
// Summarizes a V8 .cpuprofile (node --cpu-prof, `npm run bench -- --profile DIR`): self time
// by function and by module (package or src/ file), so a profile can be read without a browser.
// usage: node scripts/cpuprofile-top.mjs FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';

const [file, nArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/cpuprofile-top.mjs FILE.cpuprofile [N]');
  process.exit(2);
}
const top = Number(nArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
// sample intervals: timeDeltas[i] is the time before samples[i]
const self = new Map();
prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

function moduleOf(url) {
  if (!url) return '(native/idle)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const src = url.indexOf('/dist/');
  if (src >= 0) return url.slice(src + 1);
  return url.startsWith('node:') ? url : url.replace(/^file:\/\//, '');
}

const fns = new Map();
const mods = new Map();
for (const [id, us] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const name = cf.functionName || '(anonymous)';
  const mod = moduleOf(cf.url);
  const key = `${name}  ${mod}:${cf.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
  const m = ['(idle)', '(program)', '(garbage collector)'].includes(cf.functionName) ? cf.functionName : mod;
  mods.set(m, (mods.get(m) ?? 0) + us);
}
const pct = (us) => ((100 * us) / total).toFixed(1).padStart(5) + '%';
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
console.log('\nself time by module');
for (const [m, us] of [...mods].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${m}`);
console.log('\nself time by function');
for (const [f, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${f}`);
