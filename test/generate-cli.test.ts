/**
 * `copydesk generate` as a user runs it: the CLI in a child process against a
 * loopback OpenAI-compatible server; API-key hygiene, kill -9 and resume, and the
 * generated file going straight into `copydesk train` / `copydesk eval`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { machineText, startFakeOpenAI, type FakeServer } from './fixtures/generate/fake-openai.js';
import { seedStories, toJsonl } from './fixtures/generate/stories.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts')];

let server: FakeServer;
let dir: string;

before(async () => {
  server = await startFakeOpenAI();
  dir = mkdtempSync(path.join(tmpdir(), 'copydesk-generate-cli-'));
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.requests.length = 0;
  server.setHandler((r) => ({ kind: 'ok', text: machineText(r.user) }));
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.COPYDESK_API_KEY;
  delete env.OPENAI_API_KEY;
  return { ...env, ...extra };
}

function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return start(args, env).done;
}

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
}

function writeSeed(name: string, count: number): string {
  const file = path.join(dir, name);
  writeFileSync(file, toJsonl(seedStories(count)));
  return file;
}

test('the API key is sent as a Bearer token and never printed, logged or written', async () => {
  const key = 'sk-test-SUPERSECRET-42';
  const data = writeSeed('keys.jsonl', 6);
  const out = path.join(dir, 'keys-out.jsonl');
  const stories = seedStories(6);
  // The server echoes the key back in an error and in a generated text, as some do.
  server.setHandler((r) => {
    if (r.headers.authorization !== `Bearer ${key}`) return { kind: 'status', status: 401 };
    if (r.user.includes(stories[0].highlights)) {
      return { kind: 'status', status: 400, body: JSON.stringify({ error: { message: `bad request for key ${key}` } }) };
    }
    if (r.user.includes(stories[1].highlights)) return { kind: 'ok', text: `I'm sorry, but I can't share ${key}.` };
    return { kind: 'ok', text: machineText(r.user) };
  });
  const result = await run(
    ['generate', '--data', data, '--endpoint', server.url, '--model', 'fake', '--out', out, '--verbose', '--json'],
    { COPYDESK_API_KEY: key },
  );
  assert.equal(result.code, 1, result.stderr); // one record failed
  const summary = JSON.parse(result.stdout);
  assert.equal(summary.generated, 4);
  assert.equal(summary.failed, 1);
  assert.equal(summary.flagged, 1);
  assert.match(result.stderr, /4 generated, 1 failed \(http-400: 1\), 1 flagged \(refusal: 1\)/);
  for (const [what, text] of [
    ['stdout', result.stdout],
    ['stderr', result.stderr],
    ['output', existsSync(out) ? readFileSync(out, 'utf8') : ''],
    ['sidecar', existsSync(`${out}.rejected.jsonl`) ? readFileSync(`${out}.rejected.jsonl`, 'utf8') : ''],
  ]) {
    assert.ok(!text.includes(key), `the key appears in ${what}`);
    assert.ok(!text.includes('SUPERSECRET'), `part of the key appears in ${what}`);
  }

  // OPENAI_API_KEY is the fallback; a wrong key stops the run with exit 2 and a clear message
  const bad = await run(['generate', '--data', data, '--endpoint', server.url, '--model', 'fake', '--out', path.join(dir, 'keys-bad.jsonl')], {
    OPENAI_API_KEY: 'sk-wrong-key-99',
  });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /copydesk: authentication failed \(HTTP 401\)/);
  assert.ok(!bad.stderr.includes('sk-wrong-key-99') && !bad.stdout.includes('sk-wrong-key-99'));
  assert.ok(server.requests.some((r) => r.headers.authorization === 'Bearer sk-wrong-key-99'));
});

test('a run killed with SIGKILL mid-way resumes: every story exactly once', async () => {
  const count = 30;
  const data = writeSeed('kill.jsonl', count);
  const out = path.join(dir, 'kill-out.jsonl');
  server.setHandler(async (r) => {
    await new Promise((res) => setTimeout(res, 80));
    return { kind: 'ok', text: machineText(r.user), chunkDelayMs: 2 };
  });
  const args = ['generate', '--data', data, '--endpoint', server.url, '--model', 'fake', '--out', out, '--concurrency', '3', '--stream'];
  const first = start(args);
  const deadline = Date.now() + 20_000;
  while (lines(out).length < 8 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  first.child.kill('SIGKILL');
  const killed = await first.done;
  assert.equal(killed.signal, 'SIGKILL');
  const before = lines(out).length;
  assert.ok(before >= 8 && before < count, `${before} lines before the kill`);

  server.requests.length = 0;
  server.setHandler((r) => ({ kind: 'ok', text: machineText(r.user) }));
  const second = await run([...args, '--json']);
  assert.equal(second.code, 0, second.stderr);
  const summary = JSON.parse(second.stdout);
  const rows = lines(out).map((l) => JSON.parse(l));
  const ids = rows.map((r) => r.id);
  assert.equal(ids.length, count, 'one line per story');
  assert.equal(new Set(ids).size, count, 'no duplicates');
  assert.deepEqual([...ids].sort(), seedStories(count).map((s) => s.id));
  assert.equal(summary.skippedDone + summary.generated, count);
  assert.equal(server.requests.length, summary.generated, 'only missing stories are requested again');
  assert.ok(summary.skippedDone >= 8);
});

test('generated corpus trains and evaluates directly (copydesk train / eval)', async () => {
  const trainData = writeSeed('e2e-train-src.jsonl', 40);
  const evalFile = path.join(dir, 'e2e-eval-src.jsonl');
  writeFileSync(evalFile, toJsonl(seedStories(16, 100)));
  const trainOut = path.join(dir, 'e2e-train.jsonl');
  const evalOut = path.join(dir, 'e2e-eval.jsonl');
  for (const [data, out] of [
    [trainData, trainOut],
    [evalFile, evalOut],
  ]) {
    const g = await run(['generate', '--data', data, '--endpoint', server.url, '--model', 'fake-gen', '--out', out, '--quiet']);
    assert.equal(g.code, 0, g.stderr);
  }
  assert.equal(lines(trainOut).length, 40);
  const model = path.join(dir, 'e2e.model');
  const trained = await run(['train', '--data', trainOut, '--out', model, '--folds', '2', '--quiet']);
  assert.equal(trained.code, 0, trained.stderr);
  assert.ok(existsSync(model), 'train wrote the model');
  const evaluated = await run(['eval', '--data', evalOut, '--model', model, '--json', '--quiet']);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const report = JSON.parse(evaluated.stdout);
  // 16 generated pairs → 16 human + 16 machine documents
  assert.equal(report.overall.n, 32);
  assert.equal(report.overall.n_human, 16);
  assert.equal(report.overall.n_machine, 16);
  assert.ok(report.overall.auroc > 0.9, `AUROC ${report.overall.auroc}`);
});

test('--out naming the --prompts file is refused before anything is opened', async () => {
  const data = writeSeed('prompts-guard.jsonl', 1);
  const prompts = path.join(dir, 'prompts.json');
  const text = '{\n  "system": "You are a reporter."\n}';
  writeFileSync(prompts, text);
  const result = await run(['generate', '--data', data, '--endpoint', server.url, '--model', 'fake', '--prompts', prompts, '--out', prompts, '--quiet']);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /refusing to write .*prompts\.json: it is also an input/);
  assert.equal(readFileSync(prompts, 'utf8'), text);
  assert.equal(server.requests.length, 0);
});

test('flags the chosen format or mode would ignore are refused before any request', async () => {
  const data = writeSeed('flags-fit.jsonl', 1);
  const base = ['generate', '--data', data, '--endpoint', server.url, '--model', 'fake', '--quiet'];
  const field = await run([...base, '--out', path.join(dir, 'flags-1.jsonl'), '--format', 'labeled', '--field', 'llama']);
  assert.equal(field.code, 2, field.stderr);
  assert.match(field.stderr, /--field goes with --format seed/);
  const words = await run([...base, '--out', path.join(dir, 'flags-2.jsonl'), '--continue-words', '40']);
  assert.equal(words.code, 2, words.stderr);
  assert.match(words.stderr, /--continue-words goes with --mode continue/);
  assert.equal(server.requests.length, 0);
  // a template of another mode that uses {{prefix}} does take it
  const prompts = path.join(dir, 'prefix-prompts.json');
  writeFileSync(prompts, JSON.stringify({ rewrite: 'Rewrite this, starting with "{{prefix}}": {{article}}' }));
  const out = path.join(dir, 'flags-3.jsonl');
  const ok = await run([...base, '--out', out, '--mode', 'rewrite', '--prompts', prompts, '--continue-words', '3']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(server.requests[0].user, /^Rewrite this, starting with "By \. \S+":/);
});
