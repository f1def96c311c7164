import type { SparseVector } from '../features/featurizer.js';

/**
 * L2-regularised logistic regression on sparse vectors, fitted by L-BFGS.
 *
 * Hand-written because no maintained JavaScript library fits a weighted,
 * regularised logistic regression on sparse hashed features at this size
 * (half a million dimensions, tens of millions of non-zeros) in seconds.
 */
export interface LogisticOptions {
  /** L2 penalty on weights (not the bias), relative to the mean weighted loss. */
  l2: number;
  maxIterations: number;
  /** Stop when the relative decrease of the objective falls below this. */
  tolerance: number;
  /** Called once per iteration with the objective value. */
  onIteration?: (iteration: number, loss: number, evaluations: number) => void;
}

export const DEFAULT_LOGISTIC_OPTIONS: LogisticOptions = { l2: 1e-4, maxIterations: 60, tolerance: 5e-5 };

export interface LogisticModel {
  weights: Float32Array;
  bias: number;
}

export function decisionFunction(model: LogisticModel, x: SparseVector): number {
  let z = model.bias;
  const { indices, values } = x;
  const w = model.weights;
  for (let i = 0; i < indices.length; i++) z += w[indices[i]] * values[i];
  return z;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

export function fitLogistic(
  xs: SparseVector[],
  ys: ArrayLike<number>,
  sampleWeights: ArrayLike<number>,
  dimension: number,
  options: Partial<LogisticOptions> = {},
): LogisticModel {
  return fitPackedRows(packRows(xs, dimension), null, ys, sampleWeights, options);
}

/**
 * Rows packed once for any number of fits (training's folds fit subsets of
 * the same rows), in two layouts, one for each half of the objective. Both
 * leave every fit identical bit for bit to the plain definition (one row
 * pass that sums each row's products in its order, then adds each row's
 * gradient terms into the gradient in row order; test/logistic.test.ts pins
 * it):
 *
 * - rows (CSR) for the scores: each row sums its products in its own order
 *   as before, but reads the weights from a copy renumbered by how many rows
 *   use each column, most used first (the 16k most used columns hold 58% of
 *   the non-zeros on ../shared/data and fit in 128 kB; hashed, they were
 *   scattered over the whole 4 MB weight vector and most reads missed the
 *   cache);
 * - columns (CSC, rows ascending within a column) for the gradient: each
 *   entry is a sum over its column's rows in row order — the order the row
 *   pass added them in — reading the per-row terms (24k numbers, in cache)
 *   instead of scattering into the 4 MB gradient. Rows outside a fit's
 *   subset contribute an exact zero, which changes no sum.
 *
 * Values stay float32 as the featurizer made them (widening them when
 * multiplied gives the same products as widening them first). Measured on
 * all 24,690 texts of ../shared/data, one objective evaluation (23.7M
 * non-zeros): 3.1× less CPU than the plain definition; see bench/README.md,
 * "Training".
 */
export interface PackedRows {
  rows: number;
  dimension: number;
  rowStart: Int32Array;
  /** Renumbered column of each non-zero, row by row. */
  slot: Int32Array;
  values: Float32Array;
  /** Renumbered column of each original column. */
  renumbered: Int32Array;
  columnStart: Int32Array;
  /** Row of each non-zero, column by column. */
  columnRow: Int32Array;
  columnValues: Float32Array;
}

/**
 * Packs sparse rows; with `shared`, into SharedArrayBuffers, so fitting
 * threads read them without a copy (model/fit-threads.ts).
 */
export function packRows(xs: readonly SparseVector[], dimension: number, shared = false): PackedRows {
  const allocate = (bytes: number) => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  const rows = xs.length;
  const rowStart = new Int32Array(allocate(4 * (rows + 1)));
  for (let i = 0; i < rows; i++) rowStart[i + 1] = rowStart[i] + xs[i].indices.length;
  const nnz = rowStart[rows];
  const columnStart = new Int32Array(allocate(4 * (dimension + 1)));
  for (const x of xs) for (let k = 0; k < x.indices.length; k++) columnStart[x.indices[k] + 1]++;
  const renumbered = new Int32Array(allocate(4 * dimension));
  // Counting sort by uses, most first; ties in column order.
  const firstOf = new Int32Array(rows + 2);
  for (let j = 0; j < dimension; j++) firstOf[rows - columnStart[j + 1] + 1]++;
  for (let u = 1; u < firstOf.length; u++) firstOf[u] += firstOf[u - 1];
  for (let j = 0; j < dimension; j++) renumbered[j] = firstOf[rows - columnStart[j + 1]]++;
  for (let j = 0; j < dimension; j++) columnStart[j + 1] += columnStart[j];
  const slot = new Int32Array(allocate(4 * nnz));
  const values = new Float32Array(allocate(4 * nnz));
  const columnRow = new Int32Array(allocate(4 * nnz));
  const columnValues = new Float32Array(allocate(4 * nnz));
  const next = columnStart.slice(0, dimension);
  for (let i = 0; i < rows; i++) {
    const { indices, values: v } = xs[i];
    const at = rowStart[i];
    for (let k = 0; k < indices.length; k++) {
      const j = indices[k];
      slot[at + k] = renumbered[j];
      const c = next[j]++;
      columnRow[c] = i;
      columnValues[c] = v[k];
    }
    values.set(v, at);
  }
  return { rows, dimension, rowStart, slot, values, renumbered, columnStart, columnRow, columnValues };
}

/**
 * Several row sets that share rows, packed once: the union of their rows
 * ordered by `rankOf`, and each set as a subset of it. A fit on a set's
 * subset is the fit on that set's own pack, bit for bit, so this holds only
 * when every set lists its rows in rank order (ranks distinct); otherwise it
 * returns null and the caller packs each set on its own. Row objects are
 * matched by identity.
 */
export function packRowSets<Row>(
  sets: readonly (readonly Row[])[],
  vectorOf: (row: Row) => SparseVector,
  rankOf: (row: Row) => number,
  dimension: number,
  shared = false,
): { packed: PackedRows; subsets: Int32Array[] } | null {
  for (const rows of sets) for (let i = 1; i < rows.length; i++) if (!(rankOf(rows[i - 1]) < rankOf(rows[i]))) return null;
  const union = [...new Set(sets.flat())].sort((a, b) => rankOf(a) - rankOf(b));
  for (let i = 1; i < union.length; i++) if (rankOf(union[i - 1]) === rankOf(union[i])) return null;
  const rowOf = new Map(union.map((row, i) => [row, i]));
  const subsets = sets.map((rows) => Int32Array.from(rows, (row) => rowOf.get(row)!));
  return { packed: packRows(union.map(vectorOf), dimension, shared), subsets };
}

/**
 * Fits rows `subset` of `packed` (ascending row numbers; null: all rows).
 * `ys` and `sampleWeights` are indexed by row number. The same fit as
 * fitLogistic on those rows' vectors, bit for bit.
 */
export function fitPackedRows(
  packed: PackedRows,
  subset: ArrayLike<number> | null,
  ys: ArrayLike<number>,
  sampleWeights: ArrayLike<number>,
  options: Partial<LogisticOptions> = {},
): LogisticModel {
  const opts = { ...DEFAULT_LOGISTIC_OPTIONS, ...options };
  const { dimension, rowStart, slot, values, renumbered, columnStart, columnRow, columnValues } = packed;
  const rows = subset ? subset.length : packed.rows;
  const rowOf = subset ? Int32Array.from(subset) : Int32Array.from({ length: rows }, (_, r) => r);
  const w = new Float64Array(rows);
  let totalWeight = 0;
  for (let r = 0; r < rows; r++) totalWeight += sampleWeights[rowOf[r]];
  for (let r = 0; r < rows; r++) w[r] = sampleWeights[rowOf[r]] / totalWeight;
  const y = Float64Array.from({ length: rows }, (_, r) => ys[rowOf[r]]);
  const n = dimension + 1; // last slot is the bias
  const renumberedTheta = new Float64Array(dimension);
  /** Each packed row's gradient term (0 outside the subset). */
  const term = new Float64Array(packed.rows);
  const objective = (theta: Float64Array, grad: Float64Array): number => {
    for (let j = 0; j < dimension; j++) renumberedTheta[renumbered[j]] = theta[j];
    let loss = 0;
    const bias = theta[dimension];
    let biasGrad = 0;
    for (let r = 0; r < rows; r++) {
      const i = rowOf[r];
      const end = rowStart[i + 1];
      let z = bias;
      for (let k = rowStart[i]; k < end; k++) z += renumberedTheta[slot[k]] * values[k];
      // log(1 + e^z) - y z, computed stably
      loss += w[r] * ((z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[r] * z);
      const g = w[r] * (sigmoid(z) - y[r]);
      term[i] = g;
      biasGrad += g;
    }
    grad[dimension] = biasGrad;
    let penalty = 0;
    for (let j = 0; j < dimension; j++) {
      let sum = 0;
      for (let k = columnStart[j], end = columnStart[j + 1]; k < end; k++) sum += term[columnRow[k]] * columnValues[k];
      penalty += theta[j] * theta[j];
      grad[j] = sum + opts.l2 * theta[j];
    }
    return loss + 0.5 * opts.l2 * penalty;
  };
  const theta = lbfgs(objective, new Float64Array(n), opts);
  return { weights: Float32Array.from(theta.subarray(0, dimension)), bias: theta[dimension] };
}

/**
 * The plain definition the packed fits are pinned to (test/logistic.test.ts):
 * float64 rows, one pass per row that scores it and scatters its gradient
 * terms. Not used for training.
 */
export function fitLogisticPlain(
  xs: SparseVector[],
  ys: ArrayLike<number>,
  sampleWeights: ArrayLike<number>,
  dimension: number,
  options: Partial<LogisticOptions> = {},
): LogisticModel {
  const opts = { ...DEFAULT_LOGISTIC_OPTIONS, ...options };
  const rows = xs.length;
  const w = new Float64Array(rows);
  let totalWeight = 0;
  for (let i = 0; i < rows; i++) totalWeight += sampleWeights[i];
  for (let i = 0; i < rows; i++) w[i] = sampleWeights[i] / totalWeight;
  const objective = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    let biasGrad = 0;
    for (let i = 0; i < rows; i++) {
      const indices = xs[i].indices;
      const values = Float64Array.from(xs[i].values);
      let z = theta[dimension];
      for (let k = 0; k < indices.length; k++) z += theta[indices[k]] * values[k];
      loss += w[i] * ((z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - ys[i] * z);
      const g = w[i] * (sigmoid(z) - ys[i]);
      for (let k = 0; k < indices.length; k++) grad[indices[k]] += g * values[k];
      biasGrad += g;
    }
    grad[dimension] = biasGrad;
    let penalty = 0;
    for (let j = 0; j < dimension; j++) {
      penalty += theta[j] * theta[j];
      grad[j] += opts.l2 * theta[j];
    }
    return loss + 0.5 * opts.l2 * penalty;
  };
  const theta = lbfgsPlain(objective, new Float64Array(dimension + 1), opts);
  return { weights: Float32Array.from(theta.subarray(0, dimension)), bias: theta[dimension] };
}

/**
 * Limited-memory BFGS as lbfgsPlain computes it, number for number, with
 * fewer passes over the half-million-long vectors: each two-loop step's
 * update is fused with the next step's dot product (every element gets the
 * same operations in the same order, and each dot product still sums in
 * index order), the newest pair's s·y and y·y are kept from when it was
 * made, the oldest pair's arrays are reused, and x and g swap with their
 * new values instead of being copied. 4m + 11 passes per iteration become
 * 2m + 3 (m = 8).
 */
function lbfgs(
  f: (x: Float64Array, g: Float64Array) => number,
  start: Float64Array<ArrayBuffer>,
  opts: LogisticOptions,
  memory = 8,
): Float64Array {
  const n = start.length;
  let x = start;
  let g = new Float64Array(n);
  const direction = new Float64Array(n);
  let xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  const pairs: Array<{ s: Float64Array; y: Float64Array; rho: number; sy: number; yy: number }> = [];
  const spare: Float64Array[] = [];
  const alpha = new Float64Array(memory);
  let fx = f(x, g);
  let evaluations = 1;
  for (let iteration = 1; iteration <= opts.maxIterations; iteration++) {
    let slope = twoLoopFused(g, pairs, alpha, direction);
    if (slope >= 0) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      for (const pair of pairs.splice(0)) spare.push(pair.s, pair.y);
      for (let i = 0; i < n; i++) direction[i] = -g[i];
      slope = dot(g, direction);
    }
    const fNew = lineSearch(f, x, g, direction, fx, slope, iteration, xNew, gNew);
    evaluations += fNew.evaluations;
    const sk = spare.pop() ?? new Float64Array(n);
    const yk = spare.pop() ?? new Float64Array(n);
    let sy = 0;
    let yy = 0;
    for (let i = 0; i < n; i++) {
      sk[i] = xNew[i] - x[i];
      yk[i] = gNew[i] - g[i];
      sy += sk[i] * yk[i];
      yy += yk[i] * yk[i];
    }
    if (sy > 1e-12) {
      pairs.push({ s: sk, y: yk, rho: 1 / sy, sy, yy });
      if (pairs.length > memory) {
        const oldest = pairs.shift()!;
        spare.push(oldest.s, oldest.y);
      }
    } else {
      spare.push(sk, yk);
    }
    const relative = (fx - fNew.value) / Math.max(Math.abs(fx), 1e-12);
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    fx = fNew.value;
    opts.onIteration?.(iteration, fx, evaluations);
    if (relative >= 0 && relative < opts.tolerance) break;
  }
  return x;
}

/**
 * Backtracking Armijo line search from x along `direction` (the first
 * iteration's step scaled to the gradient's length): leaves the accepted
 * point in xNew and its gradient in gNew.
 */
function lineSearch(
  f: (x: Float64Array, g: Float64Array) => number,
  x: Float64Array,
  g: Float64Array,
  direction: Float64Array,
  fx: number,
  slope: number,
  iteration: number,
  xNew: Float64Array,
  gNew: Float64Array,
): { value: number; evaluations: number } {
  const n = x.length;
  let step = iteration === 1 ? 1 / Math.max(Math.sqrt(dot(g, g)), 1e-12) : 1;
  let value = 0;
  let evaluations = 0;
  for (let tries = 0; ; tries++) {
    for (let i = 0; i < n; i++) xNew[i] = x[i] + step * direction[i];
    value = f(xNew, gNew);
    evaluations++;
    if (value <= fx + 1e-4 * step * slope || tries >= 30) break;
    step *= 0.5;
  }
  return { value, evaluations };
}

/**
 * twoLoop's direction into `out`, fused (see lbfgs); returns g·out, the
 * slope lbfgsPlain computes next.
 */
function twoLoopFused(g: Float64Array, pairs: ReadonlyArray<{ s: Float64Array; y: Float64Array; rho: number; sy: number; yy: number }>, alpha: Float64Array, out: Float64Array): number {
  const n = g.length;
  const m = pairs.length;
  if (m === 0) {
    let slope = 0;
    for (let i = 0; i < n; i++) {
      out[i] = -g[i];
      slope += g[i] * out[i];
    }
    return slope;
  }
  // out = -g, with s[m-1]·out
  let acc = 0;
  let s = pairs[m - 1].s;
  for (let i = 0; i < n; i++) {
    out[i] = -g[i];
    acc += s[i] * out[i];
  }
  // First loop, newest to oldest: out -= alpha[k] y[k], with s[k-1]·out.
  for (let k = m - 1; k >= 1; k--) {
    alpha[k] = pairs[k].rho * acc;
    const a = -alpha[k];
    const y = pairs[k].y;
    s = pairs[k - 1].s;
    acc = 0;
    for (let i = 0; i < n; i++) {
      out[i] += a * y[i];
      acc += s[i] * out[i];
    }
  }
  alpha[0] = pairs[0].rho * acc;
  // The last update of the first loop, the scaling by γ = s·y / y·y of the newest pair, and y[0]·out.
  const newest = pairs[m - 1];
  const gamma = newest.sy / newest.yy;
  {
    const a = -alpha[0];
    const y0 = pairs[0].y;
    acc = 0;
    for (let i = 0; i < n; i++) {
      out[i] += a * y0[i];
      out[i] *= gamma;
      acc += y0[i] * out[i];
    }
  }
  // Second loop, oldest to newest: out += (alpha[k] - beta) s[k], with y[k+1]·out (the last with g·out).
  for (let k = 0; k < m; k++) {
    const beta = pairs[k].rho * acc;
    const b = alpha[k] - beta;
    const sk = pairs[k].s;
    const next = k + 1 < m ? pairs[k + 1].y : g;
    acc = 0;
    for (let i = 0; i < n; i++) {
      out[i] += b * sk[i];
      acc += next[i] * out[i];
    }
  }
  return acc;
}

/** Limited-memory BFGS with a backtracking Armijo line search (Nocedal & Wright, alg. 7.4/7.5): the plain definition lbfgs is pinned to. */
function lbfgsPlain(
  f: (x: Float64Array, g: Float64Array) => number,
  x: Float64Array,
  opts: LogisticOptions,
  memory = 8,
): Float64Array {
  const n = x.length;
  const g = new Float64Array(n);
  const direction = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  let fx = f(x, g);
  let evaluations = 1;
  for (let iteration = 1; iteration <= opts.maxIterations; iteration++) {
    twoLoop(g, s, y, rho, direction);
    let slope = dot(g, direction);
    if (slope >= 0) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      s.length = y.length = rho.length = 0;
      for (let i = 0; i < n; i++) direction[i] = -g[i];
      slope = dot(g, direction);
    }
    const fNew = lineSearch(f, x, g, direction, fx, slope, iteration, xNew, gNew);
    evaluations += fNew.evaluations;
    const sk = new Float64Array(n);
    const yk = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      sk[i] = xNew[i] - x[i];
      yk[i] = gNew[i] - g[i];
    }
    const sy = dot(sk, yk);
    if (sy > 1e-12) {
      s.push(sk);
      y.push(yk);
      rho.push(1 / sy);
      if (s.length > memory) {
        s.shift();
        y.shift();
        rho.shift();
      }
    }
    const relative = (fx - fNew.value) / Math.max(Math.abs(fx), 1e-12);
    x.set(xNew);
    g.set(gNew);
    fx = fNew.value;
    opts.onIteration?.(iteration, fx, evaluations);
    if (relative >= 0 && relative < opts.tolerance) break;
  }
  return x;
}

function twoLoop(g: Float64Array, s: Float64Array[], y: Float64Array[], rho: number[], out: Float64Array): void {
  const n = g.length;
  for (let i = 0; i < n; i++) out[i] = -g[i];
  const alpha = new Array<number>(s.length);
  for (let k = s.length - 1; k >= 0; k--) {
    alpha[k] = rho[k] * dot(s[k], out);
    axpy(-alpha[k], y[k], out);
  }
  if (s.length > 0) {
    const last = s.length - 1;
    const gamma = dot(s[last], y[last]) / dot(y[last], y[last]);
    for (let i = 0; i < n; i++) out[i] *= gamma;
  }
  for (let k = 0; k < s.length; k++) {
    const beta = rho[k] * dot(y[k], out);
    axpy(alpha[k] - beta, s[k], out);
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function axpy(alpha: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] += alpha * x[i];
}
