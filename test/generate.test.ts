import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ChatClient, chatCompletionsUrl, ApiError } from '../src/generate/client.js';
import { generateCorpus, type GenerateOptions } from '../src/generate/generate.js';
import {
  buildPrompt,
  DEFAULT_PROMPTS,
  formatHighlights,
  joinContinuation,
  loadPromptTemplates,
  parsePromptTemplates,
} from '../src/generate/prompts.js';
import { flagOutput, isRefusal } from '../src/generate/quality.js';
import { repairTornLine } from '../src/generate/resume.js';
import { UserError } from '../src/util/errors.js';
import { machineText, startFakeOpenAI, type FakeServer } from './fixtures/generate/fake-openai.js';
import { seedStories, toJsonl } from './fixtures/generate/stories.js';

let server: FakeServer;
let dir: string;
let seedFile: string;

before(async () => {
  server = await startFakeOpenAI();
  dir = mkdtempSync(path.join(tmpdir(), 'copydesk-generate-'));
  seedFile = path.join(dir, 'seed.jsonl');
  writeFileSync(seedFile, toJsonl(seedStories(8)));
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.requests.length = 0;
  server.setHandler((r) => ({ kind: 'ok', text: machineText(r.user) }));
});

let outCounter = 0;
function freshOut(): string {
  return path.join(dir, `out-${++outCounter}.jsonl`);
}

function options(extra: Partial<GenerateOptions> = {}): GenerateOptions {
  return {
    data: [seedFile],
    out: freshOut(),
    endpoint: server.url,
    model: 'fake-model',
    concurrency: 3,
    timeoutMs: 2000,
    progress: { silent: true },
    ...extra,
  };
}

function readJsonl(file: string): any[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/** The story id a request was for (the fixture's highlights name a unique place/count per story). */
function storyOf(user: string): string {
  const stories = seedStories(8);
  return stories.find((s) => user.includes(s.highlights.split('\n')[0]) || user.includes(s.article))?.id ?? '?';
}

describe('prompts', () => {
  test('defaults fill every placeholder for every mode', () => {
    const story = { id: 'x', article: 'One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen.', highlights: 'A happened .\nB followed .' };
    for (const mode of ['highlights', 'continue', 'rewrite'] as const) {
      const p = buildPrompt(mode, story);
      assert.doesNotMatch(p.user, /\{\{/);
      assert.equal(p.system, DEFAULT_PROMPTS.system);
    }
    assert.match(buildPrompt('highlights', story).user, /A happened \.\nB followed \./);
    const cont = buildPrompt('continue', story, DEFAULT_PROMPTS, 15);
    assert.equal(cont.prefix, 'One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen');
    assert.ok(cont.user.endsWith(cont.prefix!));
    assert.ok(buildPrompt('rewrite', story).user.includes(story.article));
  });

  test('PAN-style JSON key points become one per line', () => {
    assert.equal(formatHighlights('["First point.", "Second point."]'), '- First point.\n- Second point.');
    assert.equal(formatHighlights('[not json'), '[not json');
  });

  test('template files: partial override, null system, unknown keys and placeholders refused', async () => {
    const t = parsePromptTemplates({ system: null, rewrite: 'Say it again: {{article}}' });
    assert.equal(t.system, '');
    assert.equal(t.highlights, DEFAULT_PROMPTS.highlights);
    assert.equal(buildPrompt('rewrite', { id: 'a', article: 'Hello there.', highlights: null }, t).system, null);
    assert.throws(() => parsePromptTemplates({ summary: 'x' }), UserError);
    assert.throws(() => parsePromptTemplates({ rewrite: 'x {{body}}' }), /unknown placeholder \{\{body\}\}/);
    const file = path.join(dir, 'bad-prompts.json');
    writeFileSync(file, '{"rewrite": ');
    await assert.rejects(loadPromptTemplates(file), (e: Error) => e instanceof UserError && e.message.includes(file));
  });

  test('a template that leaves out its story placeholder is refused (every output would be unpaired from its story)', () => {
    assert.throws(() => parsePromptTemplates({ highlights: 'Write a short news article about a town.' }), /"highlights" does not use \{\{highlights\}\}/);
    assert.throws(() => parsePromptTemplates({ continue: 'Continue this article: {{article}}' }), /"continue" does not use \{\{prefix\}\}/);
    assert.throws(() => parsePromptTemplates({ rewrite: 'Rewrite it in about {{words}} words.' }), /"rewrite" does not use \{\{article\}\}/);
    assert.equal(parsePromptTemplates({ rewrite: 'Rewrite: {{ article }}' }).rewrite, 'Rewrite: {{ article }}');
  });

  test('continuations read as the article would', () => {
    assert.equal(joinContinuation('The mayor said', 'on Tuesday that'), 'The mayor said on Tuesday that');
    assert.equal(joinContinuation('The mayor said', 'The mayor said on Tuesday'), 'The mayor said on Tuesday');
    assert.equal(joinContinuation('The mayor', ', who'), 'The mayor, who');
  });
});

describe('flagging', () => {
  test('refusals, empty, truncated and filtered outputs are flagged; news is not', () => {
    assert.equal(flagOutput("I'm sorry, but I can't help with that request.", 'stop'), 'refusal');
    assert.equal(flagOutput('As an AI language model, I cannot write news.', 'stop'), 'refusal');
    assert.equal(flagOutput('I apologize, but I cannot fulfil this.', 'stop'), 'refusal');
    assert.equal(flagOutput('Sorry, but I won\u2019t write that.', 'stop'), 'refusal');
    assert.equal(flagOutput('  \n ', 'stop'), 'empty');
    assert.equal(flagOutput('', null, 'I cannot help with that.'), 'refusal');
    assert.equal(flagOutput('The council met on Tuesday and', 'length'), 'truncated');
    assert.equal(flagOutput('Some text.', 'content_filter'), 'content-filter');
    assert.equal(flagOutput('The council met on Tuesday to discuss the budget.', 'stop'), null);
    assert.equal(isRefusal('"I can\'t believe it," said the mayor after the vote.'), false);
    assert.equal(isRefusal('We cannot ignore the evidence, the minister said.'), false);
  });
});

describe('flagging: the server\'s finish reason names the cause of an empty output', () => {
  test('a filtered or cut-off completion with no text is content-filter or truncated, not empty', () => {
    assert.equal(flagOutput('', 'content_filter'), 'content-filter');
    assert.equal(flagOutput('', 'length'), 'truncated');
    assert.equal(flagOutput('', 'stop'), 'empty');
    assert.equal(flagOutput('', null), 'empty');
  });
});

describe('client', () => {
  test('endpoint URLs', () => {
    assert.equal(chatCompletionsUrl('http://h:8000/v1'), 'http://h:8000/v1/chat/completions');
    assert.equal(chatCompletionsUrl('http://h:8000/v1/'), 'http://h:8000/v1/chat/completions');
    assert.equal(chatCompletionsUrl('http://h:11434'), 'http://h:11434/v1/chat/completions');
    assert.equal(chatCompletionsUrl('https://x/openai/v1/chat/completions'), 'https://x/openai/v1/chat/completions');
    assert.throws(() => chatCompletionsUrl('ftp://x'), ApiError);
  });

  test('plain response: text, finish_reason, usage, bearer key, request body', async () => {
    server.setHandler(() => ({ kind: 'ok', text: 'Hello world.' }));
    const client = new ChatClient({ endpoint: server.url, model: 'm1', apiKey: 'sk-abc', maxTokens: 100, temperature: 0.5 });
    const c = await client.complete([{ role: 'user', content: 'hi there' }]);
    assert.equal(c.text, 'Hello world.');
    assert.equal(c.finishReason, 'stop');
    assert.deepEqual(c.usage, { promptTokens: 2, completionTokens: 2 });
    assert.equal(c.attempts, 1);
    const req = server.requests[0];
    assert.equal(req.headers.authorization, 'Bearer sk-abc');
    assert.equal(req.body.model, 'm1');
    assert.equal(req.body.max_tokens, 100);
    assert.equal(req.body.temperature, 0.5);
    assert.equal(req.body.stream, undefined);
  });

  test('no key, no Authorization header', async () => {
    const client = new ChatClient({ endpoint: server.url, model: 'm1' });
    await client.complete([{ role: 'user', content: 'hi' }]);
    assert.equal(server.requests[0].headers.authorization, undefined);
  });

  test('streamed response: deltas accumulated, finish_reason and usage taken, CRLF and comments tolerated', async () => {
    const text = 'Streaming works, word by word, across many chunks.';
    server.setHandler(() => ({ kind: 'ok', text, finishReason: 'length' }));
    const client = new ChatClient({ endpoint: server.url, model: 'm1', stream: true });
    const c = await client.complete([{ role: 'user', content: 'one two three' }]);
    assert.equal(c.text, text);
    assert.equal(c.finishReason, 'length');
    assert.deepEqual(c.usage, { promptTokens: 3, completionTokens: 8 });
    assert.equal(server.requests[0].body.stream, true);
    assert.deepEqual(server.requests[0].body.stream_options, { include_usage: true });
  });

  test('SSE events split across data lines and a server that ignores stream: true', async () => {
    const events =
      'data: {"choices":[{"delta":{"content":"Hel"},"finish_reason":null}]}\n\n' +
      'event: message\ndata: {"choices":[{"delta":{"content":"lo"},\ndata: "finish_reason":"stop"}]}\n\n' +
      'data: [DONE]\n\n' +
      'data: {"choices":[{"delta":{"content":" IGNORED AFTER DONE"}}]}\n\n';
    server.setHandler(() => ({ kind: 'raw', contentType: 'text/event-stream', body: events }));
    const client = new ChatClient({ endpoint: server.url, model: 'm', stream: true });
    const c = await client.complete([{ role: 'user', content: 'x' }]);
    assert.equal(c.text, 'Hello');
    assert.equal(c.finishReason, 'stop');
    assert.equal(c.usage, null);
    // a server that ignores `stream: true` and answers with plain JSON
    const plain = new ChatClient({ endpoint: server.url, model: 'm', stream: true });
    server.setHandler(() => ({
      kind: 'raw',
      contentType: 'application/json',
      body: JSON.stringify({ choices: [{ message: { content: 'Plain JSON anyway.' }, finish_reason: 'stop' }] }),
    }));
    assert.equal((await plain.complete([{ role: 'user', content: 'x' }])).text, 'Plain JSON anyway.');
  });

  test('429 with Retry-After is honoured (and beats the tiny backoff)', async () => {
    let calls = 0;
    server.setHandler(() => (++calls === 1 ? { kind: 'status', status: 429, headers: { 'retry-after': '1' } } : { kind: 'ok', text: 'Done.' }));
    const delays: number[] = [];
    const client = new ChatClient({ endpoint: server.url, model: 'm', onRetry: (i) => delays.push(i.delayMs) });
    const t0 = Date.now();
    const c = await client.complete([{ role: 'user', content: 'x' }]);
    assert.equal(c.text, 'Done.');
    assert.equal(c.attempts, 2);
    // The SDK waits; the client measures the wait (it no longer chooses it).
    assert.equal(delays.length, 1);
    assert.ok(delays[0] >= 950, `retried after ${delays[0]} ms`);
    assert.ok(Date.now() - t0 >= 950, `waited ${Date.now() - t0} ms`);
  });

  test('500s then success; backoff is exponential (the SDK\'s: 0.5 s doubling, at most 25% jitter)', async () => {
    let calls = 0;
    server.setHandler(() => (++calls <= 2 ? { kind: 'status', status: calls === 2 ? 503 : 500 } : { kind: 'ok', text: 'Finally.' }));
    const retries: Array<{ delayMs: number; reason: string }> = [];
    const client = new ChatClient({ endpoint: server.url, model: 'm', onRetry: (i) => retries.push(i) });
    const c = await client.complete([{ role: 'user', content: 'x' }]);
    assert.equal(c.text, 'Finally.');
    assert.equal(c.attempts, 3);
    assert.deepEqual(retries.map((r) => r.reason), ['http-500', 'http-503']);
    // 375–500 ms, then 750–1000 ms: the second wait is always the longer.
    assert.ok(retries[1].delayMs > retries[0].delayMs, JSON.stringify(retries));
  });

  test('persistent 503 gives up as exhausted after maxRetries', async () => {
    server.setHandler(() => ({ kind: 'status', status: 503 }));
    const client = new ChatClient({ endpoint: server.url, model: 'm', maxRetries: 2 });
    await assert.rejects(client.complete([{ role: 'user', content: 'x' }]), (e: ApiError) => {
      assert.equal(e.kind, 'exhausted');
      assert.equal(e.reason, 'http-503');
      assert.match(e.message, /gave up after 3 attempts/);
      return true;
    });
    assert.equal(server.requests.length, 3);
  });

  test('timeouts are retried; a hanging server fails with reason timeout', async () => {
    let calls = 0;
    server.setHandler(() => (++calls === 1 ? { kind: 'hang' } : { kind: 'ok', text: 'Late but fine.' }));
    const client = new ChatClient({ endpoint: server.url, model: 'm', timeoutMs: 150 });
    assert.equal((await client.complete([{ role: 'user', content: 'x' }])).text, 'Late but fine.');
    server.setHandler(() => ({ kind: 'hang' }));
    const t0 = Date.now();
    await assert.rejects(
      new ChatClient({ endpoint: server.url, model: 'm', timeoutMs: 100, maxRetries: 1 }).complete([{ role: 'user', content: 'x' }]),
      (e: ApiError) => e.kind === 'exhausted' && e.reason === 'timeout' && /timed out/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 1500);
  });

  test('a stream that stalls mid-way hits the timeout too', async () => {
    server.setHandler(() => ({ kind: 'ok', text: 'one two three four five six', chunkDelayMs: 100 }));
    await assert.rejects(
      new ChatClient({ endpoint: server.url, model: 'm', stream: true, timeoutMs: 150, maxRetries: 0 }).complete([{ role: 'user', content: 'x' }]),
      (e: ApiError) => e.reason === 'timeout',
    );
  });

  test('malformed JSON bodies and cut streams fail the record, reported (the SDK retries only up to the headers)', async () => {
    server.setHandler(() => ({ kind: 'raw', contentType: 'application/json', body: '{"choices": [' }));
    await assert.rejects(
      new ChatClient({ endpoint: server.url, model: 'm' }).complete([{ role: 'user', content: 'x' }]),
      (e: ApiError) => e.kind === 'exhausted' && e.reason === 'malformed',
    );
    assert.equal(server.requests.length, 1);

    server.setHandler(() => ({ kind: 'raw', contentType: 'application/json', body: '<html>Bad gateway</html>' }));
    await assert.rejects(
      new ChatClient({ endpoint: server.url, model: 'm', maxRetries: 1 }).complete([{ role: 'user', content: 'x' }]),
      (e: ApiError) => e.reason === 'malformed' && /malformed JSON/.test(e.message),
    );
    server.setHandler(() => ({ kind: 'raw', contentType: 'application/json', body: '{"object": "chat.completion"}' }));
    await assert.rejects(
      new ChatClient({ endpoint: server.url, model: 'm', maxRetries: 0 }).complete([{ role: 'user', content: 'x' }]),
      (e: ApiError) => e.reason === 'malformed' && /no choices/.test(e.message),
    );
    server.setHandler(() => ({ kind: 'cut-stream' }));
    await assert.rejects(
      new ChatClient({ endpoint: server.url, model: 'm', stream: true, maxRetries: 1 }).complete([{ role: 'user', content: 'x' }]),
      (e: ApiError) => e.reason === 'stream-cut',
    );
    server.setHandler(() => ({ kind: 'raw', contentType: 'text/event-stream', body: 'data: {not json}\n\n' }));
    await assert.rejects(
      new ChatClient({ endpoint: server.url, model: 'm', stream: true, maxRetries: 0 }).complete([{ role: 'user', content: 'x' }]),
      (e: ApiError) => e.reason === 'malformed',
    );
  });

  test('4xx: 401/403/404 are fatal, 400 is rejected, none retried; the key is redacted from server messages', async () => {
    const key = 'sk-live-SECRET-0123456789';
    for (const [status, kind] of [
      [401, 'fatal'],
      [403, 'fatal'],
      [404, 'fatal'],
      [400, 'rejected'],
      [422, 'rejected'],
    ] as const) {
      server.requests.length = 0;
      server.setHandler(() => ({
        kind: 'status',
        status,
        body: JSON.stringify({ error: { message: `Incorrect API key provided: ${key}. Or maybe the model does not exist.` } }),
      }));
      await assert.rejects(
        new ChatClient({ endpoint: server.url, model: 'no-such-model', apiKey: key }).complete([{ role: 'user', content: 'x' }]),
        (e: ApiError) => {
          assert.equal(e.kind, kind, `status ${status}`);
          assert.equal(e.status, status);
          assert.ok(!e.message.includes(key), e.message);
          assert.match(e.message, /\*\*\*/);
          if (status === 404) assert.match(e.message, /no-such-model/);
          if (status === 401) assert.match(e.message, /authentication failed/);
          return true;
        },
      );
      assert.equal(server.requests.length, 1, `status ${status} must not be retried`);
    }
  });

  test('connection refused is a network error', async () => {
    const dead = await startFakeOpenAI();
    const url = dead.url;
    await dead.close();
    await assert.rejects(
      new ChatClient({ endpoint: url, model: 'm', maxRetries: 1 }).complete([{ role: 'user', content: 'x' }]),
      (e: ApiError) => e.kind === 'exhausted' && e.reason === 'network',
    );
  });
});

describe('generateCorpus', () => {
  test('seed format: one record per story with the generated text under --field, tokens summed', async () => {
    const opts = options({ field: 'chatgpt' });
    const summary = await generateCorpus(opts);
    const rows = readJsonl(opts.out);
    assert.equal(summary.generated, 8);
    assert.equal(summary.failed, 0);
    assert.equal(rows.length, 8);
    const stories = seedStories(8);
    assert.deepEqual(rows.map((r) => r.id).sort(), stories.map((s) => s.id));
    for (const row of rows) {
      const story = stories.find((s) => s.id === row.id)!;
      assert.equal(row.article, story.article);
      assert.equal(row.highlights, story.highlights);
      assert.equal(typeof row.chatgpt, 'string');
      assert.equal(row.generator, 'fake-model');
      assert.equal(row.mode, 'highlights');
    }
    assert.ok(summary.promptTokens > 0 && summary.completionTokens > 0);
    assert.equal(summary.responsesWithoutUsage, 0);
    assert.ok(server.maxInFlight() <= 3);
    // every prompt carries the story's highlights
    for (const req of server.requests) assert.notEqual(storyOf(req.user), '?');
    assert.equal(existsSync(summary.rejectedOut), false);
  });

  test('bounded concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    server.setHandler(async (r) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((res) => setTimeout(res, 30));
      inFlight--;
      return { kind: 'ok', text: machineText(r.user) };
    });
    await generateCorpus(options({ concurrency: 2 }));
    assert.equal(peak, 2);
  });

  test('labeled format, continue mode, streamed: ids, pair_id, exact prompt, prefix recorded and included', async () => {
    server.setHandler((r) => ({ kind: 'ok', text: 'and then the rain came down hard on the town.' }));
    const opts = options({ format: 'labeled', mode: 'continue', continueWords: 5, stream: true, model: 'llama-3-8b' });
    const summary = await generateCorpus(opts);
    assert.equal(summary.generated, 8);
    const rows = readJsonl(opts.out);
    const stories = seedStories(8);
    for (const row of rows) {
      const story = stories.find((s) => `${s.id}:llama-3-8b` === row.id)!;
      assert.ok(story, row.id);
      assert.equal(row.label, 'machine');
      assert.equal(row.generator, 'llama-3-8b');
      assert.equal(row.pair_id, story.id);
      assert.equal(row.domain, 'news');
      assert.equal(row.source, 'seed');
      assert.equal(row.mode, 'continue');
      const prefix = story.article.split(/\s+/).slice(0, 5).join(' ');
      assert.equal(row.prefix, prefix);
      assert.equal(row.text, `${prefix} and then the rain came down hard on the town.`);
      assert.ok(server.requests.some((q) => q.user === row.prompt), 'prompt is the message sent');
      assert.equal(row.system_prompt, DEFAULT_PROMPTS.system);
    }
  });

  test('labeled input: only human records, prompt as highlights, pair_id carried, rewrite mode sends the article', async () => {
    const file = path.join(dir, 'labeled.jsonl');
    writeFileSync(
      file,
      toJsonl([
        { id: 'h1', label: 'human', text: 'The harbour reopened on Friday. Fishermen cheered.', prompt: '["Harbour reopens."]', pair_id: 'story-1', domain: 'news', source: 'x' },
        { id: 'm1', label: 'machine', text: 'Machine text.', generator: 'gpt', pair_id: 'story-1' },
        { id: 'h2', label: 'human', text: 'A second story about trains.', prompt: null, pair_id: null, domain: 'news', source: 'y' },
        { id: 'u1', text: 'No label at all.' },
      ]),
    );
    const hl = options({ data: [file], format: 'labeled' });
    const s1 = await generateCorpus(hl);
    assert.equal(s1.generated, 1);
    assert.deepEqual(s1.skippedInput, { 'not-human': 1, 'no-highlights': 1, unlabeled: 1 });
    const [row] = readJsonl(hl.out);
    assert.equal(row.id, 'h1:fake-model');
    assert.equal(row.pair_id, 'story-1');
    assert.match(row.prompt, /- Harbour reopens\./);

    server.requests.length = 0;
    const rw = options({ data: [file], format: 'labeled', mode: 'rewrite' });
    const s2 = await generateCorpus(rw);
    assert.equal(s2.generated, 2);
    assert.ok(server.requests.some((r) => r.user.includes('A second story about trains.')));
    assert.deepEqual(readJsonl(rw.out).map((r) => r.pair_id).sort(), ['h2', 'story-1']);
  });

  test('refusals, empty and truncated outputs go to the sidecar with a reason, not the output', async () => {
    const stories = seedStories(8);
    server.setHandler((r) => {
      const id = storyOf(r.user);
      if (id === stories[0].id) return { kind: 'ok', text: "I'm sorry, but I can't help with writing that article." };
      if (id === stories[1].id) return { kind: 'ok', text: 'As an AI language model, I do not have access to news.' };
      if (id === stories[2].id) return { kind: 'ok', text: '' };
      if (id === stories[3].id) return { kind: 'ok', text: 'The council met and then', finishReason: 'length' };
      if (id === stories[4].id) return { kind: 'ok', refusal: 'I cannot assist with that.' };
      return { kind: 'ok', text: machineText(r.user) };
    });
    const opts = options();
    const summary = await generateCorpus(opts);
    assert.equal(summary.generated, 3);
    assert.equal(summary.flagged, 5);
    assert.deepEqual(summary.flags, { refusal: 3, empty: 1, truncated: 1 });
    const main = readJsonl(opts.out);
    assert.deepEqual(main.map((r) => r.id).sort(), stories.slice(5).map((s) => s.id));
    const rejected = readJsonl(`${opts.out}.rejected.jsonl`);
    assert.equal(rejected.length, 5);
    const byId = Object.fromEntries(rejected.map((r) => [r.id, r]));
    assert.equal(byId[stories[3].id].reason, 'truncated');
    assert.equal(byId[stories[3].id].finish_reason, 'length');
    assert.equal(byId[stories[2].id].reason, 'empty');
    assert.equal(byId[stories[0].id].reason, 'refusal');
    for (const r of rejected) assert.equal(r.text, undefined, 'sidecar must not look like training data');

    // re-running skips them, unless asked to retry
    server.setHandler((r) => ({ kind: 'ok', text: machineText(r.user) }));
    server.requests.length = 0;
    const again = await generateCorpus(opts);
    assert.equal(again.skippedDone, 3);
    assert.equal(again.skippedRejected, 5);
    assert.equal(server.requests.length, 0);
    const retried = await generateCorpus({ ...opts, retryRejected: true });
    assert.equal(retried.generated, 5);
    assert.equal(readJsonl(opts.out).length, 8);
  });

  test('per-record 400 fails that record and the run goes on; reasons are summarised', async () => {
    const bad = seedStories(8)[2].id;
    server.setHandler((r) =>
      storyOf(r.user) === bad
        ? { kind: 'status', status: 400, body: JSON.stringify({ error: { message: 'context length exceeded' } }) }
        : { kind: 'ok', text: machineText(r.user) },
    );
    const opts = options();
    const summary = await generateCorpus(opts);
    assert.equal(summary.generated, 7);
    assert.equal(summary.failed, 1);
    assert.deepEqual(summary.failures, { 'http-400': 1 });
    assert.equal(summary.failedExamples[0].id, bad);
    assert.match(summary.failedExamples[0].message, /context length exceeded/);
    // the failed one is retried by the next run
    server.setHandler((r) => ({ kind: 'ok', text: machineText(r.user) }));
    const again = await generateCorpus(opts);
    assert.equal(again.generated, 1);
    assert.equal(again.skippedDone, 7);
  });

  test('401 stops the run with a clear user error, after few requests', async () => {
    server.setHandler(() => ({ kind: 'status', status: 401, body: JSON.stringify({ error: { message: 'Invalid API key sk-oops-123' } }) }));
    const opts = options({ apiKey: 'sk-oops-123', data: [seedFile], concurrency: 2 });
    await assert.rejects(generateCorpus(opts), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /authentication failed \(HTTP 401\)/);
      assert.match(e.message, /COPYDESK_API_KEY \/ OPENAI_API_KEY was rejected/);
      assert.ok(!e.message.includes('sk-oops-123'));
      return true;
    });
    assert.ok(server.requests.length <= 2, `${server.requests.length} requests`);
  });

  test('an endpoint that is down stops the run after consecutive failures', async () => {
    server.setHandler(() => ({ kind: 'status', status: 502 }));
    await assert.rejects(
      generateCorpus(options({ maxRetries: 0, maxConsecutiveFailures: 3, concurrency: 1 })),
      /stopped after 3 failed records in a row/,
    );
  });

  test('--limit, resume by id, and repair of a torn last line', async () => {
    const opts = options({ limit: 3 });
    const first = await generateCorpus(opts);
    assert.equal(first.stories, 3);
    assert.equal(first.generated, 3);
    // simulate a kill in the middle of a write
    appendFileSync(opts.out, '{"id": "story-007", "article": "half a li');
    server.requests.length = 0;
    const second = await generateCorpus({ ...opts, limit: null });
    assert.equal(second.skippedDone, 3);
    assert.equal(second.generated, 5);
    assert.ok(second.repairedBytes > 0);
    assert.equal(server.requests.length, 5);
    const ids = readJsonl(opts.out).map((r) => r.id);
    assert.equal(ids.length, 8);
    assert.equal(new Set(ids).size, 8);
    // a third run has nothing to do
    const third = await generateCorpus({ ...opts, limit: null });
    assert.equal(third.generated, 0);
    assert.equal(third.skippedDone, 8);
  });

  test('resuming into a file written with other settings is refused', async () => {
    const opts = options({ limit: 1 });
    await generateCorpus(opts);
    await assert.rejects(generateCorpus({ ...opts, field: 'llama' }), /no "llama" text/);
    await assert.rejects(generateCorpus({ ...opts, format: 'labeled' }), /not in the labeled schema/);
  });

  test('a refused output file is left exactly as it was: nothing is cut before every line is checked', async () => {
    // Not an output of this command, its last line without a newline (as many tools write JSONL).
    const foreign = path.join(dir, 'foreign.jsonl');
    writeFileSync(foreign, '{"a":1}\n{"b":2}');
    await assert.rejects(generateCorpus(options({ out: foreign })), /foreign\.jsonl:1: existing output record has no string "id"/);
    assert.equal(readFileSync(foreign, 'utf8'), '{"a":1}\n{"b":2}');
    // Written with another --field, and torn: refused, the torn line kept for a run with the right settings.
    const opts = options({ limit: 1 });
    await generateCorpus(opts);
    appendFileSync(opts.out, '{"id": "story-005", "chat');
    const before = readFileSync(opts.out, 'utf8');
    await assert.rejects(generateCorpus({ ...opts, field: 'llama' }), /no "llama" text/);
    assert.equal(readFileSync(opts.out, 'utf8'), before);
    const resumed = await generateCorpus(opts);
    assert.equal(resumed.repairedBytes, '{"id": "story-005", "chat'.length);
    assert.equal(resumed.skippedDone, 1);
  });

  test('resuming with another --model or --mode is refused instead of counting the other run\'s stories as done', async () => {
    const opts = options({ limit: 2, model: 'model-a' });
    await generateCorpus(opts);
    server.requests.length = 0;
    await assert.rejects(generateCorpus({ ...opts, model: 'model-b' }), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /:1: story-000 was written with --model "model-a" --mode highlights, not --model "model-b" --mode highlights/);
      return true;
    });
    await assert.rejects(generateCorpus({ ...opts, mode: 'rewrite' }), /not --model "model-a" --mode rewrite/);
    assert.equal(server.requests.length, 0);
    assert.equal(readJsonl(opts.out).length, 2);

    // the sidecar too: a refusal by one model is not a refusal by another
    server.setHandler(() => ({ kind: 'ok', text: "I'm sorry, but I can't help with that." }));
    const flagged = options({ limit: 1, model: 'model-a' });
    assert.equal((await generateCorpus(flagged)).flagged, 1);
    server.setHandler((r) => ({ kind: 'ok', text: machineText(r.user) }));
    await assert.rejects(generateCorpus({ ...flagged, model: 'model-b' }), /rejected\.jsonl:1: story-000 was written with --model "model-a"/);

    // labeled output keeps one record per story and model: another model adds its own records
    const labeled = options({ limit: 2, model: 'model-a', format: 'labeled' });
    await generateCorpus(labeled);
    assert.equal((await generateCorpus({ ...labeled, model: 'model-b' })).generated, 2);
    assert.equal(readJsonl(labeled.out).length, 4);
    await assert.rejects(generateCorpus({ ...labeled, mode: 'rewrite' }), /story-000:model-a was written with --model "model-a" --mode highlights/);
  });

  test('repairTornLine', async () => {
    const f = path.join(dir, 'torn.jsonl');
    writeFileSync(f, '{"a":1}\n{"b":2}\n{"c":');
    assert.equal(await repairTornLine(f), 5);
    assert.equal(readFileSync(f, 'utf8'), '{"a":1}\n{"b":2}\n');
    assert.equal(await repairTornLine(f), 0);
    writeFileSync(f, '{"only": "torn');
    assert.equal(await repairTornLine(f), 14);
    assert.equal(readFileSync(f, 'utf8'), '');
    assert.equal(await repairTornLine(path.join(dir, 'absent.jsonl')), 0);
  });

  test('aborting the signal stops cleanly and reports interrupted', async () => {
    server.setHandler(async (r) => {
      await new Promise((res) => setTimeout(res, 40));
      return { kind: 'ok', text: machineText(r.user) };
    });
    const controller = new AbortController();
    const opts = options({ concurrency: 1, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const summary = await generateCorpus(opts);
    assert.equal(summary.interrupted, true);
    assert.ok(summary.generated < 8);
    assert.equal(readJsonl(opts.out).length, summary.generated);
  });

  test('bad settings are user errors', async () => {
    await assert.rejects(generateCorpus(options({ endpoint: 'not a url' })), UserError);
    await assert.rejects(generateCorpus(options({ field: 'article' })), /cannot hold the generated text/);
    await assert.rejects(generateCorpus(options({ concurrency: 0 })), /--concurrency/);
    const file = path.join(dir, 'weird.jsonl');
    writeFileSync(file, '{"id": "x", "body": "neither schema"}\n');
    await assert.rejects(generateCorpus(options({ data: [file] })), /weird\.jsonl:1: expected the seed schema/);
  });
});

describe('real seed corpus (runs when ../shared/data is present)', () => {
  const parquet = path.resolve('../shared/data/cnn_dailymail_chatgpt.parquet');
  const jsonl = path.resolve('../shared/data/cnn_dailymail_chatgpt.jsonl');
  test('Parquet seed input, as the public corpus ships', { skip: !existsSync(parquet) || !existsSync(jsonl) }, async () => {
    const opts = options({ data: [parquet], limit: 5 });
    const summary = await generateCorpus(opts);
    assert.equal(summary.generated, 5);
    const expected = readFileSync(jsonl, 'utf8').split('\n').slice(0, 5).map((l) => JSON.parse(l));
    const rows = readJsonl(opts.out);
    assert.deepEqual(rows.map((r) => r.id).sort(), expected.map((r) => r.id).sort());
    for (const row of rows) {
      const src = expected.find((r) => r.id === row.id);
      assert.equal(row.article, src.article);
      assert.equal(row.highlights, src.highlights);
      assert.notEqual(row.chatgpt, src.chatgpt);
    }
    assert.ok(server.requests.every((r) => expected.some((e) => r.user.includes(e.highlights))));
  });
});
