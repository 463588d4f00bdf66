/**
 * A small seedable PRNG (xoshiro128**, seeded through splitmix32) with the few distributions the
 * simulator needs. No dependency, identical results on every platform: only 32-bit integer
 * arithmetic (Math.imul) and IEEE doubles.
 *
 * Independent streams are derived from (seed, stream, index) by hashing, so that e.g. the richer
 * fields draw from their own stream and never shift the draws of the handbook columns.
 */

/** splitmix32 step: a good 32-bit mixer, used to seed and to derive streams. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A 32-bit seed for the stream named by `parts` (e.g. seed, stream id, customer id). */
export function deriveSeed(...parts: number[]): number {
  let h = 0x2545f491;
  for (const p of parts) {
    // Fold in both 32-bit halves so seeds above 2^32 still differ.
    const lo = p >>> 0;
    const hi = Math.floor(p / 4294967296) >>> 0;
    h = mix32(h ^ lo);
    h = mix32(h ^ hi);
  }
  return h;
}

const TWO_POW_32_INV = 1 / 4294967296;

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal = 0;
  private hasSpare = false;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      return mix32(x);
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A stream derived from several integers (see deriveSeed). */
  static derive(...parts: number[]): Rng {
    return new Rng(deriveSeed(...parts));
  }

  /** Next uniform 32-bit unsigned integer (xoshiro128**). */
  nextU32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    this.s1 = s1 ^ n2;
    this.s0 = s0 ^ n3;
    this.s2 = n2 ^ t;
    this.s3 = rotl(n3, 11);
    return r >>> 0;
  }

  /** Uniform in [0, 1). */
  random(): number {
    return this.nextU32() * TWO_POW_32_INV;
  }

  /** Uniform in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.random();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** Bernoulli(p). */
  chance(p: number): boolean {
    return this.random() < p;
  }

  /** Normal(mean, sd), Box-Muller (polar-free form), caching the second variate. */
  normal(mean: number, sd: number): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return mean + sd * this.spareNormal;
    }
    const u1 = 1 - this.random(); // (0, 1]
    const u2 = this.random();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spareNormal = r * Math.sin(theta);
    this.hasSpare = true;
    return mean + sd * r * Math.cos(theta);
  }

  /** Poisson(lambda): Knuth's product method for small lambda, PTRS (Hörmann 1993) above. */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda < 30) {
      const limit = Math.exp(-lambda);
      let k = 0;
      let p = this.random();
      while (p > limit) {
        k++;
        p *= this.random();
      }
      return k;
    }
    return this.poissonPtrs(lambda);
  }

  private poissonPtrs(lambda: number): number {
    const slam = Math.sqrt(lambda);
    const loglam = Math.log(lambda);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.random() - 0.5;
      const v = this.random();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - logFactorial(k)) {
        return k;
      }
    }
  }

  /** `k` distinct integers drawn uniformly from [0, n), in draw order (k ≤ n). */
  sampleDistinct(n: number, k: number): number[] {
    const out: number[] = [];
    if (k >= n) {
      for (let i = 0; i < n; i++) out.push(i);
      return out;
    }
    while (out.length < k) {
      const x = this.int(n);
      if (!out.includes(x)) out.push(x);
    }
    return out;
  }

  /** Lower-case hex string of `nChars` characters. */
  hex(nChars: number): string {
    let s = '';
    while (s.length < nChars) s += this.nextU32().toString(16).padStart(8, '0');
    return s.slice(0, nChars);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function logFactorial(k: number): number {
  if (k < 2) return 0;
  // Stirling series, accurate to ~1e-10 for k ≥ 10; exact sum below.
  if (k < 10) {
    let s = 0;
    for (let i = 2; i <= k; i++) s += Math.log(i);
    return s;
  }
  return (k + 0.5) * Math.log(k) - k + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * k) - 1 / (360 * k * k * k);
}
