/**
 * The logistic fits training runs (packed rows, fold subsets, fitting
 * threads) pinned to the plain definition, bit for bit: same weights, same
 * thresholds, whatever the thread count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitLogisticPlain, fitPackedRows, packRows, packRowSets, type LogisticModel } from '../src/model/logistic.js';
import { fitPackedRowsMany } from '../src/model/fit-threads.js';
import { trainDetector } from '../src/model/train.js';
import type { SparseVector } from '../src/features/featurizer.js';
import { syntheticCorpus, SMALL_TRAIN_OPTIONS } from './fixtures/core/synthetic.js';

/** Random sparse rows with float32 values of mixed sign, some columns never used, and a repeated column in some rows (hashed families can collide). */
function problem(rows: number, dimension: number, seed: number): { xs: SparseVector[]; ys: number[]; weights: number[] } {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const truth = Array.from({ length: dimension }, () => random() - 0.5);
  const xs: SparseVector[] = [];
  const ys: number[] = [];
  for (let i = 0; i < rows; i++) {
    const count = 3 + Math.floor(random() * 12);
    const indices = Array.from({ length: count }, () => Math.floor(random() * random() * (dimension - 5)));
    if (i % 7 === 0) indices.push(indices[0]);
    const values = indices.map(() => random() * 2 - 0.6);
    xs.push({ indices: Int32Array.from(indices), values: Float32Array.from(values) });
    const z = indices.reduce((sum, j, k) => sum + truth[j] * values[k], 0);
    ys.push(z + (random() - 0.5) * 0.3 > 0 ? 1 : 0);
  }
  return { xs, ys, weights: ys.map((y, i) => (y ? 1 : 1.5) * (1 + (i % 3))) };
}

function assertSameModel(actual: LogisticModel, expected: LogisticModel, what: string): void {
  assert.deepEqual(new Uint32Array(actual.weights.buffer), new Uint32Array(expected.weights.buffer), `${what}: weights`);
  assert.equal(actual.bias, expected.bias, `${what}: bias`);
}

const OPTIONS = { l2: 1e-3, maxIterations: 40, tolerance: 1e-9 };

test('packed fit (renumbered rows, column-major gradient, float32 values) equals the plain definition bit for bit, on all rows and on a subset', () => {
  const { xs, ys, weights } = problem(400, 300, 7);
  const packed = packRows(xs, 300);
  let iterations = 0;
  const plainAll = fitLogisticPlain(xs, ys, weights, 300, { ...OPTIONS, onIteration: (i) => (iterations = i) });
  assert.ok(iterations > 12, `${iterations} iterations: more than L-BFGS keeps pairs, so old pairs are dropped and their arrays reused`);
  assertSameModel(fitPackedRows(packed, null, ys, weights, OPTIONS), plainAll, 'all rows');
  const subset = xs.map((_, i) => i).filter((i) => i % 5 !== 2);
  const plain = fitLogisticPlain(subset.map((i) => xs[i]), subset.map((i) => ys[i]), subset.map((i) => weights[i]), 300, OPTIONS);
  assertSameModel(fitPackedRows(packed, subset, ys, weights, OPTIONS), plain, 'subset');
  assert.ok(plain.weights.some((w) => w !== 0), 'the fit moved');
});

test('row sets packed once (packRowSets): the fit of each set on its subset equals the fit on its own rows, bit for bit; sets out of rank order are refused', () => {
  const { xs, ys, weights } = problem(300, 250, 17);
  const rows = xs.map((x, i) => ({ x, y: ys[i], w: weights[i], rank: (i * 7919) % 1009 }));
  const byRank = [...rows].sort((a, b) => a.rank - b.rank);
  // Overlapping sets, each in rank order (as capped window sets in their seeded order are).
  const sets = [byRank.filter((_, i) => i % 3 !== 0), byRank.filter((_, i) => i % 3 !== 1), byRank.slice(0, 150)];
  const shared = packRowSets(sets, (r) => r.x, (r) => r.rank, 250);
  assert.ok(shared !== null);
  assert.equal(shared.packed.rows, 300, 'the union once');
  sets.forEach((set, k) => {
    const subset = shared.subsets[k];
    const ysAll = new Float64Array(shared.packed.rows);
    const weightsAll = new Float64Array(shared.packed.rows);
    set.forEach((r, i) => {
      ysAll[subset[i]] = r.y;
      weightsAll[subset[i]] = r.w;
    });
    const own = fitLogisticPlain(set.map((r) => r.x), set.map((r) => r.y), set.map((r) => r.w), 250, OPTIONS);
    assertSameModel(fitPackedRows(shared.packed, subset, ysAll, weightsAll, OPTIONS), own, `set ${k}`);
  });
  assert.equal(packRowSets([byRank.slice(0, 20), [...byRank.slice(0, 20)].reverse()], (r) => r.x, (r) => r.rank, 250), null, 'a set out of rank order');
  const tied = [{ ...rows[0], rank: 1 }, { ...rows[1], rank: 1 }];
  assert.equal(packRowSets([[tied[0]], [tied[1]]], (r) => r.x, (r) => r.rank, 250), null, 'tied ranks');
});

test('fits on threads sharing the rows equal the same fits one after another, in job order', () => {
  const { xs, ys, weights } = problem(500, 400, 11);
  const other = problem(300, 200, 13);
  const jobsOn = (shared: boolean) => {
    const packed = packRows(xs, 400, shared);
    const common = { packed, ys: Float64Array.from(ys), weights: Float64Array.from(weights), options: OPTIONS };
    const subsets = [0, 1, 2, 3].map((k) => ({ ...common, subset: Int32Array.from(xs.map((_, i) => i).filter((i) => i % 4 !== k)) }));
    // A job on rows of its own (as the sentence windows' fits are).
    const own = { packed: packRows(other.xs, 200, shared), subset: null, ys: Float64Array.from(other.ys), weights: Float64Array.from(other.weights), options: OPTIONS };
    return [...subsets, own, { ...common, subset: null }];
  };
  const sequential = fitPackedRowsMany(jobsOn(false), 1);
  const done: number[] = [];
  const threaded = fitPackedRowsMany(jobsOn(true), 2, (n) => done.push(n));
  assert.deepEqual(done, [1, 2, 3, 4, 5, 6]);
  threaded.forEach((model, k) => assertSameModel(model, sequential[k], `job ${k}`));
  // Without a progress callback too (each fit still counts towards the end).
  fitPackedRowsMany(jobsOn(true), 2).forEach((model, k) => assertSameModel(model, sequential[k], `job ${k}, no callback`));
  assertSameModel(sequential[4], fitLogisticPlain(other.xs, other.ys, other.weights, 200, OPTIONS), 'own rows, plain');
  assertSameModel(sequential[5], fitLogisticPlain(xs, ys, weights, 400, OPTIONS), 'all rows, plain');
});

test('training on threads gives the model trained on one thread: weights, calibration, threshold, evaluation', () => {
  const corpus = syntheticCorpus(40, 3);
  const options = { ...SMALL_TRAIN_OPTIONS, extensions: [] };
  const one = trainDetector(corpus, { ...options, threads: 1 });
  const two = trainDetector(corpus, { ...options, threads: 2 });
  assertSameModel(two.model, one.model, 'final model');
  assert.equal(two.threshold, one.threshold);
  assert.deepEqual(two.metadata.calibration, one.metadata.calibration);
  assert.deepEqual(two.metadata.evaluation, one.metadata.evaluation);
  assert.equal('threads' in two.metadata.training.options, false, 'the thread count is not part of the model');
});
