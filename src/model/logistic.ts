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
  const opts = { ...DEFAULT_LOGISTIC_OPTIONS, ...options };
  const { rowStart, indices, values } = packRows(xs);
  const rows = xs.length;
  const w = new Float64Array(rows);
  let totalWeight = 0;
  for (let i = 0; i < rows; i++) totalWeight += sampleWeights[i];
  for (let i = 0; i < rows; i++) w[i] = sampleWeights[i] / totalWeight;
  const y = Float64Array.from({ length: rows }, (_, i) => ys[i]);
  const n = dimension + 1; // last slot is the bias
  const objective = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    const bias = theta[dimension];
    let biasGrad = 0;
    for (let i = 0; i < rows; i++) {
      const end = rowStart[i + 1];
      let z = bias;
      for (let k = rowStart[i]; k < end; k++) z += theta[indices[k]] * values[k];
      // log(1 + e^z) - y z, computed stably
      loss += w[i] * ((z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[i] * z);
      const g = w[i] * (sigmoid(z) - y[i]);
      for (let k = rowStart[i]; k < end; k++) grad[indices[k]] += g * values[k];
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
  const theta = lbfgs(objective, new Float64Array(n), opts);
  return { weights: Float32Array.from(theta.subarray(0, dimension)), bias: theta[dimension] };
}

/** Compressed sparse rows: one flat array each, so the hot loop streams memory. */
function packRows(xs: SparseVector[]): { rowStart: Int32Array; indices: Int32Array; values: Float64Array } {
  const rowStart = new Int32Array(xs.length + 1);
  for (let i = 0; i < xs.length; i++) rowStart[i + 1] = rowStart[i] + xs[i].indices.length;
  const indices = new Int32Array(rowStart[xs.length]);
  const values = new Float64Array(rowStart[xs.length]);
  for (let i = 0; i < xs.length; i++) {
    indices.set(xs[i].indices, rowStart[i]);
    values.set(xs[i].values, rowStart[i]);
  }
  return { rowStart, indices, values };
}

/** Limited-memory BFGS with a backtracking Armijo line search (Nocedal & Wright, alg. 7.4/7.5). */
function lbfgs(
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
    let step = iteration === 1 ? 1 / Math.max(Math.sqrt(dot(g, g)), 1e-12) : 1;
    let fNew = 0;
    for (let tries = 0; ; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * direction[i];
      fNew = f(xNew, gNew);
      evaluations++;
      if (fNew <= fx + 1e-4 * step * slope || tries >= 30) break;
      step *= 0.5;
    }
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
    const relative = (fx - fNew) / Math.max(Math.abs(fx), 1e-12);
    x.set(xNew);
    g.set(gNew);
    fx = fNew;
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
