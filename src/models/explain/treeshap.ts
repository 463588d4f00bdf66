/**
 * Exact per-feature contributions of tree ensembles: the path-dependent TreeSHAP algorithm of
 * Lundberg, Erion and Lee ("Consistent individualized feature attribution for tree ensembles",
 * 2018, Algorithm 2), polynomial time O(T·L·D²), written after LightGBM's own implementation
 * (tree.cpp: TreeSHAP, ExtendPath, UnwindPath, UnwoundPathSum) so that the values are LightGBM's
 * `pred_contrib`: a split's branch fractions are the training counts, and a row goes down the
 * branch LightGBM's NumericalDecision sends it (missing values included).
 *
 * All trees of all LightGBM parts are compiled into flat typed arrays once; `explain` then
 * allocates nothing (the path buffers are reused), so it can run on the hot path.
 */
import type { TreeArrays } from './trees-file.js';

const NONE = 0;
const ZERO = 1;
const NAN = 2;
export const MISSING_CODE = { none: NONE, zero: ZERO, nan: NAN } as const;
/** LightGBM's kZeroThreshold: 1e-35f, as a double. */
const ZERO_THRESHOLD = Math.fround(1e-35);

/**
 * LightGBM's NumericalDecision: whether `value` goes left at a split. NaN is 0 unless the
 * missing type is NaN; a missing value (NaN, or zero under the Zero type) takes the default branch.
 */
export function goesLeft(value: number, threshold: number, missing: number, defaultLeft: number): boolean {
  let v = value;
  if (v !== v && missing !== NAN) v = 0;
  if ((missing === ZERO && v >= -ZERO_THRESHOLD && v <= ZERO_THRESHOLD) || (missing === NAN && v !== v))
    return defaultLeft === 1;
  return v <= threshold;
}

/** The trees of one LightGBM and the weight of its raw score in the model's (a LightGbmPart fits). */
export interface WeightedTrees {
  weight: number;
  trees: readonly TreeArrays[];
}

export class TreeShap {
  // Internal nodes of every tree, numbered globally.
  private readonly feature: Int32Array;
  private readonly threshold: Float64Array;
  private readonly missing: Uint8Array;
  private readonly defaultLeft: Uint8Array;
  /** Global child references: >= 0 an internal node, < 0 the leaf ~ref. */
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  /** count(child) / count(node): the share of training rows down each branch. */
  private readonly leftFraction: Float64Array;
  private readonly rightFraction: Float64Array;
  // Leaves, numbered globally.
  private readonly leafValue: Float64Array;
  /** leafValue · the tree's part weight: what the contributions add up. */
  private readonly leafWeighted: Float64Array;
  // Trees.
  private readonly roots: Int32Array;
  private readonly treeGroup: Int32Array;
  /** Σ weight · expected value of each tree (the count-weighted mean leaf): the base value. */
  readonly expectedValue: number;
  readonly nFeatures: number;
  readonly nGroups: number;
  // The unique path of the recursion: one segment per depth, reused across rows.
  private readonly pFeature: Int32Array;
  private readonly pZero: Float64Array;
  private readonly pOne: Float64Array;
  private readonly pWeight: Float64Array;
  private phi: Float64Array = new Float64Array(0);
  private x: ArrayLike<number> = [];
  private xOff = 0;
  private scale = 1;

  /** groups: the trees of each part with its weight (a group = one LightGBM); nFeatures: the input width. */
  constructor(groups: readonly WeightedTrees[], nFeatures: number) {
    this.nFeatures = nFeatures;
    this.nGroups = groups.length;
    let nNodes = 0;
    let nLeaves = 0;
    let nTrees = 0;
    for (const g of groups)
      for (const t of g.trees) {
        nNodes += t.num_leaves - 1;
        nLeaves += t.num_leaves;
        nTrees++;
      }
    this.feature = new Int32Array(nNodes);
    this.threshold = new Float64Array(nNodes);
    this.missing = new Uint8Array(nNodes);
    this.defaultLeft = new Uint8Array(nNodes);
    this.left = new Int32Array(nNodes);
    this.right = new Int32Array(nNodes);
    this.leftFraction = new Float64Array(nNodes);
    this.rightFraction = new Float64Array(nNodes);
    this.leafValue = new Float64Array(nLeaves);
    this.leafWeighted = new Float64Array(nLeaves);
    this.roots = new Int32Array(nTrees);
    this.treeGroup = new Int32Array(nTrees);

    let node0 = 0;
    let leaf0 = 0;
    let ti = 0;
    let expected = 0;
    let maxDepth = 0;
    groups.forEach((g, gi) => {
      for (const t of g.trees) {
        const n = t.num_leaves - 1;
        const ref = (c: number): number => (c >= 0 ? node0 + c : ~(leaf0 + ~c));
        const count = (c: number): number => (c >= 0 ? t.internal_count[c]! : t.leaf_count[~c]!);
        for (let i = 0; i < n; i++) {
          const k = node0 + i;
          this.feature[k] = t.split_feature[i]!;
          this.threshold[k] = t.threshold[i]!;
          this.missing[k] = MISSING_CODE[t.missing[i]!];
          this.defaultLeft[k] = t.default_left[i] ? 1 : 0;
          this.left[k] = ref(t.left_child[i]!);
          this.right[k] = ref(t.right_child[i]!);
          this.leftFraction[k] = count(t.left_child[i]!) / t.internal_count[i]!;
          this.rightFraction[k] = count(t.right_child[i]!) / t.internal_count[i]!;
        }
        let e = 0;
        for (let j = 0; j < t.num_leaves; j++) {
          this.leafValue[leaf0 + j] = t.leaf_value[j]!;
          this.leafWeighted[leaf0 + j] = t.leaf_value[j]! * g.weight;
          if (n > 0) e += (t.leaf_count[j]! / t.internal_count[0]!) * t.leaf_value[j]!;
        }
        expected += g.weight * (n > 0 ? e : t.leaf_value[0]!);
        this.roots[ti] = n > 0 ? node0 : ~leaf0;
        this.treeGroup[ti] = gi;
        maxDepth = Math.max(maxDepth, depthOf(t));
        node0 += n;
        leaf0 += t.num_leaves;
        ti++;
      }
    });
    this.expectedValue = expected;
    // Segments of lengths 1, 2, ..., maxDepth + 2 (the root's extension has feature -1).
    const size = ((maxDepth + 2) * (maxDepth + 3)) / 2;
    this.pFeature = new Int32Array(size);
    this.pZero = new Float64Array(size);
    this.pOne = new Float64Array(size);
    this.pWeight = new Float64Array(size);
  }

  /** LightGBM's NumericalDecision: the child of internal node k that value v goes to. */
  private decide(k: number, value: number): number {
    return goesLeft(value, this.threshold[k]!, this.missing[k]!, this.defaultLeft[k]!) ? this.left[k]! : this.right[k]!;
  }

  /** Each group's raw score (Σ of its trees' leaf values, unweighted) for the row at x[off..]. */
  groupRawScores(x: ArrayLike<number>, off: number, out: Float64Array): Float64Array {
    out.fill(0, 0, this.nGroups);
    for (let t = 0; t < this.roots.length; t++) {
      let node = this.roots[t]!;
      while (node >= 0) node = this.decide(node, x[off + this.feature[node]!]!);
      const g = this.treeGroup[t]!;
      out[g] = out[g]! + this.leafValue[~node]!;
    }
    return out;
  }

  /**
   * Adds each feature's contribution (weighted by its group's weight) for the row at x[off..]
   * into phi[0..nFeatures); the base value is `expectedValue`. Σ phi + expectedValue = Σ weight ·
   * group raw score.
   */
  explain(x: ArrayLike<number>, off: number, phi: Float64Array): void {
    this.phi = phi;
    this.x = x;
    this.xOff = off;
    for (let t = 0; t < this.roots.length; t++) {
      const root = this.roots[t]!;
      if (root < 0) continue; // a single leaf: all of it is in the base value
      this.recurse(root, 0, 0, 1, 1, -1);
    }
    this.x = [];
  }

  private recurse(
    node: number,
    parentBase: number,
    depthIn: number,
    parentZero: number,
    parentOne: number,
    parentFeature: number,
  ): void {
    const pFeature = this.pFeature;
    const pZero = this.pZero;
    const pOne = this.pOne;
    const pWeight = this.pWeight;
    let depth = depthIn;
    const base = parentBase + depth;
    for (let i = 0; i < depth; i++) {
      pFeature[base + i] = pFeature[parentBase + i]!;
      pZero[base + i] = pZero[parentBase + i]!;
      pOne[base + i] = pOne[parentBase + i]!;
      pWeight[base + i] = pWeight[parentBase + i]!;
    }
    this.extend(base, depth, parentZero, parentOne, parentFeature);

    if (node < 0) {
      const v = this.leafWeighted[~node]!;
      for (let i = 1; i <= depth; i++) {
        const w = this.unwoundSum(base, depth, i);
        const j = pFeature[base + i]!;
        this.phi[j] = this.phi[j]! + w * (pOne[base + i]! - pZero[base + i]!) * v;
      }
      return;
    }

    const f = this.feature[node]!;
    const hot = this.decide(node, this.x[this.xOff + f]!);
    const hotIsLeft = hot === this.left[node];
    const cold = hotIsLeft ? this.right[node]! : this.left[node]!;
    const hotZero = hotIsLeft ? this.leftFraction[node]! : this.rightFraction[node]!;
    const coldZero = hotIsLeft ? this.rightFraction[node]! : this.leftFraction[node]!;
    let inZero = 1;
    let inOne = 1;
    // A feature already split on above: undo that split, to redo it here with both fractions.
    let k = 0;
    for (; k <= depth; k++) if (pFeature[base + k] === f) break;
    if (k !== depth + 1) {
      inZero = pZero[base + k]!;
      inOne = pOne[base + k]!;
      this.unwind(base, depth, k);
      depth -= 1;
    }
    this.recurse(hot, base, depth + 1, hotZero * inZero, inOne, f);
    this.recurse(cold, base, depth + 1, coldZero * inZero, 0, f);
  }

  private extend(base: number, depth: number, zero: number, one: number, feature: number): void {
    const pWeight = this.pWeight;
    this.pFeature[base + depth] = feature;
    this.pZero[base + depth] = zero;
    this.pOne[base + depth] = one;
    pWeight[base + depth] = depth === 0 ? 1 : 0;
    for (let i = depth - 1; i >= 0; i--) {
      pWeight[base + i + 1]! += (one * pWeight[base + i]! * (i + 1)) / (depth + 1);
      pWeight[base + i] = (zero * pWeight[base + i]! * (depth - i)) / (depth + 1);
    }
  }

  private unwind(base: number, depth: number, index: number): void {
    const pWeight = this.pWeight;
    const one = this.pOne[base + index]!;
    const zero = this.pZero[base + index]!;
    let next = pWeight[base + depth]!;
    for (let i = depth - 1; i >= 0; i--) {
      if (one !== 0) {
        const tmp = pWeight[base + i]!;
        pWeight[base + i] = (next * (depth + 1)) / ((i + 1) * one);
        next = tmp - (pWeight[base + i]! * zero * (depth - i)) / (depth + 1);
      } else {
        pWeight[base + i] = (pWeight[base + i]! * (depth + 1)) / (zero * (depth - i));
      }
    }
    for (let i = index; i < depth; i++) {
      this.pFeature[base + i] = this.pFeature[base + i + 1]!;
      this.pZero[base + i] = this.pZero[base + i + 1]!;
      this.pOne[base + i] = this.pOne[base + i + 1]!;
    }
  }

  /** The total permutation weight of the path with element `index` unwound, without changing it. */
  private unwoundSum(base: number, depth: number, index: number): number {
    const pWeight = this.pWeight;
    const one = this.pOne[base + index]!;
    const zero = this.pZero[base + index]!;
    let next = pWeight[base + depth]!;
    let total = 0;
    if (one !== 0) {
      for (let i = depth - 1; i >= 0; i--) {
        const tmp = next / ((i + 1) * one);
        total += tmp;
        next = pWeight[base + i]! - tmp * zero * (depth - i);
      }
    } else {
      for (let i = depth - 1; i >= 0; i--) total += pWeight[base + i]! / (zero * (depth - i));
    }
    return total * (depth + 1);
  }
}

/** The number of splits on the longest root-to-leaf path. */
function depthOf(t: TreeArrays): number {
  if (t.num_leaves <= 1) return 0;
  let max = 0;
  const stack: [number, number][] = [[0, 1]];
  while (stack.length) {
    const [node, d] = stack.pop()!;
    max = Math.max(max, d);
    for (const c of [t.left_child[node]!, t.right_child[node]!]) if (c >= 0) stack.push([c, d + 1]);
  }
  return max;
}
