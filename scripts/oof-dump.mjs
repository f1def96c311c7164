// Research script: trains like `copydesk train` (leave-one-source-out folds, no sentence extension)
// and writes every text's held-out score: raw decision value, calibrated probability, whether the
// held-out applicability check judged it (its reasons, and its measures relative to the fold's cutoffs), its length in words (PreparedDocument.words), and its dataset/domain/generator/variant, as JSON lines.
// Used to design the default-threshold rule (reports/threshold-rule.md).
//   npm run build && CAP=0 OUT=/tmp/oof.jsonl [L2=1e-4] node scripts/oof-dump.mjs
import { writeFileSync } from 'node:fs';
import { readAllDocuments } from '../dist/index.js';
import { trainDetector } from '../dist/model/train.js';
import { calibrate } from '../dist/model/calibration.js';
import { Applicability, fitApplicability, readText, tokensOf } from '../dist/model/applicability.js';
import { countWords } from '../dist/text/tokenize.js';

const t0 = Date.now();
const log = (...a) => console.error(`[${((Date.now() - t0) / 1000).toFixed(0)}s]`, ...a);
let docs = (await readAllDocuments(['../shared/data'], {})).filter((d) => d.label);
const CAP = Number(process.env.CAP ?? 0);
if (CAP > 0) {
  const seen = new Map();
  docs = docs.filter((d) => { const k = `${d.dataset}|${d.label}|${d.domain ?? ''}`; const n = (seen.get(k) ?? 0) + 1; seen.set(k, n); return n <= CAP; });
}
log('documents', docs.length);
const rows = new Map();
const dump = {
  name: 'oof-dump',
  onFold(scoreText, heldOut, _model, training) {
    // The held-out check as fitUncertainty builds it, with its measures kept: how far each text lies
    // from this fold's training side, relative to the cutoffs (style: distance / cutoff; vocabulary:
    // coverage − cutoff; news: gate logit − cutoff).
    const check = new Applicability(fitApplicability(training));
    const { style, vocabulary, news } = check.state;
    for (const d of heldOut) {
      const reading = readText(tokensOf(d.text), d.text);
      const m = check.measureReading(reading);
      const reasons = check.assessReading(reading);
      rows.set(d, {
        raw: scoreText(d.text), words: countWords(tokensOf(d.text)), judged: reasons.length === 0, reasons,
        style: m.style_distance / style.cutoff, vocabulary: m.vocabulary_coverage - vocabulary.cutoff,
        news: news && m.news_logit !== null ? m.news_logit - news.cutoff : null,
      });
    }
    log('fold done', heldOut[0]?.dataset, heldOut.length);
  },
  finish(detector) {
    const out = [];
    for (const [d, r] of rows) {
      out.push(JSON.stringify({
        id: d.id, dataset: d.dataset, domain: d.domain, label: d.label, generator: d.generator,
        variant: d.extra?.variant ?? null, words: r.words,
        raw: r.raw, p: calibrate(detector.metadata.calibration, r.raw, r.words), judged: r.judged,
        reasons: r.reasons, style: r.style, vocabulary: r.vocabulary, news: r.news,
      }));
    }
    writeFileSync(process.env.OUT ?? '/tmp/oof.jsonl', out.join('\n') + '\n');
    return { threshold: detector.metadata.threshold };
  },
};
const det = trainDetector(docs, { extensions: [dump], ...(process.env.L2 ? { l2: Number(process.env.L2) } : {}), onProgress: (s, d, t) => { if (s !== 'featurize' || d % 5000 === 0) log(s, d, t); } });
log('threshold', det.metadata.threshold);
