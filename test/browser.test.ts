/**
 * The web page in Debian's chromium, driven by playwright-core: paste a text,
 * check the verdict, probability, model version and per-sentence highlights,
 * hover and keyboard details, the token prompt, and save screenshots.
 *
 * Needs /usr/bin/chromium (Debian package `chromium`): skipped with a message
 * when it is missing, except under CI=true, where a missing browser fails.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadDetector } from '../src/model/model-file.js';
import { REVIEW } from './fixtures/core/texts.js';
import { detectText } from '../src/detect/detect.js';
import { buildApp } from '../src/server/app.js';
import { AuditStore } from '../src/server/audit.js';

const CHROMIUM = process.env.COPYDESK_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const available = existsSync(CHROMIUM);
if (!available && process.env.CI === 'true') {
  throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium (apt-get install -y chromium) for the browser tests`);
}
const skip = available ? false : `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) to run the browser tests`;
if (skip) process.stderr.write(`browser tests skipped: ${skip}\n`);

/**
 * The flags the environment notes give for Debian's chromium here. No
 * --user-data-dir: playwright refuses it in launch() and gives every launch a
 * fresh, empty profile directory of its own, which is what the flag was for.
 */
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const ARTICLE = `City council members voted 7-2 on Tuesday night to delay a decision on the Harbor Street rezoning plan, after more than forty residents lined up to speak during a meeting that ran past midnight.

"We're not against housing. We're against being told about it after the fact," said Maria Keane, who has lived on Harbor Street since 1987. Several speakers held up hand-drawn maps of the flood zone.

In today's rapidly evolving landscape, the council's decision underscores the importance of community engagement. Furthermore, it is crucial to note that stakeholders play a pivotal role in shaping sustainable outcomes.

Councillor Dev Patel, who voted against the delay, said the city had already spent two years on consultations. The plan returns to the council on March 14.`;

/** Sentence spans of ARTICLE by a naive split, for the stubbed-response test. */
function naiveSentences(text: string) {
  const out: Array<{ start: number; end: number; text: string; machine_probability: number; p_value: number; machine_passage: boolean }> = [];
  const re = /[^\s][^.!?]*[.!?]+["”]?/g;
  let m: RegExpExecArray | null;
  let i = 0;
  while ((m = re.exec(text))) {
    const p = [0.05, 0.3, 0.5, 0.7, 0.95][i++ % 5];
    out.push({ start: m.index, end: m.index + m[0].length, text: m[0], machine_probability: p, p_value: 1 - p, machine_passage: p > 0.9 });
  }
  return out;
}

describe('web page', { skip }, () => {
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  let dir: string;
  const detector = available ? loadDetector(path.join(ROOT, 'models/default.cdm')) : null;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'copydesk-browser-'));
    app = await buildApp({ detector: detector!, audit: new AuditStore(path.join(dir, 'audit.db')), rateLimit: null });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: LAUNCH_ARGS,
    });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    if (process.env.COPYDESK_KEEP_SCREENSHOTS === undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function openPage(): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1300 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('request', (r) => {
      if (!r.url().startsWith(url)) errors.push(`request to another origin: ${r.url()}`);
    });
    await page.goto(url);
    return { page, errors };
  }

  test('paste a text: verdict, probability, model version and every sentence highlighted', async () => {
    const { page, errors } = await openPage();
    assert.equal(await page.isVisible('#token-row'), false, 'no token prompt when the server needs none');
    await page.waitForFunction(() => document.getElementById('model-version')?.textContent !== '…');
    assert.equal(await page.textContent('#model-version'), detector!.version);
    await page.fill('#text', ARTICLE);
    await page.click('#check');
    await page.waitForSelector('#result:not([hidden])');
    const expected = detectText(detector!, ARTICLE);
    const verdict = (await page.textContent('#verdict')) ?? '';
    assert.match(verdict, expected.verdict === 'machine' ? /machine-written/ : expected.verdict === 'human' ? /human-written/ : /Cannot judge/);
    assert.match((await page.textContent('#probability')) ?? '', /^\d+(\.\d)?%$/);
    assert.equal(await page.textContent('#result-model'), detector!.version);

    const response = await (await fetch(`${url}/v1/detect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: ARTICLE }) })).json();
    const spans = await page.$$eval('#sentences .s', (els) => els.map((e) => ({ cls: e.className, text: e.textContent, label: e.getAttribute('aria-label') })));
    if (Array.isArray(response.sentences)) {
      assert.equal(spans.length, response.sentences.length, 'one highlight per sentence');
      spans.forEach((s, i) => {
        assert.match(s.cls, /\bs b[0-4]\b/);
        assert.equal(s.text, response.sentences[i].text);
        assert.match(s.label ?? '', /machine probability/);
      });
      // The highlighted text reads exactly as the pasted text.
      assert.equal(await page.$eval('#sentences', (e) => e.textContent), ARTICLE);
    } else {
      process.stderr.write('note: this detector gives no sentence scores yet; only the page\'s fallback was checked here\n');
      assert.equal(spans.length, 0);
      assert.match((await page.textContent('#sentences')) ?? '', /no sentence-level scores/);
    }
    await page.screenshot({ path: path.join(dir, 'page-real.png'), fullPage: true });
    process.stderr.write(`screenshot: ${path.join(dir, 'page-real.png')}\n`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('sentence highlights: colour bins, hover and keyboard details (stubbed sentence scores)', async () => {
    const { page, errors } = await openPage();
    const sentences = naiveSentences(ARTICLE);
    // Real scores for the document, sentence scores fixed so every bin of the scale shows.
    await page.route('**/v1/detect', async (route) => {
      const real = await route.fetch();
      const body = await real.json();
      await route.fulfill({ response: real, json: { ...body, mixture_p_value: 0.004, machine_passage: true, sentences } });
    });
    await page.fill('#text', ARTICLE);
    await page.keyboard.press('Control+Enter');
    await page.waitForSelector('#sentences .s');
    const classes = await page.$$eval('#sentences .s', (els) => els.map((e) => e.className));
    assert.equal(classes.length, sentences.length);
    sentences.forEach((s, i) => assert.match(classes[i], new RegExp(`\\bb${Math.min(4, Math.floor(s.machine_probability * 5))}\\b`)));
    assert.match((await page.textContent('#mixture')) ?? '', /p = 0\.004 — the text likely contains machine-written passages/);
    assert.equal(await page.$$eval('#sentences .s.flagged', (els) => els.length), sentences.filter((s) => s.machine_passage).length);

    // Colour is not the only cue: machine-like bins carry an underline the human-like middle does not.
    const decorations = await page.$$eval('#sentences .s', (els) => els.map((e) => getComputedStyle(e).textDecorationStyle + ' ' + getComputedStyle(e).textDecorationLine));
    assert.notEqual(decorations[3], decorations[2]);
    assert.notEqual(decorations[4], decorations[3]);

    // Hover shows the details.
    await page.hover('#sentences .s >> nth=4');
    assert.equal(await page.isVisible('#tip'), true);
    assert.match((await page.textContent('#tip')) ?? '', /95% machine probability \(machine-like\)/);

    // Keyboard: one tab stop into the text, arrows move between sentences, details are announced.
    await page.mouse.move(0, 0);
    await page.focus('#sentences .s >> nth=0');
    assert.match((await page.textContent('#sentence-detail')) ?? '', /^Sentence 1 of/);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.index), '2');
    assert.match((await page.textContent('#sentence-detail')) ?? '', /^Sentence 3 of/);
    assert.match((await page.textContent('#tip')) ?? '', /50% machine probability \(unsure\)/);
    await page.keyboard.press('End');
    assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.index), String(sentences.length - 1));
    const tabStops = await page.$$eval('#sentences .s', (els) => els.filter((e) => (e as HTMLElement).tabIndex === 0).length);
    assert.equal(tabStops, 1);
    await page.screenshot({ path: path.join(dir, 'page-stubbed.png'), fullPage: true });
    process.stderr.write(`screenshot: ${path.join(dir, 'page-stubbed.png')}\n`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a withheld passage decision is not shown as "no passage detected"; a cut sentence list says it is cut (stubbed responses)', async () => {
    const { page, errors } = await openPage();
    const sentences = naiveSentences(ARTICLE);
    let stub: Record<string, unknown> = {};
    await page.route('**/v1/detect', async (route) => {
      const real = await route.fetch();
      await route.fulfill({ response: real, json: { ...(await real.json()), ...stub } });
    });
    // Uncertain, or human with cautions: the server withholds machine passages however small the p-value.
    for (const verdict of [{ verdict: 'uncertain', reasons: ['not_news'] }, { verdict: 'human', cautions: ['not_news'] }]) {
      stub = { ...verdict, mixture_p_value: 0.0004, machine_passage: false, sentences: sentences.map((s) => ({ ...s, machine_passage: false })) };
      await page.fill('#text', ARTICLE);
      await page.click('#check');
      await page.waitForFunction((kind) => document.getElementById('verdict')?.classList.contains(kind), verdict.verdict);
      const mixture = (await page.textContent('#mixture')) ?? '';
      assert.match(mixture, /p = 4\.0e-4/);
      assert.doesNotMatch(mixture, /no machine-written passage detected/, `${verdict.verdict}: ${mixture}`);
      assert.match(mixture, /passages are not marked/);
    }
    // Only the first sentences listed (the server's per-text limit): the page says how many there are.
    stub = { verdict: 'human', mixture_p_value: 0.5, machine_passage: false, sentences: sentences.slice(0, 3), sentence_count: sentences.length, sentences_truncated: true };
    await page.click('#check');
    await page.waitForFunction(() => /first 3 of/.test(document.getElementById('sentence-detail')?.textContent ?? ''));
    assert.match((await page.textContent('#sentence-detail')) ?? '', new RegExp(`^Scores of the first 3 of ${sentences.length} sentences`));
    await page.focus('#sentences .s >> nth=0');
    assert.match((await page.textContent('#sentence-detail')) ?? '', new RegExp(`^Sentence 1 of ${sentences.length}:`));
    assert.equal(await page.$eval('#sentences', (e) => e.textContent), ARTICLE, 'the rest of the text is still shown');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a text it cannot judge: its own look and the reasons in words, never a hidden "human"', async () => {
    const { page, errors } = await openPage();
    await page.fill('#text', 'Short note. Two sentences.');
    await page.click('#check');
    await page.waitForSelector('#result:not([hidden])');
    assert.equal(await page.textContent('#verdict'), 'Cannot judge this text');
    assert.match((await page.getAttribute('#verdict', 'class')) ?? '', /\buncertain\b/);
    assert.doesNotMatch((await page.getAttribute('#verdict', 'class')) ?? '', /\b(human|machine)\b/);
    assert.equal(await page.isVisible('#reasons'), true);
    const reasons = await page.$$eval('#reasons li', (items) => items.map((li) => ({ code: li.getAttribute('data-reason'), text: li.textContent })));
    assert.equal(reasons[0].code, 'too_short');
    assert.match(reasons[0].text ?? '', /too short/);
    assert.match((await page.textContent('#probability')) ?? '', /^\d+(\.\d)?%$/, 'the probability is still shown');
    const style = await page.$eval('#verdict', (e) => getComputedStyle(e).borderTopStyle);
    assert.equal(style, 'dashed');
    // A judged text afterwards hides the reasons again.
    await page.fill('#text', ARTICLE);
    await page.click('#check');
    await page.waitForFunction(() => document.getElementById('verdict')?.textContent !== 'Cannot judge this text');
    assert.equal(await page.isVisible('#reasons'), false);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a low-scoring review: "human" with its cautions in words, quieter than reasons', async () => {
    const { page, errors } = await openPage();
    await page.fill('#text', REVIEW);
    await page.click('#check');
    await page.waitForSelector('#result:not([hidden])');
    assert.equal(await page.textContent('#verdict'), 'Likely human-written');
    assert.equal(await page.isVisible('#reasons'), true);
    assert.equal(await page.getAttribute('#reasons', 'aria-label'), 'Cautions about this verdict');
    assert.match((await page.getAttribute('#reasons', 'class')) ?? '', /\bcautions\b/);
    const items = await page.$$eval('#reasons li', (list) => list.map((li) => ({ code: li.getAttribute('data-reason'), text: li.textContent })));
    assert.deepEqual(items.map((i) => i.code), ['not_news']);
    assert.match(items[0].text ?? '', /does not read like news.*Its score is low/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('errors are shown, and a text file can be opened', async () => {
    const { page, errors } = await openPage();
    await page.click('#check');
    assert.match((await page.textContent('#status')) ?? '', /Paste some text/);
    await page.setInputFiles('#file', { name: 'story.txt', mimeType: 'text/plain', buffer: Buffer.from(ARTICLE) });
    await page.waitForSelector('#result:not([hidden])');
    assert.equal(await page.inputValue('#text'), ARTICLE);
    assert.equal(await page.textContent('#file-name'), 'story.txt');
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('web page with an access token', { skip }, () => {
  test('asks for the token, then works with it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'copydesk-browser-token-'));
    const detector = loadDetector(path.join(ROOT, 'models/default.cdm'));
    const app = await buildApp({ detector, audit: null, token: 's3cret', rateLimit: null });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: LAUNCH_ARGS,
    });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
      await page.waitForSelector('#token-row:not([hidden])');
      await page.fill('#text', ARTICLE);
      await page.click('#check');
      await page.waitForFunction(() => /token/i.test(document.getElementById('status')?.textContent ?? ''));
      await page.fill('#token', 's3cret');
      await page.click('#check');
      await page.waitForSelector('#result:not([hidden])');
      assert.match((await page.textContent('#verdict')) ?? '', /written/);
    } finally {
      await browser.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
