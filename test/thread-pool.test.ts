/** The shared worker-thread pool: ordering, user errors vs bugs, dead threads (failed or replaced), start-up failures, close. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ThreadPool, type ThreadPoolOptions } from '../src/util/thread-pool.js';
import { UserError } from '../src/util/errors.js';
import type { Reply, Request } from './fixtures/thread-pool/worker.js';

const ENTRY = new URL('./fixtures/thread-pool/worker.ts', import.meta.url);
const start = (size: number, options: ThreadPoolOptions = {}, workerData: object = {}) =>
  ThreadPool.start<Request, Reply>(ENTRY, workerData, size, { name: 'test thread', ...options });

/** Sends one request per delay at once: each must get its own reply, and both of two threads must work. */
async function assertOwnReplies(pool: ThreadPool<Request, Reply>, delays: number[]): Promise<void> {
  const replies = await Promise.all(delays.map((delayMs, echo) => pool.run({ echo, delayMs })));
  assert.deepEqual(replies.map((r) => r.echo), delays.map((_, i) => i));
  assert.equal(new Set(replies.map((r) => r.threadId)).size, 2, 'both threads worked');
}

test('concurrent requests each get their own reply, whatever order the threads finish in', async () => {
  const pool = await start(2);
  try {
    assert.equal(pool.size, 2);
    // Later requests finish first; more requests than threads queue up.
    await assertOwnReplies(pool, [60, 40, 20, 0, 30, 10, 0, 5]);
  } finally {
    await pool.close();
  }
});

test('a UserError in a thread stays a UserError; any other error keeps its stack; the pool goes on', async () => {
  const pool = await start(1);
  try {
    const user = await pool.run({ user: 'this model file has no sentence calibration' }).catch((e: unknown) => e);
    assert.ok(user instanceof UserError);
    assert.equal(user.message, 'this model file has no sentence calibration');
    assert.equal(user.exitCode, 3);

    const bug = await pool.run({ bug: 'x is undefined' }).catch((e: unknown) => e);
    assert.ok(bug instanceof Error);
    assert.ok(!(bug instanceof UserError));
    assert.equal(bug.message, 'test thread failed: x is undefined');
    assert.match(bug.stack!, /TypeError: x is undefined\n\s+at .*fixtures\/thread-pool\/worker\.ts/);

    assert.equal((await pool.run({ echo: 7 })).echo, 7);
  } finally {
    await pool.close();
  }
});

test('without replacement a dead thread fails every pending and later request, as a bug with its stack', async () => {
  const pool = await start(2);
  try {
    const hung = pool.run({ hang: true }).catch((e: unknown) => e);
    const crashed = pool.run({ crash: 'out of memory', delayMs: 20 }).catch((e: unknown) => e);
    const queued = pool.run({ echo: 1 }).catch((e: unknown) => e);
    for (const error of await Promise.all([hung, crashed, queued])) {
      assert.ok(error instanceof Error && !(error instanceof UserError), 'a crash is a bug, not bad input');
      assert.match(error.message, /^test thread crashed: Error: out of memory$/);
      assert.match(error.stack!, /Error: out of memory\n\s+at .*fixtures\/thread-pool\/worker\.ts/);
    }
    await assert.rejects(pool.run({ echo: 2 }), /test thread crashed/);
  } finally {
    await pool.close();
  }
});

test('with replacement a dead thread fails only its own request and a new thread takes its place', async () => {
  const pool = await start(2, { replaceDead: true });
  try {
    const before = new Set((await Promise.all([pool.run({ echo: 0, delayMs: 20 }), pool.run({ echo: 1, delayMs: 20 })])).map((r) => r.threadId));
    const crashed = pool.run({ crash: 'segfault-ish', delayMs: 20 });
    const others = Array.from({ length: 6 }, (_, echo) => pool.run({ echo, delayMs: 10 }));
    await assert.rejects(crashed, (error: unknown) => error instanceof Error && !(error instanceof UserError) && /test thread crashed: Error: segfault-ish/.test(error.message));
    assert.deepEqual((await Promise.all(others)).map((r) => r.echo), [0, 1, 2, 3, 4, 5]);
    // Once it has loaded, the replacement takes requests too.
    assert.equal(pool.size, 2);
    const deadline = Date.now() + 20_000;
    let fresh = false;
    while (!fresh && Date.now() < deadline) {
      const pair = await Promise.all([pool.run({ echo: 0, delayMs: 50 }), pool.run({ echo: 1, delayMs: 50 })]);
      fresh = pair.some((r) => !before.has(r.threadId));
    }
    assert.ok(fresh, 'a new thread answers');
  } finally {
    await pool.close();
  }
});

test('a thread that cannot start fails start(): a UserError as itself, anything else as a bug with its stack', async () => {
  await assert.rejects(start(2, {}, { failStart: 'user' }), (error: unknown) => error instanceof UserError && error.message === 'no such model: nowhere.cdm');
  await assert.rejects(
    start(1, { replaceDead: true }, { failStart: 'bug' }),
    (error: unknown) =>
      error instanceof Error &&
      !(error instanceof UserError) &&
      /^test thread crashed: TypeError: cannot read the model header$/.test(error.message) &&
      /TypeError: cannot read the model header\n\s+at .*fixtures\/thread-pool\/worker\.ts/.test(error.stack!),
  );
});

test('close rejects what is still pending and refuses later requests', async () => {
  const pool = await start(1);
  const running = pool.run({ hang: true }).catch((e: Error) => e);
  const queued = pool.run({ echo: 1 }).catch((e: Error) => e);
  await pool.close();
  assert.match((await running).message, /^test thread pool closed$/);
  assert.match((await queued).message, /^test thread pool closed$/);
  await assert.rejects(pool.run({ echo: 2 }), /test thread pool closed/);
  assert.equal(pool.size, 0);
});

test('with depth 2 a thread holds two requests and answers them in order; each reply goes to its request', async () => {
  const pool = await start(2, { depth: 2 });
  try {
    // The first request sent to a thread is the slowest: the one behind it must still get its own answer.
    await assertOwnReplies(pool, [60, 40, 0, 0, 30, 10, 0, 5]);
  } finally {
    await pool.close();
  }
});

test('with depth 2 and replacement, a thread that dies fails only the request it was on; the one behind it is answered', async () => {
  const pool = await start(1, { depth: 2, replaceDead: true });
  try {
    const crashed = pool.run({ crash: 'out of memory', delayMs: 20 }).catch((e: unknown) => e);
    const behind = pool.run({ echo: 5 });
    const error = await crashed;
    assert.ok(error instanceof Error);
    assert.match(error.message, /test thread crashed: .*out of memory/);
    const reply = await behind;
    assert.equal(reply.echo, 5);
    assert.equal(pool.size, 1);
  } finally {
    await pool.close();
  }
});

test('launch returns before the threads are ready: requests wait for them, and full counts what each thread holds', async () => {
  const pool = ThreadPool.launch<Request, Reply>(ENTRY, {}, 2, { name: 'test thread', depth: 2 });
  try {
    assert.equal(pool.full, false);
    const early = [0, 1, 2].map((echo) => pool.run({ echo, delayMs: 30 }));
    assert.equal(pool.full, false, 'three of four places taken (queued for threads still starting)');
    const fourth = pool.run({ echo: 3, delayMs: 30 });
    assert.equal(pool.full, true);
    await pool.started;
    assert.deepEqual((await Promise.all([...early, fourth])).map((r) => r.echo), [0, 1, 2, 3]);
    assert.equal(pool.full, false);
  } finally {
    await pool.close();
  }
});

test('launch: a thread that cannot start fails the requests waiting for it, a UserError as itself', async () => {
  const pool = ThreadPool.launch<Request, Reply>(ENTRY, { failStart: 'user' }, 1, { name: 'test thread' });
  try {
    const waiting = pool.run({ echo: 1 });
    await assert.rejects(waiting, (error: unknown) => error instanceof UserError && error.message === 'no such model: nowhere.cdm');
    await assert.rejects(pool.started, UserError);
    await assert.rejects(pool.run({ echo: 2 }), UserError);
  } finally {
    await pool.close();
  }
});
