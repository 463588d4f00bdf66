/**
 * The demo's view of the engine, as the payment gateway sees it: decisions and dead letters read
 * by a separate consumer, tallied (outcomes, rule hits, degraded, end-to-end latency from the
 * event's event_time to the decision being read), with a live line and a final summary.
 */
import type { KafkaMessage } from 'kafkajs';
import type { AvroCodecs } from '../events/codec.js';
import { percentileNearestRank } from '../observability/percentiles.js';
import { round } from './engine-counters.js';
import type { LoadSummary } from './load-generator.js';

export class GatewayView {
  readonly outcomes: Record<string, number> = { APPROVE: 0, REVIEW: 0, DECLINE: 0 };
  decisions = 0;
  dlq = 0;
  degraded = 0;
  private readonly latencies: number[] = [];
  private window: number[] = [];
  private readonly rules = new Map<string, number>();
  private readonly started = Date.now();
  private last = this.started;
  private lastCount = 0;

  /** Counts the decisions whose auth id starts with `prefix` (others are someone else's traffic). */
  constructor(
    private readonly codecs: AvroCodecs,
    private readonly dlqTopic: string,
    private readonly prefix: string,
  ) {}

  async onMessage(topic: string, message: KafkaMessage): Promise<void> {
    if (topic === this.dlqTopic) {
      if (message.key && message.headers?.['dlq.reason']) this.dlq++;
      return;
    }
    const d = await this.codecs.decodeDecision(message.value);
    if (!d.auth_id.startsWith(this.prefix)) return;
    const ms = Date.now() - d.event_time;
    this.latencies.push(ms);
    this.window.push(ms);
    this.decisions++;
    if (d.degraded.length) this.degraded++;
    this.outcomes[d.outcome] = (this.outcomes[d.outcome] ?? 0) + 1;
    for (const h of d.rule_hits) this.rules.set(h.rule_id, (this.rules.get(h.rule_id) ?? 0) + 1);
  }

  /** The live line since the previous one. */
  tick(): string {
    const now = Date.now();
    const eps = ((this.decisions - this.lastCount) * 1000) / (now - this.last);
    const w = this.window.sort((a, b) => a - b);
    const top = [...this.rules.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    this.window = [];
    this.last = now;
    this.lastCount = this.decisions;
    return (
      `t=${Math.round((now - this.started) / 1000)}s decided=${this.decisions} ${Math.round(eps)} ev/s p50=${round(percentileNearestRank(w, 50))}ms p99=${round(percentileNearestRank(w, 99))}ms ` +
      `approve=${this.outcomes.APPROVE} review=${this.outcomes.REVIEW} decline=${this.outcomes.DECLINE} dlq=${this.dlq} degraded=${this.degraded} top rules: ${top || '-'}`
    );
  }

  /** Every sent event decided and every malformed one dead-lettered. */
  complete(load: LoadSummary): boolean {
    return this.decisions >= load.sent && this.dlq >= load.malformed;
  }

  exact(load: LoadSummary): boolean {
    return this.decisions === load.sent && this.dlq === load.malformed;
  }

  summary(load: LoadSummary) {
    const sorted = this.latencies.sort((a, b) => a - b);
    return {
      events: load.sent + load.malformed,
      decisions: this.decisions,
      dlq: this.dlq,
      degraded: this.degraded,
      rate_eps: Math.round((load.sent + load.malformed) / load.seconds),
      p50_ms: round(percentileNearestRank(sorted, 50)),
      p99_ms: round(percentileNearestRank(sorted, 99)),
      outcomes: this.outcomes,
    };
  }
}
