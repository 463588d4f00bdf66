/**
 * The same contributions as ./treeshap.ts (path-dependent TreeSHAP, LightGBM's pred_contrib),
 * computed from tables built once per model: Fast TreeSHAP v2 (Yang, "Fast TreeSHAP: Accelerating
 * SHAP Value Computation for Trees", 2021). Lundberg's algorithm costs O(L·D²) per tree and row
 * (about 1 ms a row for the shipped 100 trees of 31 leaves, up to 20 deep); with the tables a
 * row costs O(L·D).
 *
 * Why it is exact. Take a leaf with value v whose path splits on the distinct features F
 * (d = |F|); z_j is the product of the training-count fractions of the path's splits on j, and
 * S ⊆ F the features on which the row satisfies every split of the path. The leaf adds to
 * TreeSHAP's game v·Π_{j∈T∩F} 1[j∈S]·Π_{j∈F\T} z_j, whose Shapley values are, with
 * N = F \ S, w(k) = k!(d−k−1)!/d! and R(A) = Σ_{T⊆A} w(|T|)·Π_{j∈A\T} z_j:
 *
 *   feature i ∈ S:  v·(1 − z_i)·Π_{j∈N} z_j·R(S \ {i})
 *   feature i ∈ N:  −v·Π_{j∈N} z_j·R(S)           (the same for every i in N)
 *
 * R and Π_{j∈N} z_j depend on the row only through S, so both are tabulated for every subset of
 * F (2^d numbers each a leaf; 466k for the shipped model, 7.5 MB). The row's S at every leaf
 * comes from one pass over the nodes (a mask passed down, a bit cleared where the row goes the
 * other way). A model whose tables would pass `maxEntries` is refused here; the explainer then
 * uses ./treeshap.ts.
 */
import type { WeightedTrees } from './treeshap.js';
import { goesLeft, MISSING_CODE } from './treeshap.js';

/** Past this many table entries (8 bytes each) the model is explained by ./treeshap.ts instead. */
export const MAX_TABLE_ENTRIES = 1 << 23;

export class PathTables {
  // Internal nodes, numbered globally in LightGBM's order (a child after its parent).
  private readonly threshold: Float64Array;
  private readonly feature: Int32Array;
  private readonly missing: Uint8Array;
  private readonly defaultLeft: Uint8Array;
  /** The bit of the node's feature in the masks of the leaves below it. */
  private readonly bit: Int32Array;
  /** Global child references: >= 0 an internal node, < 0 the leaf ~ref. */
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly isRoot: Uint8Array;
  /** Per row: the mask reaching each node and each leaf (bit j set: the row satisfies every split on feature j so far). */
  private readonly nodeMask: Int32Array;
  private readonly leafMask: Int32Array;
  // Leaves of trees with at least one split, numbered globally.
  private readonly leafValue: Float64Array; // weighted by its tree's group
  private readonly leafD: Uint8Array;
  private readonly elemStart: Int32Array; // per leaf: its distinct features in elemFeature / elemZero
  private readonly elemFeature: Int32Array;
  private readonly elemZero: Float64Array;
  private readonly tableStart: Float64Array;
  /**
   * Per leaf and subset A: R(A) at 2·(start + A), Π_{j∉A} z_j at 2·(start + A) + 1 (side by
   * side: the row reads both of one subset, one cache line).
   */
  private readonly table: Float64Array;

  /** Null when the tables would be larger than maxEntries. */
  static build(groups: readonly WeightedTrees[], maxEntries = MAX_TABLE_ENTRIES): PathTables | null {
    let entries = 0;
    for (const g of groups)
      for (const t of g.trees) for (const leaf of leafPaths(t)) entries += 2 ** leaf.features.length;
    return entries <= maxEntries ? new PathTables(groups, entries) : null;
  }

  private constructor(groups: readonly WeightedTrees[], entries: number) {
    let nNodes = 0;
    let nLeaves = 0;
    for (const g of groups)
      for (const t of g.trees)
        if (t.num_leaves > 1) {
          nNodes += t.num_leaves - 1;
          nLeaves += t.num_leaves;
        }
    this.threshold = new Float64Array(nNodes);
    this.feature = new Int32Array(nNodes);
    this.missing = new Uint8Array(nNodes);
    this.defaultLeft = new Uint8Array(nNodes);
    this.bit = new Int32Array(nNodes);
    this.left = new Int32Array(nNodes);
    this.right = new Int32Array(nNodes);
    this.isRoot = new Uint8Array(nNodes);
    this.nodeMask = new Int32Array(nNodes);
    this.leafMask = new Int32Array(nLeaves);
    this.leafValue = new Float64Array(nLeaves);
    this.leafD = new Uint8Array(nLeaves);
    this.elemStart = new Int32Array(nLeaves + 1);
    this.tableStart = new Float64Array(nLeaves + 1);
    this.table = new Float64Array(2 * entries);
    const elemFeature: number[] = [];
    const elemZero: number[] = [];
    let node0 = 0;
    let leaf0 = 0;
    let at = 0;
    for (const g of groups)
      for (const t of g.trees) {
        if (t.num_leaves <= 1) continue; // all base value
        const ref = (c: number): number => (c >= 0 ? node0 + c : ~(leaf0 + ~c));
        for (let i = 0; i < t.num_leaves - 1; i++) {
          const k = node0 + i;
          this.threshold[k] = t.threshold[i]!;
          this.feature[k] = t.split_feature[i]!;
          this.missing[k] = MISSING_CODE[t.missing[i]!];
          this.defaultLeft[k] = t.default_left[i] ? 1 : 0;
          this.left[k] = ref(t.left_child[i]!);
          this.right[k] = ref(t.right_child[i]!);
        }
        this.isRoot[node0] = 1;
        for (const leaf of leafPaths(t)) {
          const l = leaf0 + leaf.index;
          for (const [node, , elem] of leaf.steps) this.bit[node0 + node] = 1 << elem;
          this.leafValue[l] = leaf.value * g.weight;
          this.leafD[l] = leaf.features.length;
        }
        // Leaves in index order for the element and table offsets.
        const paths = leafPaths(t).sort((a, b) => a.index - b.index);
        for (const leaf of paths) {
          const l = leaf0 + leaf.index;
          this.elemStart[l] = elemFeature.length;
          this.tableStart[l] = at;
          elemFeature.push(...leaf.features);
          elemZero.push(...leaf.zeros);
          fillTables(leaf.zeros, this.table, at);
          at += 2 ** leaf.features.length;
        }
        node0 += t.num_leaves - 1;
        leaf0 += t.num_leaves;
      }
    this.elemStart[nLeaves] = elemFeature.length;
    this.tableStart[nLeaves] = at;
    this.elemFeature = Int32Array.from(elemFeature);
    this.elemZero = Float64Array.from(elemZero);
  }

  /** Adds each feature's weighted contribution for the row at x[off..] into phi (as TreeShap.explain). */
  explain(x: ArrayLike<number>, off: number, phi: Float64Array): void {
    const { threshold, feature, missing, defaultLeft, bit, left, right, isRoot, nodeMask, leafMask } = this;
    // Masks down every tree at once: a child comes after its parent in the numbering.
    for (let k = 0; k < nodeMask.length; k++) {
      const m = isRoot[k] ? -1 : nodeMask[k]!;
      const went = goesLeft(x[off + feature[k]!]!, threshold[k]!, missing[k]!, defaultLeft[k]!);
      const lm = went ? m : m & ~bit[k]!;
      const rm = went ? m & ~bit[k]! : m;
      const l = left[k]!;
      const r = right[k]!;
      if (l >= 0) nodeMask[l] = lm;
      else leafMask[~l] = lm;
      if (r >= 0) nodeMask[r] = rm;
      else leafMask[~r] = rm;
    }
    const { leafValue, leafD, elemStart, elemFeature, elemZero, tableStart, table } = this;
    for (let l = 0; l < leafValue.length; l++) {
      const d = leafD[l]!;
      const full = (1 << d) - 1;
      const mask = leafMask[l]! & full;
      const t0 = tableStart[l]!;
      const at = 2 * (t0 + mask);
      const v = leafValue[l]! * table[at + 1]!;
      const out = mask === full ? 0 : -v * table[at]!;
      const e0 = elemStart[l]!;
      for (let j = 0; j < d; j++) {
        const f = elemFeature[e0 + j]!;
        const b = 1 << j;
        phi[f] = phi[f]! + (mask & b ? v * (1 - elemZero[e0 + j]!) * table[2 * (t0 + (mask ^ b))]! : out);
      }
    }
  }
}

interface LeafPath {
  /** The leaf's index in its tree. */
  index: number;
  value: number;
  /** The distinct features split on along the path, in order of first split. */
  features: number[];
  /** Per distinct feature: the product of count(child) / count(node) over the path's splits on it. */
  zeros: number[];
  /** The path's splits: [node (tree-local), goes left, index into features]. */
  steps: [number, boolean, number][];
}

/** Every leaf of a tree with its root-to-leaf path (none for a single-leaf tree: all base value). */
function leafPaths(t: WeightedTrees['trees'][number]): LeafPath[] {
  if (t.num_leaves <= 1) return [];
  const out: LeafPath[] = [];
  const count = (c: number): number => (c >= 0 ? t.internal_count[c]! : t.leaf_count[~c]!);
  const walk = (node: number, features: number[], zeros: number[], steps: [number, boolean, number][]): void => {
    const f = t.split_feature[node]!;
    for (const left of [true, false]) {
      const child = left ? t.left_child[node]! : t.right_child[node]!;
      const fraction = count(child) / t.internal_count[node]!;
      let j = features.indexOf(f);
      const fs = j < 0 ? [...features, f] : features;
      const zs = [...zeros];
      if (j < 0) {
        j = fs.length - 1;
        zs.push(fraction);
      } else zs[j] = zs[j]! * fraction;
      const ss: [number, boolean, number][] = [...steps, [node, left, j]];
      if (child < 0) out.push({ index: ~child, value: t.leaf_value[~child]!, features: fs, zeros: zs, steps: ss });
      else walk(child, fs, zs, ss);
    }
  };
  walk(0, [], [], []);
  return out;
}

/**
 * out[2(at + A)] = R(A) = Σ_{T⊆A} w(|T|)·Π_{j∈A\T} z_j and out[2(at + A) + 1] = Π_{j∉A} z_j for every subset A
 * (a bit mask) of the leaf's d features. Π_{j∈A}(z_j + t) = Σ_k c_k t^k, where c_k sums the
 * products over the subsets T of size k, so R(A) = Σ_k w(k)·c_k; the polynomials are built mask
 * by mask, each from the mask without its lowest bit.
 */
function fillTables(zeros: readonly number[], out: Float64Array, at: number): void {
  const d = zeros.length;
  const full = (1 << d) - 1;
  const w = new Float64Array(d);
  for (let k = 0; k < d; k++) w[k] = 1 / (d * binomial(d - 1, k)); // k!(d-k-1)!/d!
  const width = d + 1;
  const poly = new Float64Array((1 << d) * width);
  poly[0] = 1;
  out[2 * at] = w[0]!;
  const prod = new Float64Array(1 << d); // Π_{j∈A} z_j
  prod[0] = 1;
  for (let mask = 1; mask <= full; mask++) {
    const low = 31 - Math.clz32(mask & -mask);
    const from = (mask ^ (1 << low)) * width;
    const to = mask * width;
    const z = zeros[low]!;
    prod[mask] = prod[mask ^ (1 << low)]! * z;
    let r = 0;
    for (let k = 0; k <= d; k++) {
      const c = z * poly[from + k]! + (k > 0 ? poly[from + k - 1]! : 0);
      poly[to + k] = c;
      if (k < d) r += w[k]! * c;
    }
    out[2 * (at + mask)] = r;
  }
  for (let mask = 0; mask <= full; mask++) out[2 * (at + mask) + 1] = prod[full ^ mask]!;
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}
