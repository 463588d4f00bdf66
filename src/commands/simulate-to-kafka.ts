/**
 * `fraud-engine simulate --to-kafka --rate R --duration S`: the load generator. Plays the
 * simulator's authorizations onto the `authorizations` topic at a fixed rate, stamped with
 * the send time as event_time (so end-to-end latency is measurable), and their fraud
 * labels onto `fraud-labels` after a delay. Bounded in count and time; stops by itself and
 * prints one JSON summary line on stdout.
 */
import { parseArgs } from 'node:util';
import type { Message } from 'kafkajs';
import { loadConfig } from '../config/config.js';
import { codecsFromConfig } from '../config/clients.js';
import type { LabelEvent } from '../events/types.js';
import { createKafka, IDEMPOTENT_PRODUCER } from '../kafka/client.js';
import { simulate } from '../simulator/index.js';

const HELP = `usage: fraud-engine simulate --to-kafka [--rate 1000] [--duration 60] [--count N] [--label-delay-s 20]
       [--customers 5000] [--terminals 10000] [--seed 0] [--run-id ID] [--bad-every 0] [--config FILE]
  --bad-every N   every Nth message is a malformed payload (for the dead-letter path)`;

const TICK_MS = 10;

export default async function simulateToKafka(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'to-kafka': { type: 'boolean' }, rate: { type: 'string' }, duration: { type: 'string' }, count: { type: 'string' },
      'label-delay-s': { type: 'string' }, customers: { type: 'string' }, terminals: { type: 'string' }, seed: { type: 'string' },
      'run-id': { type: 'string' }, 'bad-every': { type: 'string' }, config: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) { console.log(HELP); return 0; }
  const num = (name: string, v: string | undefined, d: number): number => {
    const n = v === undefined ? d : Number(v);
    if (Number.isNaN(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got '${v}'`);
    return n;
  };
  const rate = num('rate', values.rate, 1000);
  const durationS = num('duration', values.duration, 60);
  const maxCount = Math.min(num('count', values.count, Infinity), Math.ceil(rate * durationS));
  const labelDelayMs = num('label-delay-s', values['label-delay-s'], 20) * 1000;
  const badEvery = num('bad-every', values['bad-every'], 0);
  const runId = values['run-id'] ?? `load-${Date.now().toString(36)}`;
  if (rate <= 0) throw new Error('--rate must be positive');

  // Event times are the send times, so simulated days are compressed into seconds. Enough
  // customers that each pays about once during the run keeps velocity features near what
  // the model saw in training (the handbook's ~2 transactions per customer per day).
  const expected = Number.isFinite(maxCount) ? maxCount : rate * durationS;
  const customers = num('customers', values.customers, Math.max(5000, Math.ceil(expected / 2)));
  const perDay = Math.max(1, customers * 1.9);
  const seed = num('seed', values.seed, 0);
  const sim = simulate({
    customers, terminals: num('terminals', values.terminals, 10000), seed,
    days: Math.max(1, Math.ceil(expected / perDay) + 1),
  });
  // Ids carry the seed: runs with different seeds are different populations in the store.
  const ns = `s${seed}`;
  const total = Math.min(maxCount, sim.count);

  const cfg = loadConfig(values.config ?? 'config/default.yaml');
  const kafka = createKafka(cfg.kafka, undefined, '-loadgen');
  const codecs = await codecsFromConfig(cfg);
  const producer = kafka.producer(IDEMPOTENT_PRODUCER);
  await producer.connect();

  const pendingLabels: { due: number; label: LabelEvent }[] = [];
  let sent = 0, bad = 0, labelsSent = 0, i = 0;
  const started = Date.now();
  const deadline = started + durationS * 1000;
  try {
    while (sent + bad < total && Date.now() < deadline) {
      // Fixed-rate schedule: how many should be out by now.
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
      const messages: Message[] = [];
      while (sent + bad < due && i < sim.count) {
        const tx = sim.transaction(i++);
        const now = Date.now();
        const e = tx.event;
        const ev = {
          ...e, auth_id: `${runId}-${e.auth_id}`, event_time: now, customer_id: `${ns}-${e.customer_id}`,
          card_token: e.card_token.replace(/^tok_/, `tok_${ns}_`), terminal_id: `${ns}-${e.terminal_id}`,
          device_id: e.device_id === null ? null : `${ns}-${e.device_id}`,
        };
        if (badEvery > 0 && (sent + bad + 1) % badEvery === 0) {
          // A malformed payload: the right magic byte and schema id, then a truncated body.
          const good = await codecs.encodeAuthorization(ev);
          messages.push({ key: ev.card_token, value: good.subarray(0, Math.max(6, good.length >> 1)) });
          bad++;
          continue;
        }
        messages.push({ key: ev.card_token, value: await codecs.encodeAuthorization(ev) });
        sent++;
        if (tx.fraud) {
          pendingLabels.push({ due: now + labelDelayMs, label: {
            auth_id: ev.auth_id, card_token: ev.card_token, customer_id: ev.customer_id, terminal_id: ev.terminal_id,
            tx_time: ev.event_time, label_time: now + labelDelayMs, fraud: true, source: 'chargeback',
          } });
        }
      }
      const topicMessages = [{ topic: cfg.kafka.topic_authorizations, messages }];
      const now = Date.now();
      const ready: Message[] = [];
      while (pendingLabels.length && pendingLabels[0]!.due <= now) {
        const { label } = pendingLabels.shift()!;
        ready.push({ key: label.card_token, value: await codecs.encodeLabel({ ...label, label_time: now }) });
      }
      if (ready.length) topicMessages.push({ topic: cfg.kafka.topic_labels, messages: ready });
      if (messages.length || ready.length) await producer.sendBatch({ acks: -1, topicMessages });
      labelsSent += ready.length;
      const wait = TICK_MS - ((Date.now() - started) % TICK_MS);
      await new Promise((r) => setTimeout(r, wait));
    }
  } finally {
    await producer.disconnect();
  }
  const elapsed = (Date.now() - started) / 1000;
  console.log(JSON.stringify({
    run_id: runId, sent, malformed: bad, labels: labelsSent, labels_not_due: pendingLabels.length,
    seconds: Math.round(elapsed * 100) / 100, rate_eps: Math.round((sent + bad) / elapsed),
  }));
  return 0;
}
