/**
 * Merges the work that concurrent partition batches hand in during one turn of the event loop.
 *
 * kafkajs fetches again only once every partition batch of the previous fetch is handled, and
 * it hands them to `partitionsConsumedConcurrently` workers. Decided one partition at a time,
 * the batches of a fetch cost one Redis round trip, one model run and one produce *each*, in
 * rounds of that concurrency, and the next fetch waits for the last round. The workers' chunks
 * arrive within the same turn (decoding is synchronous once the schemas are cached), so they
 * are decided here as one batch of up to `maxItems`; larger sets are split, and at most
 * `concurrency` merged batches run at once (the rest wait in order).
 *
 * A part is never split: its submission resolves when the merged batch holding it is done, or
 * rejects with that batch's error (each partition then retries its own chunk).
 */
export class Coalescer<T> {
  private pending: { part: T; size: number; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(
    private readonly maxItems: number,
    private readonly concurrency: number,
    private readonly flush: (parts: T[]) => Promise<void>,
  ) {}

  /** Hands in a part of `size` items (events); resolves once it is decided and produced. */
  submit(part: T, size: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ part, size, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.takePending());
      }
    });
  }

  private takePending(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    let group: typeof all = [];
    let n = 0;
    for (const s of all) {
      if (group.length && n + s.size > this.maxItems) {
        this.enqueue(group);
        group = [];
        n = 0;
      }
      group.push(s);
      n += s.size;
    }
    if (group.length) this.enqueue(group);
  }

  private enqueue(group: typeof this.pending): void {
    const run = (): void => {
      this.running++;
      let done: Promise<void>;
      try {
        done = this.flush(group.map((s) => s.part));
      } catch (err) {
        done = Promise.reject(err);
      }
      done
        .then(
          () => group.forEach((s) => s.resolve()),
          (err: unknown) => group.forEach((s) => s.reject(err)),
        )
        .finally(() => {
          this.running--;
          this.queue.shift()?.();
        });
    };
    if (this.running < this.concurrency) run();
    else this.queue.push(run);
  }
}
