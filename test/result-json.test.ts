/**
 * The HTTP reply is serialised where the results are scored (a scoring
 * thread) and assembled on the event loop: pinned here to the plain
 * definition, JSON.stringify of the results the service used to send.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { detectTexts, textsResults } from '../src/detect/detect.js';
import { InlineScorer, ScoringPool } from '../src/detect/pool.js';
import { batchJson, serializeResults, SentenceBudgetExceeded } from '../src/detect/result.js';
import { loadDetector } from '../src/model/model-file.js';
import type { Detector } from '../src/model/detector.js';

const MODEL = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'), 'models/default.cdm');
const TEXTS = [
  'The council voted 6-3 on Thursday to build the flood wall. "I can tell my grandchildren the house will still be here," said Ruth Okafor, 67.',
  'In today\u2019s rapidly evolving landscape, it is crucial to note that stakeholders play a pivotal role. Furthermore, this highlights the balance between progress and preservation \u2014 a delicate one.',
  'Short.',
];
const OPTIONS = { evidence: true, sentences: true, maxSentences: 10_000, maxSentencesPerText: 2 };

describe('serialised results', () => {
  let detector: Detector;
  let pool: ScoringPool;
  before(async () => {
    detector = loadDetector(MODEL);
    pool = await ScoringPool.start(MODEL, 1);
  });
  after(() => pool.close());

  test('each result is its JSON.stringify, a batch is JSON.stringify({ model_version, results })', () => {
    const results = textsResults(detectTexts(detector, TEXTS, OPTIONS));
    const serialized = serializeResults(TEXTS, results);
    assert.deepEqual(serialized.json, results.map((r) => JSON.stringify(r)));
    assert.deepEqual(
      serialized.summaries,
      results.map((r, i) => ({
        machine_probability: r.machine_probability,
        verdict: r.verdict,
        model_version: r.model_version,
        sha256: createHash('sha256').update(Buffer.from(TEXTS[i], 'utf8')).digest('hex'),
      })),
    );
    for (const version of [detector.version, 'a "quoted"\\ version\u2028']) {
      assert.equal(batchJson(version, serialized.json), JSON.stringify({ model_version: version, results }));
    }
    assert.equal(batchJson('v', []), JSON.stringify({ model_version: 'v', results: [] }));
  });

  test('on a scoring thread and on the calling thread, the same bytes as the results serialised here', async () => {
    const expected = textsResults(detectTexts(detector, TEXTS, OPTIONS)).map((r) => JSON.stringify(r));
    const threaded = await pool.detectSerialized(TEXTS, OPTIONS);
    const inline = await new InlineScorer(detector).detectSerialized(TEXTS, OPTIONS);
    assert.deepEqual(threaded.json, expected);
    assert.deepEqual(inline, threaded);
  });

  test('over the sentence budget, nothing is scored and the thread says so', async () => {
    await assert.rejects(pool.detectSerialized(TEXTS, { ...OPTIONS, maxSentences: 2 }), SentenceBudgetExceeded);
    await assert.rejects(new InlineScorer(detector).detectSerialized(TEXTS, { ...OPTIONS, maxSentences: 2 }), SentenceBudgetExceeded);
  });
});
