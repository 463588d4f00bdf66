/**
 * The load generator (`simulate --to-kafka`): the simulator's authorizations played onto the
 * authorizations topic at a fixed rate, stamped with the send time as event_time (so end-to-end
 * latency is measurable), and their fraud labels onto the labels topic after a delay. Bounded in
 * count and time. `startLoadGenerator` runs it as a separate process, as the bench and the demo do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Kafka, Message } from 'kafkajs';
import { BIN, ROOT } from '../cli/child-engine.js';
import type { AvroCodecs } from '../events/codec.js';
import type { LabelEvent } from '../events/types.js';
import { IDEMPOTENT_PRODUCER } from '../kafka/client.js';
import { simulate } from '../simulator/index.js';
import { cpuSeconds } from './proc-cpu.js';

const TICK_MS = 10;
/** At most this many authorizations per send: a generator that fell behind (a busy machine) catches up in requests under the broker's 1 MB limit. */
const MAX_PER_SEND = 2000;

export interface LoadOptions {
  rate: number;
  durationS: number;
  /** At most this many events (Infinity: rate × duration). */
  maxCount: number;
  labelDelayMs: number;
  /** Every Nth message is a malformed payload (0: none), for the dead-letter path. */
  badEvery: number;
  /** Prefix of the auth ids. */
  runId: string;
  /** Default: enough that each pays about once during the run. */
  customers?: number;
  terminals: number;
  seed: number;
}

/** The one JSON line the load generator prints. */
export interface LoadSummary {
  run_id: string;
  sent: number;
  malformed: number;
  labels: number;
  labels_not_due: number;
  seconds: number;
  rate_eps: number;
  /** Its own CPU seconds (/proc) while sending: from the first event to the producer's disconnect. */
  cpu_seconds: number | null;
}

export async function generateLoad(
  kafka: Kafka,
  codecs: AvroCodecs,
  topics: { authorizations: string; labels: string },
  o: LoadOptions,
): Promise<LoadSummary> {
  const maxCount = Math.min(o.maxCount, Math.ceil(o.rate * o.durationS));
  // Event times are the send times, so simulated days are compressed into seconds. Enough
  // customers that each pays about once during the run keeps velocity features near what
  // the model saw in training (the handbook's ~2 transactions per customer per day).
  const expected = Number.isFinite(maxCount) ? maxCount : o.rate * o.durationS;
  const customers = o.customers ?? Math.max(5000, Math.ceil(expected / 2));
  const sim = simulate({
    customers,
    terminals: o.terminals,
    seed: o.seed,
    days: Math.max(1, Math.ceil(expected / Math.max(1, customers * 1.9)) + 1),
  });
  // Ids carry the seed: runs with different seeds are different populations in the store.
  const ns = `s${o.seed}`;
  const total = Math.min(maxCount, sim.count);
  const producer = kafka.producer(IDEMPOTENT_PRODUCER);
  await producer.connect();

  const pendingLabels: { due: number; label: LabelEvent }[] = [];
  let sent = 0,
    bad = 0,
    labelsSent = 0,
    i = 0;
  const started = Date.now();
  const cpuAtStart = cpuSeconds(process.pid);
  const deadline = started + o.durationS * 1000;
  try {
    while (sent + bad < total && Date.now() < deadline) {
      // Fixed-rate schedule: how many should be out by now.
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * o.rate) + 1);
      const messages: Message[] = [];
      while (sent + bad < due && i < sim.count && messages.length < MAX_PER_SEND) {
        const tx = sim.transaction(i++);
        const now = Date.now();
        const e = tx.event;
        const ev = {
          ...e,
          auth_id: `${o.runId}-${e.auth_id}`,
          event_time: now,
          customer_id: `${ns}-${e.customer_id}`,
          card_token: e.card_token.replace(/^tok_/, `tok_${ns}_`),
          terminal_id: `${ns}-${e.terminal_id}`,
          device_id: e.device_id === null ? null : `${ns}-${e.device_id}`,
        };
        if (o.badEvery > 0 && (sent + bad + 1) % o.badEvery === 0) {
          // A malformed payload: the right magic byte and schema id, then a truncated body.
          const good = await codecs.encodeAuthorization(ev);
          messages.push({ key: ev.card_token, value: good.subarray(0, Math.max(6, good.length >> 1)) });
          bad++;
          continue;
        }
        messages.push({ key: ev.card_token, value: await codecs.encodeAuthorization(ev) });
        sent++;
        if (tx.fraud) {
          pendingLabels.push({
            due: now + o.labelDelayMs,
            label: {
              auth_id: ev.auth_id,
              card_token: ev.card_token,
              customer_id: ev.customer_id,
              terminal_id: ev.terminal_id,
              tx_time: ev.event_time,
              label_time: now + o.labelDelayMs,
              fraud: true,
              source: 'chargeback',
            },
          });
        }
      }
      const topicMessages = [{ topic: topics.authorizations, messages }];
      const now = Date.now();
      const ready: Message[] = [];
      while (pendingLabels.length && pendingLabels[0]!.due <= now) {
        const { label } = pendingLabels.shift()!;
        ready.push({ key: label.card_token, value: await codecs.encodeLabel({ ...label, label_time: now }) });
      }
      if (ready.length) topicMessages.push({ topic: topics.labels, messages: ready });
      if (messages.length || ready.length) await producer.sendBatch({ acks: -1, topicMessages });
      labelsSent += ready.length;
      await new Promise((r) => setTimeout(r, TICK_MS - ((Date.now() - started) % TICK_MS)));
    }
  } finally {
    await producer.disconnect();
  }
  const elapsed = (Date.now() - started) / 1000;
  const cpuAtEnd = cpuSeconds(process.pid);
  return {
    run_id: o.runId,
    sent,
    malformed: bad,
    labels: labelsSent,
    labels_not_due: pendingLabels.length,
    seconds: Math.round(elapsed * 100) / 100,
    rate_eps: Math.round((sent + bad) / elapsed),
    cpu_seconds: cpuAtStart === null || cpuAtEnd === null ? null : Math.round((cpuAtEnd - cpuAtStart) * 1000) / 1000,
  };
}

/** The arguments of `simulate --to-kafka` for a load of `rate` events/s for `duration` s. */
export function loadArgs(o: {
  rate: number;
  duration: number;
  runId: string;
  badEvery?: number;
  seed: number;
}): string[] {
  const bad = o.badEvery === undefined ? [] : ['--bad-every', String(o.badEvery)];
  return [
    '--rate',
    String(o.rate),
    '--duration',
    String(o.duration),
    '--run-id',
    o.runId,
    ...bad,
    '--seed',
    String(o.seed),
  ];
}

/**
 * Starts `fraud-engine simulate --to-kafka [args]` as a separate process (its own CPU, like a
 * gateway) with `env`; `summary` resolves once it exits (a non-zero exit is an error).
 */
export function startLoadGenerator(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { process: ChildProcess; summary: Promise<LoadSummary> } {
  const load = spawn(process.execPath, [BIN, 'simulate', '--to-kafka', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
  });
  let out = '';
  load.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const summary = new Promise<LoadSummary>((resolve, reject) =>
    load.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as LoadSummary);
      else reject(new Error(`load generator exited with code ${code ?? 1}`));
    }),
  );
  return { process: load, summary };
}
