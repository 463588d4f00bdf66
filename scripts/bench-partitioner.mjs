#!/usr/bin/env node
// CPU per message of the decision producer's partitioner: kafkajs's DefaultPartitioner against
// the engine's NotingPartitioner (src/kafka/complete-send.ts) of each build given, interleaved.
// usage: node scripts/bench-partitioner.mjs [NAME=CHECKOUT ...]   (default: this checkout)
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import kafkajs from 'kafkajs';

const builds = [['kafkajs', () => kafkajs.Partitioners.DefaultPartitioner]];
for (const arg of process.argv.slice(2).length ? process.argv.slice(2) : ['noting=.']) {
  const [name, root] = arg.split('=');
  const { NotingPartitioner } = await import(resolve(root, 'dist/kafka/complete-send.js'));
  builds.push([name, () => NotingPartitioner]);
}
const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({
  partitionErrorCode: 0,
  partitionId,
  leader: 1,
  replicas: [1],
  isr: [1],
}));
const messages = Array.from({ length: 200_000 }, (_, i) => ({ key: `tok_${(i * 7919) % 100_000}`, value: 'x' }));
const out = Object.fromEntries(builds.map(([name]) => [name, []]));
for (let round = 0; round < 4; round++)
  for (const [name, make] of round % 2 ? [...builds].reverse() : builds) {
    const partition = make()();
    const t = process.cpuUsage();
    let sum = 0;
    for (const message of messages) sum += partition({ topic: 't', partitionMetadata, message });
    const u = process.cpuUsage(t);
    if (sum < 0) throw new Error('unreachable');
    out[name].push(Math.round(((u.user + u.system) / messages.length) * 1000) / 1000);
  }
console.log(JSON.stringify({ messages: messages.length, us_per_message: out, loadavg: loadavg()[0].toFixed(1) }));
