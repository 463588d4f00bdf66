/**
 * Drift of live decisions against the training window: a 1-in-N sample of the decided vectors
 * and scores counted into the reference's bins (one binary search per column, no allocation),
 * per minute, over a sliding window of minutes; on a timer, the PSI of the window per feature and
 * of the score is set on the gauges. The decision path only increments counters; the logarithms
 * run once a minute, off it.
 */
import type { DriftMetrics } from '../../observability/metrics.js';
import { binOf, psiOfCounts } from './psi.js';
import type { Binning, DriftReference } from './reference.js';

/** Bin counters of the score and of every feature, for one span of decisions. */
export class DriftCounts {
  /** counts[0]: the score; counts[1 + j]: feature j. */
  readonly counts: Uint32Array[];
  samples = 0;
  private readonly columns: Binning[];

  constructor(readonly reference: DriftReference) {
    this.columns = [reference.score, ...reference.features];
    this.counts = this.columns.map((c) => new Uint32Array(c.expected.length));
  }

  /** One decision: its served vector (in the reference's feature order) and its score (null: none). */
  add(vector: ArrayLike<number | null>, score: number | null): void {
    const cols = this.columns;
    this.counts[0]![binOf(cols[0]!.edges, score)]!++;
    for (let j = 1; j < cols.length; j++) this.counts[j]![binOf(cols[j]!.edges, vector[j - 1])]!++;
    this.samples++;
  }

  /**
   * add() of row `row` of the model's input matrix (toFloat32Rows: the vector as float32, NaN for
   * missing), which bins exactly as the vector does (binOf compares float32 values), read from a
   * typed array instead of a vector of boxed numbers.
   */
  addRow(rows: Float32Array, row: number, score: number | null): void {
    const cols = this.columns;
    const base = row * (cols.length - 1) - 1;
    this.counts[0]![binOf(cols[0]!.edges, score)]!++;
    for (let j = 1; j < cols.length; j++) this.counts[j]![binOf(cols[j]!.edges, rows[base + j])]!++;
    this.samples++;
  }

  addCounts(other: DriftCounts): void {
    for (let c = 0; c < this.counts.length; c++) {
      const to = this.counts[c]!;
      const from = other.counts[c]!;
      for (let b = 0; b < to.length; b++) to[b]! += from[b]!;
    }
    this.samples += other.samples;
  }

  clear(): void {
    for (const c of this.counts) c.fill(0);
    this.samples = 0;
  }

  /** The PSI of the score and of each feature against the reference; null PSIs without samples. */
  report(): DriftReport {
    const eps = this.reference.epsilon;
    const psiOf = (c: number): number | null => psiOfCounts(this.columns[c]!.expected, this.counts[c]!, eps);
    return {
      model_version: this.reference.modelVersion,
      reference_window: this.reference.window,
      samples: this.samples,
      score_psi: psiOf(0),
      feature_psi: Object.fromEntries(this.reference.features.map((f, j) => [f.name, psiOf(j + 1)])),
    };
  }
}

export interface DriftReport {
  model_version: string;
  reference_window: { from: string; to: string };
  samples: number;
  score_psi: number | null;
  feature_psi: Record<string, number | null>;
}

export interface DriftMonitorOptions {
  reference: DriftReference;
  gauges: DriftMetrics;
  /** One decision in this many is counted (default 10). */
  sampleEvery?: number;
  /** The PSI covers the last this many minutes (default 60). */
  windowMinutes?: number;
  /** No PSI is published on fewer sampled decisions in the window (default 500): too noisy. */
  minSamples?: number;
  /** Between two computations (default one minute). */
  intervalMs?: number;
}

export class DriftMonitor {
  private readonly slots: DriftCounts[];
  private current = 0;
  /** Decisions to skip before the next sampled one. */
  private skip = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly sampleEvery: number;
  private readonly minSamples: number;

  constructor(private readonly o: DriftMonitorOptions) {
    this.sampleEvery = Math.max(1, Math.floor(o.sampleEvery ?? 10));
    this.minSamples = o.minSamples ?? 500;
    this.slots = Array.from({ length: Math.max(1, o.windowMinutes ?? 60) }, () => new DriftCounts(o.reference));
  }

  /** A decided batch: vectors in the reference's feature order, scores by row. Counts every sampleEvery-th decision. */
  observe(vectors: readonly ArrayLike<number | null>[], scores: ArrayLike<number>): void {
    const slot = this.slots[this.current]!;
    let i = this.skip;
    for (; i < vectors.length; i += this.sampleEvery) slot.add(vectors[i]!, scores[i]!);
    this.skip = i - vectors.length;
  }

  /**
   * Computes the window's PSIs and sets the gauges (when there are at least minSamples), then
   * starts a new minute, the oldest one leaving the window. Returns what was computed.
   */
  tick(): DriftReport {
    const sum = new DriftCounts(this.o.reference);
    for (const s of this.slots) sum.addCounts(s);
    const report = sum.report();
    const g = this.o.gauges;
    g.driftSamples.set(report.samples);
    if (report.samples >= this.minSamples) {
      if (report.score_psi !== null) g.scorePsi.set(report.score_psi);
      for (const [feature, value] of Object.entries(report.feature_psi))
        if (value !== null) g.featurePsi.set({ feature }, value);
    }
    this.current = (this.current + 1) % this.slots.length;
    this.slots[this.current]!.clear();
    return report;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.o.intervalMs ?? 60_000);
    this.timer.unref(); // never what keeps the process alive
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
