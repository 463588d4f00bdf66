/**
 * Customer and terminal profiles of the handbook's simulator, and each customer's available
 * terminals (those strictly within `radius` of its location). Column arrays, not objects:
 * the default run has 5,000 customers and 10,000 terminals, larger runs stay cheap.
 */
import { Rng } from './rng.js';

/** Side of the square on which customers and terminals are placed. */
export const GRID_SIZE = 100;

export interface CustomerProfiles {
  count: number;
  x: Float64Array;
  y: Float64Array;
  meanAmount: Float64Array;
  stdAmount: Float64Array;
  meanNbTxPerDay: Float64Array;
  /** CSR lists: the terminals of customer c are availableTerminals[offsets[c] .. offsets[c+1]), ascending ids. */
  availableOffsets: Int32Array;
  availableTerminals: Int32Array;
}

export interface TerminalProfiles {
  count: number;
  x: Float64Array;
  y: Float64Array;
}

/** location ~ U(0,100)², mean_amount ~ U(5,100), std = mean/2, mean_nb_tx_per_day ~ U(0,4). */
export function generateCustomerProfiles(
  n: number,
  rng: Rng,
): Omit<CustomerProfiles, 'availableOffsets' | 'availableTerminals'> {
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const meanAmount = new Float64Array(n);
  const stdAmount = new Float64Array(n);
  const meanNbTxPerDay = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = rng.uniform(0, GRID_SIZE);
    y[i] = rng.uniform(0, GRID_SIZE);
    const mean = rng.uniform(5, 100);
    meanAmount[i] = mean;
    stdAmount[i] = mean / 2;
    meanNbTxPerDay[i] = rng.uniform(0, 4);
  }
  return { count: n, x, y, meanAmount, stdAmount, meanNbTxPerDay };
}

/** location ~ U(0,100)². */
export function generateTerminalProfiles(n: number, rng: Rng): TerminalProfiles {
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = rng.uniform(0, GRID_SIZE);
    y[i] = rng.uniform(0, GRID_SIZE);
  }
  return { count: n, x, y };
}

/**
 * For each customer, the terminals at Euclidean distance < radius, in ascending id order
 * (a uniform grid of cells of side `radius` avoids the customers × terminals scan).
 */
export function availableTerminals(
  customers: Pick<CustomerProfiles, 'count' | 'x' | 'y'>,
  terminals: TerminalProfiles,
  radius: number,
): { offsets: Int32Array; terminals: Int32Array } {
  const nc = customers.count;
  const offsets = new Int32Array(nc + 1);
  const out: number[] = [];
  if (radius <= 0 || terminals.count === 0) {
    return { offsets, terminals: new Int32Array(0) };
  }
  const cell = Math.max(radius, GRID_SIZE / 1024);
  const side = Math.max(1, Math.ceil(GRID_SIZE / cell));
  const cellOf = (v: number): number => Math.min(side - 1, Math.max(0, Math.floor(v / cell)));
  // Bucket terminals by cell (CSR), ids ascending within a cell.
  const counts = new Int32Array(side * side + 1);
  const tCell = new Int32Array(terminals.count);
  for (let t = 0; t < terminals.count; t++) {
    const c = cellOf(terminals.y[t]!) * side + cellOf(terminals.x[t]!);
    tCell[t] = c;
    counts[c + 1]!++;
  }
  for (let c = 0; c < side * side; c++) counts[c + 1]! += counts[c]!;
  const fill = counts.slice(0, side * side);
  const bucket = new Int32Array(terminals.count);
  for (let t = 0; t < terminals.count; t++) bucket[fill[tCell[t]!]!++] = t;

  const r2 = radius * radius;
  const found: number[] = [];
  for (let c = 0; c < nc; c++) {
    const cx = customers.x[c]!;
    const cy = customers.y[c]!;
    const x0 = cellOf(cx - radius);
    const x1 = cellOf(cx + radius);
    const y0 = cellOf(cy - radius);
    const y1 = cellOf(cy + radius);
    found.length = 0;
    for (let gy = y0; gy <= y1; gy++) {
      for (let gx = x0; gx <= x1; gx++) {
        const g = gy * side + gx;
        for (let k = counts[g]!, end = counts[g + 1]!; k < end; k++) {
          const t = bucket[k]!;
          const dx = terminals.x[t]! - cx;
          const dy = terminals.y[t]! - cy;
          if (dx * dx + dy * dy < r2) found.push(t);
        }
      }
    }
    found.sort((a, b) => a - b);
    for (const t of found) out.push(t);
    offsets[c + 1] = out.length;
  }
  return { offsets, terminals: Int32Array.from(out) };
}
