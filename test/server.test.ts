/**
 * `copydesk serve` over real HTTP on loopback: every bad input answered with
 * the right status and a JSON error, auth, rate limit, the audit store
 * (restart, concurrency, a second server on the same file), metrics, the
 * OpenAPI description checked against the real routes, and graceful shutdown
 * of the CLI with a request in flight.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { loadDetector } from '../src/model/model-file.js';
import type { Detector } from '../src/model/detector.js';
import { buildApp, registeredRoutes, schedulerOf, type ServiceOptions } from '../src/server/app.js';
import { AuditStore } from '../src/server/audit.js';
import { DETECTION_SCHEMA } from '../src/server/schemas.js';
import { detectText } from '../src/detect/detect.js';
import { REVIEW } from './fixtures/core/texts.js';
import { InlineEngine, PoolEngine, type Engine } from '../src/server/engine.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = path.join(ROOT, 'models/default.cdm');

const ARTICLE = `City council members voted 7-2 on Tuesday night to delay a decision on the Harbor Street rezoning plan, after more than forty residents lined up to speak during a meeting that ran past midnight.

"We're not against housing. We're against being told about it after the fact," said Maria Keane, who has lived on Harbor Street since 1987. Several speakers held up hand-drawn maps of the flood zone.

Councillor Dev Patel, who voted against the delay, said the city had already spent two years on consultations. The plan returns to the council on March 14.`;

const MACHINE = `In today's rapidly evolving landscape, the city council's decision underscores the importance of community engagement. Furthermore, it is crucial to note that stakeholders play a pivotal role in shaping sustainable outcomes. Ultimately, this development highlights the delicate balance between progress and preservation.`;

let detector: Detector;
let dir: string;

before(() => {
  detector = loadDetector(MODEL);
  dir = mkdtempSync(path.join(tmpdir(), 'copydesk-server-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Running {
  app: FastifyInstance;
  url: string;
  audit: AuditStore | null;
}

let dbCounter = 0;
async function start(options: Partial<ServiceOptions> & { db?: string; storeText?: boolean } = {}): Promise<Running> {
  const audit = options.audit !== undefined ? options.audit : new AuditStore(options.db ?? path.join(dir, `audit-${dbCounter++}.db`), options.storeText ?? false);
  const app = await buildApp({ detector, rateLimit: null, ...options, audit });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as net.AddressInfo;
  return { app, url: `http://127.0.0.1:${address.port}`, audit };
}

interface Answer {
  status: number;
  headers: Headers;
  body: any;
  raw: string;
}

async function call(url: string, init: RequestInit & { json?: unknown } = {}): Promise<Answer> {
  const { json, ...rest } = init;
  const response = await fetch(url, {
    ...rest,
    ...(json !== undefined ? { method: rest.method ?? 'POST', body: JSON.stringify(json), headers: { 'content-type': 'application/json', ...(rest.headers as object) } } : {}),
  });
  const raw = await response.text();
  let body: unknown = raw;
  if ((response.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(raw);
  return { status: response.status, headers: response.headers, body, raw };
}

function assertError(answer: Answer, status: number, field?: string): void {
  assert.equal(answer.status, status, answer.raw);
  assert.match(answer.headers.get('content-type') ?? '', /application\/json/);
  assert.equal(answer.body.status, status);
  assert.equal(typeof answer.body.error, 'string');
  assert.equal(typeof answer.body.message, 'string');
  if (field !== undefined) assert.equal(answer.body.field, field, answer.raw);
}

/** Raw bytes over a socket: for bodies fetch() refuses to send. */
function rawRequest(url: string, payload: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(payload));
    let data = '';
    socket.setEncoding('utf8').on('data', (d) => (data += d));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
  });
}

describe('POST /v1/detect', () => {
  let s: Running;
  before(async () => (s = await start({ limits: { maxBodyBytes: 64 * 1024, maxTextChars: 20_000, maxBatch: 4 } })));
  after(() => s.app.close());

  test('one text: the CLI JSON for that document, with the model version', async () => {
    const a = await call(`${s.url}/v1/detect`, { json: { text: ARTICLE } });
    assert.equal(a.status, 200, a.raw);
    assert.equal(a.body.model_version, detector.version);
    assert.ok(a.body.machine_probability >= 0 && a.body.machine_probability <= 1);
    assert.ok(['human', 'machine', 'uncertain'].includes(a.body.verdict));
    assert.equal('reasons' in a.body, a.body.verdict === 'uncertain');
    assert.ok(Array.isArray(a.body.evidence) && a.body.evidence.length > 0);
    if (a.body.sentences !== undefined) {
      assert.ok(a.body.sentences.length >= 5);
      for (const sentence of a.body.sentences) assert.equal(ARTICLE.slice(sentence.start, sentence.end), sentence.text);
      assert.equal(typeof a.body.mixture_p_value, 'number');
    }
    const direct = detector.predict(ARTICLE);
    assert.ok(Math.abs(direct.machine_probability - a.body.machine_probability) < 1e-5);
  });

  test('a text it cannot judge: verdict "uncertain" with reasons, probability still given, per the schema', async () => {
    const a = await call(`${s.url}/v1/detect`, { json: { texts: ['Short note. Two sentences.', ARTICLE], evidence: false } });
    assert.equal(a.status, 200, a.raw);
    const [short, long] = a.body.results;
    assert.equal(short.verdict, 'uncertain');
    assert.equal(short.reasons[0], 'too_short', 'the first reason: it is too short (a fitted model may add unlike_training_data)');
    assert.ok(short.machine_probability >= 0 && short.machine_probability <= 1);
    assert.deepEqual(validate(DETECTION_SCHEMA as unknown as Schema, short, {}), []);
    assert.deepEqual(validate(DETECTION_SCHEMA as unknown as Schema, long, {}), []);
    assert.notDeepEqual(validate(DETECTION_SCHEMA as unknown as Schema, { ...short, reasons: ['bored'] }, {}), [], 'unknown reason codes are outside the schema');
  });

  test('a low-scoring review: verdict "human" with cautions, per the schema', async () => {
    const a = await call(`${s.url}/v1/detect`, { json: { text: REVIEW, evidence: false } });
    assert.equal(a.status, 200, a.raw);
    assert.equal(a.body.verdict, 'human');
    assert.deepEqual(a.body.cautions, ['not_news']);
    assert.equal('reasons' in a.body, false);
    assert.deepEqual(validate(DETECTION_SCHEMA as unknown as Schema, a.body, {}), []);
    assert.notDeepEqual(validate(DETECTION_SCHEMA as unknown as Schema, { ...a.body, cautions: ['bored'] }, {}), [], 'unknown caution codes are outside the schema');
  });

  test('a batch: one result per text, in order; evidence can be declined', async () => {
    const a = await call(`${s.url}/v1/detect`, { json: { texts: [ARTICLE, MACHINE, ARTICLE], evidence: false } });
    assert.equal(a.status, 200, a.raw);
    assert.equal(a.body.model_version, detector.version);
    assert.equal(a.body.results.length, 3);
    assert.deepEqual(a.body.results[0], a.body.results[2]);
    assert.ok(a.body.results[1].machine_probability > a.body.results[0].machine_probability);
    assert.equal(a.body.results[0].evidence, undefined);
  });

  const bad: Array<[string, unknown, number, string | undefined]> = [
    ['text of the wrong type', { text: 5 }, 400, 'text'],
    ['text null', { text: null }, 400, 'text'],
    ['empty text', { text: '' }, 400, 'text'],
    ['no text at all', {}, 400, 'text'],
    ['both text and texts', { text: 'a', texts: ['b'] }, 400, 'texts'],
    ['texts not an array', { texts: 'abc' }, 400, 'texts'],
    ['a non-string in texts', { texts: ['ok', 3] }, 400, 'texts[1]'],
    ['an empty batch', { texts: [] }, 400, 'texts'],
    ['a batch over the limit', { texts: ['a', 'b', 'c', 'd', 'e'] }, 400, 'texts'],
    ['a misspelt field', { txt: 'hello' }, 400, 'txt'],
    ['evidence not a boolean', { text: 'hello', evidence: 'yes' }, 400, 'evidence'],
    ['an array body', [ARTICLE], 400, 'body'],
    ['a string body', 'just text', 400, 'body'],
    ['a null body', null, 400, 'body'],
    ['a text over the character limit', { text: 'word '.repeat(4001) }, 413, 'text'],
    ['a batch text over the limit', { texts: ['ok', 'x'.repeat(20_001)] }, 413, 'texts[1]'],
    ['a body over the byte limit', { text: 'x'.repeat(70 * 1024) }, 413, undefined],
  ];
  for (const [name, body, status, field] of bad) {
    test(`rejects ${name} with ${status}${field ? ` naming ${field}` : ''}`, async () => {
      assertError(await call(`${s.url}/v1/detect`, { json: body }), status, field);
    });
  }

  test('a body over the byte limit is told the limit', async () => {
    const answer = await call(`${s.url}/v1/detect`, { json: { text: 'x'.repeat(70 * 1024) } });
    assertError(answer, 413);
    assert.match(answer.body.message, /larger than this server accepts \(\d+ bytes\)$/);
  });

  test('rejects malformed JSON, an empty body and prototype poisoning with 400', async () => {
    for (const body of ['{"text": "unterminated', '{text: 1}', '', '{"text":"a"}garbage', '{"__proto__": {"polluted": true}, "text": "a"}']) {
      const a = await call(`${s.url}/v1/detect`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      assertError(a, 400);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('says what is wrong with a body: the syntax error, a forbidden key, a compressed body', async () => {
    const post = (body: string | Uint8Array, headers: Record<string, string> = {}) =>
      call(`${s.url}/v1/detect`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    const syntax = await post('{"text": "a",}');
    assertError(syntax, 400);
    assert.equal(syntax.body.error, 'invalid_json');
    assert.match(syntax.body.message, /^the body is not valid JSON: .*(position|token|property)/i);
    for (const [body, key] of [
      ['{"__proto__": {"polluted": true}, "text": "a"}', '__proto__'],
      ['{"text": "a", "x": [{"constructor": {"prototype": {"polluted": true}}}]}', 'constructor.prototype'],
    ]) {
      const poisoned = await post(body);
      assertError(poisoned, 400);
      assert.equal(poisoned.body.error, 'forbidden_key');
      assert.equal(poisoned.body.message, `request bodies may not use the key ${key} (it could alter object prototypes)`);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const gzipped = await post(gzipSync(JSON.stringify({ text: ARTICLE })), { 'content-encoding': 'gzip' });
    assertError(gzipped, 415);
    assert.equal(gzipped.body.error, 'unsupported_encoding');
    assert.equal(gzipped.body.message, 'Content-Encoding gzip is not supported; send plain JSON');
    assert.equal((await post(JSON.stringify({ text: ARTICLE }), { 'content-encoding': 'identity' })).status, 200);
  });

  test('a body that is not UTF-8 is refused (400 invalid_encoding), not scored and audited as replacement characters; a BOM is ignored', async () => {
    const post = (body: Uint8Array, type = 'application/json') => call(`${s.url}/v1/detect`, { method: 'POST', body, headers: { 'content-type': type } });
    const recorded = s.audit!.count();
    // "café" in Latin-1 (0xE9), as a client that declares another charset, or none, might send it.
    const latin1 = Buffer.from(JSON.stringify({ text: `${ARTICLE} Le café.`, evidence: false }), 'latin1');
    for (const type of ['application/json', 'application/json; charset=iso-8859-1']) {
      const answer = await post(latin1, type);
      assertError(answer, 400);
      assert.equal(answer.body.error, 'invalid_encoding');
      assert.match(answer.body.message, /not valid UTF-8/);
    }
    assert.equal(s.audit!.count(), recorded, 'nothing scored, nothing recorded');
    // RFC 8259 lets a parser ignore a byte order mark; the CLI drops one from files too.
    const plain = await post(Buffer.from(JSON.stringify({ text: ARTICLE, evidence: false })));
    const bom = await post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ text: ARTICLE, evidence: false }))]));
    assert.equal(bom.status, 200, bom.raw);
    assert.equal(bom.raw, plain.raw);
  });

  test('rejects other media types with 415', async () => {
    assertError(await call(`${s.url}/v1/detect`, { method: 'POST', body: ARTICLE, headers: { 'content-type': 'text/plain' } }), 415);
    assertError(await call(`${s.url}/v1/detect`, { method: 'POST', body: 'text=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415);
  });

  test('a lying Content-Length, bad UTF-8 and garbage on the socket do not take the server down', async () => {
    const lie = await rawRequest(s.url, 'POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{"text": "abc"}');
    assert.ok(lie.status === 400 || lie.status === 0, String(lie.status));
    const utf8 = await rawRequest(s.url, 'POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{"text":"\xff\xfe"}');
    assert.ok([200, 400].includes(utf8.status), String(utf8.status));
    const garbage = await rawRequest(s.url, '\x00\x01\x02 NOT HTTP AT ALL\r\n\r\n');
    assert.ok(garbage.status === 400 || garbage.status === 0);
    const huge = await call(`${s.url}/v1/detect`, { method: 'POST', body: `{"text":"${'é'.repeat(1000)}","x":${'['.repeat(5000)}${']'.repeat(5000)}}`, headers: { 'content-type': 'application/json' } });
    assertError(huge, 400);
    for (let i = 0; i < 50; i++) {
      const junk = Buffer.from(Array.from({ length: 200 }, () => Math.floor(Math.random() * 256))).toString('latin1');
      const a = await call(`${s.url}/v1/detect`, { method: 'POST', body: junk, headers: { 'content-type': 'application/json' } });
      assert.ok(a.status === 400, `${a.status} ${a.raw}`);
    }
    assert.equal((await call(`${s.url}/healthz`)).status, 200);
  });

  test('unknown routes and methods answer 404 JSON', async () => {
    assertError(await call(`${s.url}/v1/nothing`), 404);
    assertError(await call(`${s.url}/v1/detect`), 404);
    assertError(await call(`${s.url}/../../etc/passwd`), 404);
    assertError(await call(`${s.url}/app.js/../../package.json`), 404);
  });
});

describe('request timeout', () => {
  test('a client that never finishes its body gets 408 and the server keeps serving', async () => {
    const s = await start({ limits: { requestTimeoutMs: 300 } });
    try {
      const { port } = new URL(s.url);
      const socket = net.connect(Number(port), '127.0.0.1');
      await once(socket, 'connect');
      socket.write('POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"text":');
      let data = '';
      socket.setEncoding('utf8').on('data', (d) => (data += d));
      const started = Date.now();
      await once(socket, 'close');
      assert.ok(Date.now() - started < 3000, 'closed within the timeout');
      assert.match(data, /^HTTP\/1\.1 408/);
      assert.equal(JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4)).error, 'request_timeout');
      assert.equal((await call(`${s.url}/healthz`)).status, 200);
    } finally {
      await s.app.close();
    }
  });
});

// ---------------------------------------------------------------- work budget, fairness, memory ceiling

/** POST from a given loopback address (127.0.0.x are distinct clients to the server), resolving with status and JSON body. */
function postFrom(url: string, localAddress: string, json: unknown): Promise<{ status: number; body: any; headers: http.IncomingHttpHeaders }> {
  const payload = JSON.stringify(json);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/v1/detect`,
      { method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('work budget, fair scheduling and the memory ceiling', () => {
  const YES = 'Yes. '.repeat(13_000);

  test('the reported body ({"texts": ["Yes. " × 13000] × 32}, 2 MB) is refused with 413 naming the limit, 20 at once, while another client is served', async () => {
    const s = await start({ audit: null });
    try {
      const flood = Array.from({ length: 20 }, () => postFrom(s.url, '127.0.0.2', { texts: Array(32).fill(YES) }));
      const small = await postFrom(s.url, '127.0.0.3', { text: ARTICLE });
      assert.equal(small.status, 200);
      for (const answer of await Promise.all(flood)) {
        assert.equal(answer.status, 413);
        assert.equal(answer.body.error, 'request_too_large');
        assert.equal(answer.body.field, 'texts');
        assert.equal(answer.body.message, 'the request has 2080000 characters of text; the limit per request is 500000 (split it into several requests)');
      }
      assert.equal(schedulerOf(s.app)!.stats().chars, 0, 'nothing was queued');
    } finally {
      await s.app.close();
    }
  });

  test('sentences per request are budgeted (422 naming the limit) and sentence detail per text is capped and flagged', async () => {
    const s = await start({ audit: null, limits: { maxSentencesPerText: 20 } });
    try {
      const over = await postFrom(s.url, '127.0.0.2', { texts: [YES, YES] });
      assert.equal(over.status, 422);
      assert.equal(over.body.error, 'too_many_sentences');
      assert.equal(over.body.field, 'texts');
      assert.equal(over.body.message, 'the texts have 13000 sentences together; the limit per request is 10000 (split it into several requests)');
      const capped = await postFrom(s.url, '127.0.0.2', { texts: ['Yes. '.repeat(100), ARTICLE], evidence: false });
      assert.equal(capped.status, 200);
      const [yes, article] = capped.body.results;
      assert.equal(yes.sentence_count, 50);
      assert.equal(yes.sentences_truncated, true);
      assert.equal(yes.sentences.length, 20);
      assert.equal(article.sentences_truncated, false);
      assert.equal(article.sentences.length, article.sentence_count);
      // The verdict and mixture test used every sentence: the same as the library on the whole text.
      assert.ok(Math.abs(yes.machine_probability - detector.predict('Yes. '.repeat(100)).machine_probability) < 1e-5);
    } finally {
      await s.app.close();
    }
  });

  test('a flood of big requests from one client does not starve another: its small request is scored next', async () => {
    const engine = await PoolEngine.start(MODEL, 1);
    const s = await start({ audit: null, engine });
    try {
      // Each ~0.4 s of scoring: 6 texts of 500 sentences (30,000 characters, 3,000 sentences: within budget).
      const big = { texts: Array(6).fill('Yes. '.repeat(1000)), evidence: false };
      const finished: string[] = [];
      const flood = Array.from({ length: 6 }, (_, i) => postFrom(s.url, '127.0.0.2', big).then((a) => (finished.push(`A${i}`), a)));
      const scheduler = schedulerOf(s.app)!;
      await until(() => scheduler.stats().queued >= 3, 'the flood to queue up');
      const queuedAhead = scheduler.stats().queued;
      const small = await postFrom(s.url, '127.0.0.3', { text: ARTICLE }).then((a) => (finished.push('B'), a));
      assert.equal(small.status, 200);
      for (const answer of await Promise.all(flood)) assert.equal(answer.status, 200);
      // First come, first served would put B last; round-robin puts it right after the request that was running.
      const afterB = finished.length - 1 - finished.indexOf('B');
      assert.ok(afterB >= queuedAhead, `${queuedAhead} queued ahead of B, ${afterB} finished after it: ${finished.join(' ')}`);
    } finally {
      await s.app.close();
    }
  });

  test('the memory ceiling holds: work past a client\'s share is a 429, past the server\'s a 503, and it frees up', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const inline = new InlineEngine(detector);
    // An engine that holds every request until the gate opens: what is admitted is decided by the limits alone.
    const engine: Engine = {
      threads: 4,
      detect: async (texts, options) => (await gate, inline.detect(texts, options)),
      detectSerialized: async (texts, options) => (await gate, inline.detectSerialized(texts, options)),
      close: async () => {},
    };
    const s = await start({ audit: null, engine, limits: { maxClientPendingChars: 25_000, maxPendingChars: 45_000 } });
    try {
      const text = 'x'.repeat(19_995) + ' end.';
      const scheduler = schedulerOf(s.app)!;
      const a1 = postFrom(s.url, '127.0.0.2', { text });
      await until(() => scheduler.stats().chars === 20_000, 'A to be admitted');
      const a2 = await postFrom(s.url, '127.0.0.2', { text });
      assert.equal(a2.status, 429);
      assert.equal(a2.body.error, 'client_busy');
      assert.equal(a2.headers['retry-after'], '1');
      assert.match(a2.body.message, /already has 20000 characters waiting or being scored; the limit is 25000/);
      const c1 = postFrom(s.url, '127.0.0.3', { text });
      await until(() => scheduler.stats().chars === 40_000, 'C to be admitted');
      const d1 = await postFrom(s.url, '127.0.0.4', { text });
      assert.equal(d1.status, 503);
      assert.equal(d1.body.error, 'server_busy');
      assert.match(d1.body.message, /the server has 40000 characters waiting or being scored; the limit is 45000/);
      open();
      assert.equal((await a1).status, 200);
      assert.equal((await c1).status, 200);
      assert.equal(scheduler.stats().chars, 0);
      assert.equal((await postFrom(s.url, '127.0.0.4', { text })).status, 200);
    } finally {
      await s.app.close();
    }
  });
});

describe('shutting down', () => {
  test('a request arriving while the server drains gets a 503 in the documented JSON shape; the one in flight finishes', async () => {
    const s = await start();
    const { port } = new URL(s.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    let data = '';
    socket.setEncoding('utf8').on('data', (d) => (data += d));
    const body = JSON.stringify({ text: ARTICLE });
    const head = (length: number) => `POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    const arrived = once(s.app.server, 'request');
    socket.write(head(Buffer.byteLength(body)) + body.slice(0, 50));
    await arrived;
    const closed = s.app.close();
    // The rest of the first request, and a second one pipelined behind it on the same connection.
    socket.write(body.slice(50) + head(Buffer.byteLength(body)) + body);
    await Promise.all([once(socket, 'close'), closed]);
    const responses = data.split(/(?=HTTP\/1\.1 )/);
    assert.equal(responses.length, 2, data);
    assert.match(responses[0], /^HTTP\/1\.1 200/);
    assert.match(responses[1], /^HTTP\/1\.1 503/);
    assert.match(responses[1], /\r\nretry-after: \d+\r\n/i);
    const error = JSON.parse(responses[1].slice(responses[1].indexOf('\r\n\r\n') + 4));
    assert.deepEqual(Object.keys(error).sort(), ['error', 'message', 'status']);
    assert.equal(error.status, 503);
    assert.equal(error.error, 'shutting_down');
  });
});

describe('access', () => {
  let s: Running;
  const token = 'correct horse battery staple';
  before(async () => (s = await start({ token })));
  after(() => s.app.close());

  test('every /v1 route needs the bearer token', async () => {
    for (const [route, init] of [
      ['/v1/detect', { json: { text: ARTICLE } }],
      ['/v1/models', {}],
      ['/v1/audit', {}],
    ] as const) {
      const none = await call(`${s.url}${route}`, init);
      assertError(none, 401);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      assertError(await call(`${s.url}${route}`, { ...init, headers: { authorization: 'Bearer wrong' } }), 401);
      assertError(await call(`${s.url}${route}`, { ...init, headers: { authorization: `Basic ${token}` } }), 401);
      assertError(await call(`${s.url}${route}`, { ...init, headers: { authorization: `Bearer ${token}x` } }), 401);
      const ok = await call(`${s.url}${route}`, { ...init, headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200, ok.raw);
      // The scheme is case-insensitive (RFC 9110), as the README says.
      assert.equal((await call(`${s.url}${route}`, { ...init, headers: { authorization: `bearer ${token}` } })).status, 200);
    }
  });

  test('health, metrics, the page and the API description stay open', async () => {
    for (const route of ['/healthz', '/metrics', '/', '/openapi.json', '/app.js']) assert.equal((await call(`${s.url}${route}`)).status, 200, route);
  });
});

describe('rate limit', () => {
  test('per client: 429 with Retry-After and a JSON error past the limit; other routes unaffected', async () => {
    const s = await start({ rateLimit: { max: 3, windowMs: 60_000 } });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await call(`${s.url}/v1/detect`, { json: { text: ARTICLE } })).status, 200);
      const limited = await call(`${s.url}/v1/detect`, { json: { text: ARTICLE } });
      assertError(limited, 429);
      const retry = Number(limited.headers.get('retry-after'));
      assert.ok(retry > 0 && retry <= 60, `Retry-After ${retry}`);
      // The window is the configured one; the time left is Retry-After's, and named as such.
      assert.match(limited.body.message, new RegExp(`^rate limit of 3 requests per 60 s exceeded; retry in ${retry} s \\(Retry-After\\)$`));
      assertError(await call(`${s.url}/v1/models`), 429);
      assert.equal((await call(`${s.url}/healthz`)).status, 200);
      assert.equal((await call(`${s.url}/metrics`)).status, 200);
      assert.equal(s.audit!.count(), 3, 'a refused request records nothing');
    } finally {
      await s.app.close();
    }
  });
});

describe('audit store', () => {
  test('records every verdict: time, SHA-256, length, model, probability, verdict; text only when asked', async () => {
    const db = path.join(dir, 'records.db');
    const s = await start({ db });
    const before = new Date().toISOString();
    await call(`${s.url}/v1/detect`, { json: { text: ARTICLE } });
    await call(`${s.url}/v1/detect`, { json: { texts: [MACHINE, 'Short note. Two sentences.'] } });
    const a = await call(`${s.url}/v1/audit`);
    assert.equal(a.status, 200, a.raw);
    assert.equal(a.body.records.length, 3);
    const [first, second] = a.body.records;
    const { createHash } = await import('node:crypto');
    assert.equal(first.sha256, createHash('sha256').update(ARTICLE).digest('hex'));
    assert.equal(first.length, ARTICLE.length);
    assert.equal(first.model_version, detector.version);
    assert.equal(first.text, null);
    assert.ok(first.time >= before);
    assert.ok(second.machine_probability > first.machine_probability);
    assert.equal(second.verdict, detectText(detector, MACHINE).verdict);
    assert.equal(a.body.records[2].verdict, 'uncertain', 'a two-sentence note is recorded as uncertain, not as human');
    await s.app.close();

    const withText = await start({ storeText: true });
    await call(`${withText.url}/v1/detect`, { json: { text: MACHINE } });
    assert.equal((await call(`${withText.url}/v1/audit`)).body.records[0].text, MACHINE);
    await withText.app.close();
  });

  test('a verdict that cannot be recorded is not given: 503 audit_unavailable with Retry-After, /healthz says failing, both recover', async () => {
    const db = path.join(dir, 'locked.db');
    const store = new AuditStore(db, false, 20);
    const s = await start({ audit: store });
    try {
      assert.equal((await call(`${s.url}/v1/detect`, { json: { text: ARTICLE } })).status, 200);
      // Another process holds the write lock past the busy timeout.
      const { default: Database } = await import('better-sqlite3');
      const other = new Database(db);
      other.exec('BEGIN IMMEDIATE; CREATE TABLE holding_the_lock (x)'); // a write: WAL takes the lock with it
      const refused = await call(`${s.url}/v1/detect`, { json: { text: ARTICLE } });
      assertError(refused, 503);
      assert.equal(refused.body.error, 'audit_unavailable');
      assert.match(refused.body.message, /could not be recorded in the audit trail \(database is locked\)/);
      assert.equal(refused.headers.get('retry-after'), '1');
      const failing = (await call(`${s.url}/healthz`)).body;
      assert.equal(failing.status, 'ok');
      assert.equal(failing.audit, 'failing');
      assert.match(failing.audit_error, /locked/);
      assert.ok(!Number.isNaN(Date.parse(failing.audit_failing_since)));
      other.exec('ROLLBACK');
      other.close();
      assert.equal((await call(`${s.url}/v1/detect`, { json: { text: MACHINE } })).status, 200);
      assert.equal((await call(`${s.url}/healthz`)).body.audit, 'ok');
      assert.equal(store.count(), 2, 'the refused request left no record; the others did');
    } finally {
      await s.app.close();
    }
  });

  test('since, after and limit page through the records; bad parameters are 400s naming them', async () => {
    const s = await start();
    try {
      for (let i = 0; i < 5; i++) await call(`${s.url}/v1/detect`, { json: { text: `${ARTICLE} ${i}` } });
      const page1 = await call(`${s.url}/v1/audit?limit=2`);
      assert.equal(page1.body.records.length, 2);
      const page2 = await call(`${s.url}/v1/audit?limit=2&after=${page1.body.next_after}`);
      const page3 = await call(`${s.url}/v1/audit?limit=2&after=${page2.body.next_after}`);
      assert.equal(page3.body.records.length, 1);
      assert.equal(page3.body.next_after, null);
      const ids = [...page1.body.records, ...page2.body.records, ...page3.body.records].map((r: { id: number }) => r.id);
      assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
      assert.equal(new Set(ids).size, 5);
      const future = await call(`${s.url}/v1/audit?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
      assert.equal(future.body.records.length, 0);
      const past = await call(`${s.url}/v1/audit?since=2000-01-01T00:00:00%2B02:00`);
      assert.equal(past.body.records.length, 5);
      assertError(await call(`${s.url}/v1/audit?limit=0`), 400, 'limit');
      assertError(await call(`${s.url}/v1/audit?limit=100000`), 400, 'limit');
      assertError(await call(`${s.url}/v1/audit?limit=ten`), 400, 'limit');
      assertError(await call(`${s.url}/v1/audit?since=yesterday`), 400, 'since');
      // Without a time zone the instant is ambiguous: the message says what is missing, with examples.
      const local = await call(`${s.url}/v1/audit?since=2026-03-01T00:00:00`);
      assertError(local, 400, 'since');
      assert.match(local.body.message, /^query parameter since must be an RFC 3339 date-time with a time zone, e\.g\. 2026-03-01T00:00:00Z/);
      assertError(await call(`${s.url}/v1/audit?after=-1`), 400, 'after');
      assertError(await call(`${s.url}/v1/audit?sort=desc`), 400, 'sort');
    } finally {
      await s.app.close();
    }
  });

  test('since takes every instant RFC 3339 allows: a leap second, and an offset that moves it past year 9999', async () => {
    const s = await start();
    try {
      await call(`${s.url}/v1/detect`, { json: { text: ARTICLE } });
      // 23:59:60 (a leap second) is valid date-time; it is the instant after 23:59:59, not a server error.
      const leap = await call(`${s.url}/v1/audit?since=2016-12-31T23:59:60Z`);
      assert.equal(leap.status, 200, leap.raw);
      assert.equal(leap.body.records.length, 1);
      const leapAfter = await call(`${s.url}/v1/audit?since=9998-12-31T23:59:60.5Z`);
      assert.equal(leapAfter.status, 200, leapAfter.raw);
      assert.equal(leapAfter.body.records.length, 0);
      // 9999-12-31T23:59:59-23:59 is in year 10000 (UTC): after every record, not before them.
      const far = await call(`${s.url}/v1/audit?since=${encodeURIComponent('9999-12-31T23:59:59-23:59')}`);
      assert.equal(far.status, 200, far.raw);
      assert.deepEqual(far.body.records, []);
      assert.equal(far.body.next_after, null);
    } finally {
      await s.app.close();
    }
  });

  test('survives a restart', async () => {
    const db = path.join(dir, 'restart.db');
    const first = await start({ db });
    await call(`${first.url}/v1/detect`, { json: { texts: [ARTICLE, MACHINE] } });
    await first.app.close();
    const second = await start({ db });
    await call(`${second.url}/v1/detect`, { json: { text: ARTICLE } });
    const records = (await call(`${second.url}/v1/audit`)).body.records;
    assert.equal(records.length, 3);
    assert.deepEqual(records.map((r: { id: number }) => r.id), [1, 2, 3]);
    await second.app.close();
  });

  test('concurrent requests to two servers sharing one file (one on scoring threads): nothing lost', async () => {
    const db = path.join(dir, 'concurrent.db');
    const a = await start({ db });
    const b = await start({ db, engine: await PoolEngine.start(MODEL, 2) });
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
      const post = (url: string, text: string) =>
        new Promise<number>((resolve, reject) => {
          const body = JSON.stringify({ text });
          const req = http.request(`${url}/v1/detect`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
            res.resume().on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject).end(body);
        });
      const statuses = await Promise.all(
        Array.from({ length: 300 }, (_, i) => post(i % 2 ? a.url : b.url, `${i % 3 ? ARTICLE : MACHINE} [${i}]`)),
      );
      agent.destroy();
      assert.deepEqual(new Set(statuses), new Set([200]));
      const check = new AuditStore(db);
      const all = check.list({ limit: 1000 });
      check.close();
      assert.equal(all.length, 300);
      assert.equal(new Set(all.map((r) => r.sha256)).size, 300);
    } finally {
      await a.app.close();
      await b.app.close();
    }
  });
});

describe('models, health, metrics', () => {
  let s: Running;
  before(async () => (s = await start()));
  after(() => s.app.close());

  test('GET /v1/models describes the loaded model', async () => {
    const a = await call(`${s.url}/v1/models`);
    assert.equal(a.status, 200);
    assert.equal(a.body.models[0].version, detector.version);
    assert.equal(a.body.models[0].threshold, detector.threshold);
  });

  test('GET /healthz', async () => {
    const a = await call(`${s.url}/healthz`);
    assert.deepEqual({ ...a.body, uptime_seconds: 0 }, { status: 'ok', model_version: detector.version, uptime_seconds: 0, audit: 'ok' });
  });

  test('GET /metrics: requests by route and status, latency histogram, verdicts, in Prometheus text format', async () => {
    await call(`${s.url}/v1/detect`, { json: { texts: [ARTICLE, MACHINE] } });
    await call(`${s.url}/v1/detect`, { json: { text: 7 } });
    await call(`${s.url}/no/such/${'x'.repeat(20)}`);
    const a = await call(`${s.url}/metrics`);
    assert.match(a.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = a.raw;
    assert.match(text, /^copydesk_http_requests_total\{method="POST",route="\/v1\/detect",status="200"\} 1$/m);
    assert.match(text, /^copydesk_http_requests_total\{method="POST",route="\/v1\/detect",status="400"\} 1$/m);
    assert.match(text, /^copydesk_http_requests_total\{method="GET",route="unmatched",status="404"\} 1$/m, 'raw URLs never become labels');
    // prom-client writes the bucket's le label first (label order carries no meaning in the format).
    assert.match(text, /^copydesk_http_request_duration_seconds_bucket\{le="\+Inf",method="POST",route="\/v1\/detect"\} 2$/m);
    assert.match(text, /^copydesk_http_request_duration_seconds_count\{method="POST",route="\/v1\/detect"\} 2$/m);
    const verdicts = [...text.matchAll(/^copydesk_verdicts_total\{verdict="(\w+)"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[2]), 0);
    assert.equal(verdicts, 2);
    // Every sample line is name{labels} value; every metric has HELP and TYPE (prom-client separates metrics by a blank line).
    for (const line of text.trim().split('\n').filter((l) => l !== '')) {
      if (line.startsWith('#')) assert.match(line, /^# (HELP|TYPE) [a-z_]+ .+$/);
      else assert.match(line, /^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? [0-9.e+-]+$/, line);
    }
    // Histogram buckets are cumulative.
    const buckets = [...text.matchAll(/le="[^"]+",method="POST",route="\/v1\/detect"\} (\d+)/g)].map((m) => Number(m[1]));
    assert.equal(buckets.length, 14);
    assert.deepEqual(buckets, [...buckets].sort((x, y) => x - y));
  });
});

// ---------------------------------------------------------------- OpenAPI

type Schema = Record<string, any>;
const KNOWN = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'minimum', 'maximum', 'minLength', 'minItems', 'maxItems', 'pattern', 'format', '$ref', 'oneOf', 'description', 'default']);

/** A strict validator for the JSON Schema subset the description uses; an unknown keyword fails rather than passes. */
function validate(schema: Schema, value: unknown, root: Schema, at = '$'): string[] {
  for (const key of Object.keys(schema)) if (!KNOWN.has(key)) return [`${at}: schema keyword ${key} unsupported by this check`];
  if (schema.$ref) {
    const target = (schema.$ref as string).replace(/^#\//, '').split('/').reduce((o: any, k) => o?.[k], root);
    if (!target) return [`${at}: dangling $ref ${schema.$ref}`];
    return validate(target, value, root, at);
  }
  if (schema.oneOf) {
    const passing = (schema.oneOf as Schema[]).filter((s) => validate(s, value, root, at).length === 0).length;
    return passing === 1 ? [] : [`${at}: matches ${passing} of oneOf`];
  }
  const errors: string[] = [];
  if (schema.type) {
    const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    const ok = types.some((t) => t === actual || (t === 'integer' && Number.isInteger(value)));
    if (!ok) return [`${at}: ${actual} is not ${types.join('|')}`];
  }
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${at}: ${String(value)} not in enum`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${at}: below minimum`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${at}: above maximum`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${at}: too short`);
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) errors.push(`${at}: does not match ${schema.pattern}`);
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) errors.push(`${at}: not a date-time`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${at}: too few items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(`${at}: too many items`);
    if (schema.items) value.forEach((item, i) => errors.push(...validate(schema.items, item, root, `${at}[${i}]`)));
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in object)) errors.push(`${at}: missing ${key}`);
    for (const [key, v] of Object.entries(object)) {
      const sub = schema.properties?.[key];
      if (sub) errors.push(...validate(sub, v, root, `${at}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${at}: undocumented property ${key}`);
    }
  }
  return errors;
}

describe('OpenAPI description', () => {
  let s: Running;
  let routes: Array<{ method: string; url: string }>;
  const token = 'openapi-token';
  before(async () => {
    routes = [];
    const audit = new AuditStore(path.join(dir, 'openapi.db'));
    // A limit of 8: the test's ninth authenticated /v1 call (the last) is refused, so 429 is checked too.
    const app = await buildApp({ detector, audit, token, rateLimit: { max: 8, windowMs: 60_000 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    s = { app, url: `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`, audit };
    routes = registeredRoutes(app);
  });
  after(() => s.app.close());

  test('documents exactly the routes the server has (besides the page\'s asset files)', async () => {
    const doc = (await call(`${s.url}/openapi.json`)).body;
    assert.equal(doc.openapi, '3.1.0');
    const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${p}`)));
    const assets = new Set(['/index.html', '/app.js', '/style.css', '/favicon.svg']);
    const served = new Set(routes.filter((r) => r.method !== 'HEAD' && !assets.has(r.url)).map((r) => `${r.method} ${r.url}`));
    assert.ok(served.size >= 7, [...served].join(', '));
    assert.deepEqual([...served].sort(), [...documented].sort());
  });

  test('real answers validate against the documented schemas, errors included', async () => {
    const doc = (await call(`${s.url}/openapi.json`)).body;
    const auth = { authorization: `Bearer ${token}` };
    const calls: Array<[string, string, Answer]> = [];
    const record = async (method: string, route: string, url: string, init: Parameters<typeof call>[1] = {}) =>
      calls.push([method, route, await call(`${s.url}${url}`, init)]);
    await record('post', '/v1/detect', '/v1/detect', { json: { text: ARTICLE }, headers: auth });
    await record('post', '/v1/detect', '/v1/detect', { json: { texts: [ARTICLE, MACHINE] }, headers: auth });
    await record('post', '/v1/detect', '/v1/detect', { json: { text: 1 }, headers: auth });
    await record('post', '/v1/detect', '/v1/detect', { json: { text: 'x'.repeat(200_000) }, headers: auth });
    await record('post', '/v1/detect', '/v1/detect', { method: 'POST', body: 'x', headers: { ...auth, 'content-type': 'text/plain' } });
    await record('post', '/v1/detect', '/v1/detect', { json: { text: ARTICLE } });
    await record('get', '/v1/models', '/v1/models', { headers: auth });
    await record('get', '/v1/audit', '/v1/audit?limit=1', { headers: auth });
    await record('get', '/v1/audit', '/v1/audit?limit=x', { headers: auth });
    await record('get', '/v1/audit', '/v1/audit', { headers: auth }); // the ninth authenticated /v1 call: past the limit
    await record('get', '/healthz', '/healthz');
    await record('get', '/metrics', '/metrics');
    await record('get', '/openapi.json', '/openapi.json');
    await record('get', '/', '/');
    const seen = new Set<string>();
    for (const [method, route, answer] of calls) {
      const operation = doc.paths[route][method];
      const documented = operation.responses[String(answer.status)];
      assert.ok(documented, `${method} ${route} answered ${answer.status}, which is not documented`);
      const [type, media] = Object.entries(documented.content as Record<string, { schema: Schema }>)[0];
      assert.ok((answer.headers.get('content-type') ?? '').startsWith(type), `${route}: ${answer.headers.get('content-type')} vs ${type}`);
      const value = type === 'application/json' ? answer.body : answer.raw;
      assert.deepEqual(validate(media.schema, value, doc), [], `${method} ${route} ${answer.status}`);
      seen.add(`${method} ${route} ${answer.status}`);
    }
    for (const status of ['200', '400', '401', '413', '415', '429']) assert.ok([...seen].some((k) => k.endsWith(` ${status}`)), status);
    for (const [route, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops as object)) assert.ok([...seen].some((k) => k.startsWith(`${method} ${route} 200`)), `${method} ${route} never called`);
    }
  });

  test('the sentence budget\'s 422 and the draining 503 are documented where they are answered', async () => {
    const plain = await start({ audit: null, limits: { maxRequestSentences: 20 } });
    try {
      const doc = (await call(`${plain.url}/openapi.json`)).body;
      const answer = await call(`${plain.url}/v1/detect`, { json: { text: 'Yes. '.repeat(60) } });
      assertError(answer, 422, 'text');
      const documented = doc.paths['/v1/detect'].post.responses['422'];
      assert.ok(documented, 'POST /v1/detect answers 422, which is not documented');
      assert.match(documented.description, /20 sentences/);
      assert.deepEqual(validate(documented.content['application/json'].schema, answer.body, doc), []);
      // Every route answers 503 shutting_down while the server drains (see 'shutting down').
      for (const [route, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops as Record<string, { responses: Record<string, unknown> }>)) assert.ok(op.responses['503'], `${method} ${route}: 503 not documented`);
      }
    } finally {
      await plain.app.close();
    }
  });

  test('the documented request schema is the one the route enforces', async () => {
    const doc = (await call(`${s.url}/openapi.json`)).body;
    const request = doc.components.schemas.DetectRequest;
    assert.deepEqual(validate(request, { text: 'a' }, doc), []);
    assert.notDeepEqual(validate(request, { text: 1 }, doc), []);
    assert.notDeepEqual(validate(request, { other: 1 }, doc), []);
    assert.equal(request.properties.texts.maxItems, 32);
  });
});

// ---------------------------------------------------------------- the CLI, graceful shutdown

describe('copydesk serve (the CLI)', () => {
  test('SIGTERM: stops accepting, finishes the request in flight, closes the database, exits 0', async () => {
    const db = path.join(dir, 'shutdown.db');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '--port', '0', '--db', db, '--workers', '0', '--log-level', 'error'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, COPYDESK_API_TOKEN: '' } },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.stdout.resume();
    const exited = once(child, 'exit');
    try {
      // The empty token is refused: a typo in a deployment must not silently mean "no auth".
      const [code] = await exited;
      assert.equal(code, 2);
      assert.match(stderr, /COPYDESK_API_TOKEN is set but empty/);
    } finally {
      child.kill('SIGKILL');
    }

    const env = { ...process.env };
    delete env.COPYDESK_API_TOKEN;
    const server = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '--port', '0', '--db', db, '--workers', '0', '--log-level', 'error'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env },
    );
    let log = '';
    server.stderr.setEncoding('utf8').on('data', (d) => (log += d));
    server.stdout.resume();
    const done = once(server, 'exit');
    try {
      const deadline = Date.now() + 30_000;
      while (!/serving (http:\S+)/.test(log)) {
        if (Date.now() > deadline || server.exitCode !== null) throw new Error(`server did not start: ${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const url = /serving (http:\S+)/.exec(log)![1];
      const { port } = new URL(url);

      // A request in flight: headers and half the body sent.
      const body = JSON.stringify({ text: ARTICLE });
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(`${url}/v1/detect`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.write(body.slice(0, 100));
        setTimeout(() => {
          server.kill('SIGTERM');
          // Give the server a moment to stop listening, then check it refuses new connections and finish the body.
          setTimeout(async () => {
            const refused = await new Promise<boolean>((r) => {
              const probe = net.connect(Number(port), '127.0.0.1');
              probe.on('connect', () => (probe.destroy(), r(false)));
              probe.on('error', () => r(true));
            });
            assert.ok(refused, 'new connections are refused while stopping');
            req.end(body.slice(100));
          }, 300);
        }, 200);
      });
      const answer = await response;
      assert.equal(answer.status, 200, answer.body);
      assert.equal(JSON.parse(answer.body).model_version, detector.version);
      const [code, signal] = await done;
      assert.equal(signal, null);
      assert.equal(code, 0, log);
      assert.match(log, /audit database closed/);
      const store = new AuditStore(db);
      assert.equal(store.count(), 1, 'the request finished during shutdown was recorded');
      store.close();
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
    }
  });

  test('--db that is not a database or cannot be opened: one line, exit 2, as for a busy port', async () => {
    const notDb = path.join(dir, 'notes.txt');
    writeFileSync(notDb, 'these are notes, not a SQLite database; '.repeat(100));
    const env = { ...process.env };
    delete env.COPYDESK_API_TOKEN;
    // --workers 1: scoring threads must not keep a failed server alive.
    for (const db of [notDb, dir]) {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '--port', '0', '--db', db, '--workers', '1'], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
        env,
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const [code, signal] = await once(child, 'exit');
      clearTimeout(timer);
      assert.equal(signal, null, `still running: ${stderr}`);
      assert.equal(code, 2, stderr);
      assert.match(stderr, new RegExp(`^copydesk: cannot open audit database ${db.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .+\n$`));
      assert.doesNotMatch(stderr, /serving|\n\s+at /);
    }
  });

  test('--help lists the options', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '--help'], { cwd: ROOT });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    await once(child, 'exit');
    for (const flag of ['--port', '--host', '--model', '--db', '--store-text', '--rate-limit', '--max-body-bytes', 'COPYDESK_API_TOKEN']) assert.ok(out.includes(flag), flag);
  });
});
