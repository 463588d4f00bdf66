/**
 * A refresh from PostgreSQL that runs one pass at a time (the rules source, the model source): a
 * call while a pass runs asks for one more pass after it, so a NOTIFY that arrives mid-read is
 * not lost, and every caller's promise settles with the pass that covers its call.
 */
export class CoalescedRefresh {
  private inflight: Promise<void> | null = null;
  private again = false;

  /** `pass` must not throw (each source logs its own failures); `stopped` ends the repeats. */
  constructor(
    private readonly pass: () => Promise<void>,
    private readonly stopped: () => boolean,
  ) {}

  run(): Promise<void> {
    if (this.inflight) {
      this.again = true;
      return this.inflight;
    }
    this.inflight = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.stopped());
    })().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** Settles when the pass in progress (if any) has ended; never rejects. */
  async settled(): Promise<void> {
    await this.inflight?.catch(() => undefined);
  }
}
