/** The fair scheduler in front of the scoring engine: round-robin between clients, admission by characters, cancellation. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Busy, Cancellation, FairScheduler } from '../src/server/scheduler.js';

/** Tasks that finish only when released, so the order is decided by the scheduler alone. */
function gate() {
  const started: string[] = [];
  const waiting = new Map<string, () => void>();
  const task = (name: string) => () =>
    new Promise<string>((resolve) => {
      started.push(name);
      waiting.set(name, () => resolve(name));
    });
  const release = (name: string) => {
    waiting.get(name)!();
    waiting.delete(name);
  };
  return { started, task, release };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('a client flooding the queue does not starve another: the newcomer goes next', async () => {
  const s = new FairScheduler({ concurrency: 1, maxClientChars: 1e9, maxChars: 1e9 });
  const g = gate();
  const done = [0, 1, 2, 3, 4].map((i) => s.submit('A', 1000, g.task(`A${i}`)));
  await tick();
  assert.deepEqual(s.stats(), { running: 1, queued: 4, chars: 5000, clients: 1 });
  const small = s.submit('B', 10, g.task('B0'));
  for (const name of ['A0', 'B0', 'A1', 'A2', 'A3', 'A4']) {
    await tick();
    assert.equal(g.started.at(-1), name);
    g.release(name);
  }
  assert.equal(await small, 'B0');
  assert.deepEqual(await Promise.all(done), ['A0', 'A1', 'A2', 'A3', 'A4']);
  assert.deepEqual(s.stats(), { running: 0, queued: 0, chars: 0, clients: 0 });
});

test('two busy clients alternate', async () => {
  const s = new FairScheduler({ concurrency: 1, maxClientChars: 1e9, maxChars: 1e9 });
  const g = gate();
  const all = [...[0, 1, 2].map((i) => s.submit('A', 1, g.task(`A${i}`))), ...[0, 1, 2].map((i) => s.submit('B', 1, g.task(`B${i}`)))];
  for (let i = 0; i < 6; i++) {
    await tick();
    g.release(g.started.at(-1)!);
  }
  await Promise.all(all);
  assert.deepEqual(g.started, ['A0', 'B0', 'A1', 'B1', 'A2', 'B2']);
});

test('admission: a client past its share gets Busy(client), the server past its ceiling Busy(server); both free up', async () => {
  const s = new FairScheduler({ concurrency: 1, maxClientChars: 250, maxChars: 400 });
  const g = gate();
  const a = [s.submit('A', 100, g.task('A0')), s.submit('A', 100, g.task('A1'))];
  await assert.rejects(s.submit('A', 100, g.task('A2')), (error: unknown) => error instanceof Busy && error.scope === 'client' && error.pending === 200);
  const b = [s.submit('B', 150, g.task('B0')), s.submit('C', 50, g.task('C0'))];
  await assert.rejects(s.submit('D', 1, g.task('D0')), (error: unknown) => error instanceof Busy && error.scope === 'server' && /400/.test(error.message));
  assert.equal(s.stats().chars, 400);
  for (const name of ['A0', 'B0', 'C0', 'A1']) {
    await tick();
    g.release(name);
  }
  await Promise.all([...a, ...b]);
  assert.equal(s.stats().chars, 0);
  const again = s.submit('A', 200, g.task('A3'));
  await tick();
  g.release('A3');
  assert.equal(await again, 'A3');
});

test('a waiting task whose request times out or whose client leaves is dropped, not run', async () => {
  const s = new FairScheduler({ concurrency: 1, maxClientChars: 1e9, maxChars: 1e9 });
  const g = gate();
  const first = s.submit('A', 10, g.task('A0'));
  const controller = new AbortController();
  const second = s.submit('A', 10, g.task('A1'), controller.signal);
  controller.abort(new Error('gone'));
  await assert.rejects(second, /gone/);
  assert.deepEqual(s.stats(), { running: 1, queued: 0, chars: 10, clients: 1 });
  await tick();
  g.release('A0');
  await first;
  await tick();
  assert.deepEqual(g.started, ['A0']);
});

test('a Cancellation (the service\'s cheap AbortController) drops a waiting task, and does nothing to one that started', async () => {
  const s = new FairScheduler({ concurrency: 1, maxClientChars: 1e9, maxChars: 1e9 });
  const g = gate();
  const runningCancel = new Cancellation();
  const first = s.submit('A', 10, g.task('A0'), runningCancel);
  const waitingCancel = new Cancellation();
  const second = s.submit('A', 10, g.task('A1'), waitingCancel);
  const third = s.submit('A', 10, g.task('A2'), new Cancellation());
  waitingCancel.abort(new Error('gone'));
  waitingCancel.abort(new Error('twice'));
  await assert.rejects(second, /gone/);
  assert.equal(waitingCancel.reason instanceof Error && waitingCancel.reason.message, 'gone');
  // A0 is running: cancelling it now is not heard (its listener was removed when it started).
  runningCancel.abort(new Error('late'));
  assert.deepEqual(s.stats(), { running: 1, queued: 1, chars: 20, clients: 1 });
  g.release('A0');
  assert.equal(await first, 'A0');
  await tick();
  g.release('A2');
  assert.equal(await third, 'A2');
  assert.deepEqual(g.started, ['A0', 'A2']);
  await assert.rejects(s.submit('A', 10, g.task('A3'), runningCancel), /late/);
});

test('a Cancellation takes one listener', () => {
  const cancel = new Cancellation();
  const listener = () => {};
  cancel.addEventListener('abort', listener);
  assert.throws(() => cancel.addEventListener('abort', () => {}), /one listener/);
  cancel.removeEventListener('abort', listener);
  cancel.addEventListener('abort', listener);
});
