/**
 * What to do when a kafkajs consumer crashes for good.
 *
 * kafkajs restarts a consumer by itself after a retriable failure. After a non-retriable one
 * (`restart: false` in the CRASH event) it leaves the consumer stopped, and the process would
 * idle without consuming. Some of those are transient all the same: while a broker restarts,
 * "Failed to find group coordinator" comes out as non-retriable. So the consumer is run again
 * here, after 1 s, 2 s, 4 s…; the uncommitted batches are delivered again, as after any
 * crash. More than `maxRestarts` crashes within `windowMs` is not transient (a bug on one
 * message, a producer whose idempotence state is broken): `onFatal`, and the process exits
 * for its supervisor to start a fresh one.
 */
import type { Consumer } from 'kafkajs';
import type { Logger } from 'pino';

export interface ConsumerSupervisorOptions {
  /** For the logs: which consumer. */
  name: string;
  log: Logger;
  /** Runs the consumer again (subscribe if needed, then consumer.run). */
  run: () => Promise<void>;
  onFatal: (err: Error) => void;
  maxRestarts?: number;
  windowMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface ConsumerSupervisor {
  /** Crashes for good seen so far (restarted or not). */
  readonly crashes: number;
  /** No more restarts (the engine is stopping). */
  stop(): void;
}

export function superviseConsumer(consumer: Consumer, o: ConsumerSupervisorOptions): ConsumerSupervisor {
  const maxRestarts = o.maxRestarts ?? 3;
  const windowMs = o.windowMs ?? 300_000;
  const base = o.baseDelayMs ?? 1_000;
  const cap = o.maxDelayMs ?? 30_000;
  const recent: number[] = [];
  let stopped = false;
  let fatal = false;
  let timer: NodeJS.Timeout | null = null;
  let crashes = 0;

  const restart = (attempt: number) => {
    timer = null;
    if (stopped) return;
    o.run().then(
      () => o.log.info({ consumer: o.name, attempt }, 'consumer running again'),
      (err: Error) => {
        // Could not even start (broker still away): try again later, counted like a crash.
        o.log.warn({ consumer: o.name, err }, 'consumer restart failed');
        onCrash(err);
      },
    );
  };

  const onCrash = (err: Error) => {
    if (stopped || fatal) return;
    crashes++;
    const now = Date.now();
    recent.push(now);
    while (recent.length && recent[0]! < now - windowMs) recent.shift();
    if (recent.length > maxRestarts) {
      fatal = true;
      o.log.error(
        { consumer: o.name, err, crashes: recent.length, window_ms: windowMs },
        'consumer keeps crashing: giving up',
      );
      o.onFatal(err);
      return;
    }
    const delay = Math.min(cap, base * 2 ** (recent.length - 1));
    o.log.warn({ consumer: o.name, err, delay_ms: delay }, 'consumer crashed for good: running it again');
    if (!timer) timer = setTimeout(() => restart(recent.length), delay);
  };

  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) onCrash(e.payload.error);
  });

  return {
    get crashes() {
      return crashes;
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
