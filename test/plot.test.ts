import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluationPlot, type EvaluationReport, type ScoredDocument } from '../src/evaluate/evaluate.js';
import { escapeXml, renderEvaluationSvg, type EvaluationPlotInput } from '../src/evaluate/plot.js';
import { reliabilityBins, summarize, tprAtFpr, type BinaryLabel } from '../src/model/metrics.js';

/**
 * A structural XML check without a parser dependency: every tag closes in
 * order, and text/attribute content carries no raw '<' or stray '&'.
 */
function assertWellFormed(svg: string): void {
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  const open: string[] = [];
  let cursor = 0;
  for (const match of svg.matchAll(tag)) {
    const between = svg.slice(cursor, match.index);
    assert.ok(!/[<>]/.test(between), `raw markup character in text near: ${between.slice(0, 60)}`);
    assert.ok(!/&(?!(amp|lt|gt|quot|apos);)/.test(between), `unescaped & near: ${between.slice(0, 60)}`);
    cursor = match.index! + match[0].length;
    const [, closing, name, attributes, selfClosing] = match;
    assert.ok(!/&(?!(amp|lt|gt|quot|apos);)/.test(attributes), `unescaped & in <${name}>`);
    if (closing) assert.equal(open.pop(), name, `</${name}> closes the wrong element`);
    else if (!selfClosing) open.push(name);
  }
  assert.ok(!/[<>]/.test(svg.slice(cursor)), 'unmatched markup after the last tag');
  assert.deepEqual(open, [], 'unclosed elements');
}

function sampleInput(): EvaluationPlotInput {
  let seed = 5;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const labels: BinaryLabel[] = [];
  const probs: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const label: BinaryLabel = i % 2 === 0 ? 1 : 0;
    labels.push(label);
    probs.push(Math.min(1, Math.max(0, (label ? 0.62 : 0.3) + (next() - 0.5) * 0.7)));
  }
  const summary = summarize(labels, probs, 0.6);
  const point = tprAtFpr(labels, probs, 0.01);
  const wire = summarize(labels.slice(0, 1000), probs.slice(0, 1000), 0.6);
  return {
    title: 'Held-out <test> & "news"',
    roc: summary.roc!,
    curves: [{ name: 'wire <AP>', ...wire.roc! }],
    reliability: reliabilityBins(labels, probs),
    auroc: summary.auroc,
    ece: summary.ece,
    operatingPoint: { fpr: point.fpr, tpr: point.tpr, threshold: point.threshold },
  };
}

test('renderEvaluationSvg produces a well-formed two-panel SVG', () => {
  const svg = renderEvaluationSvg(sampleInput());
  assert.ok(svg.startsWith('<svg'), 'starts with <svg');
  assert.match(svg, /<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /width="800" height="400"/);
  assertWellFormed(svg);
  assert.ok(svg.includes('>ROC curve</text>'));
  assert.ok(svg.includes('>Calibration (reliability)</text>'));
  assert.ok(!svg.includes('NaN') && !svg.includes('Infinity'), 'no unprintable numbers');
  const path = join(tmpdir(), 'copydesk-evaluation-sample.svg');
  writeFileSync(path, svg);
  console.log(`sample written to ${path}`);
});

test('renderEvaluationSvg escapes inserted text', () => {
  const svg = renderEvaluationSvg(sampleInput());
  assert.ok(svg.includes('Held-out &lt;test&gt; &amp; &quot;news&quot;'));
  assert.ok(!svg.includes('<test>'));
  assert.ok(svg.includes('wire &lt;AP&gt;'));
  assert.equal(escapeXml(`a<b>&"c'`), 'a&lt;b&gt;&amp;&quot;c&apos;');
});

test('renderEvaluationSvg marks the operating point, legend and bin counts', () => {
  const input = sampleInput();
  const svg = renderEvaluationSvg(input);
  assert.match(svg, /TPR \d\.\d{3} @ FPR \d\.\d{4}/, 'operating point caption');
  assert.match(svg, /all \(AUROC 0\.\d{4}\)/, 'legend names the curve with its AUROC');
  assert.match(svg, /ECE 0\.\d{4}/);
  assert.ok(svg.includes('fill="#0072B2"') && svg.includes('fill="#E69F00"'), 'Okabe–Ito colours');
  const binsWithData = input.reliability.filter((b) => b.count > 0);
  for (const bin of binsWithData) assert.ok(svg.includes(`>${bin.count}</text>`), `count ${bin.count} shown`);
  assert.equal((svg.match(/<rect [^>]*fill-opacity="0.55"\/>/g) ?? []).length, binsWithData.length + 1, 'one bar per bin (+ legend swatch)');
});

test('renderEvaluationSvg: log FPR axis and missing metrics still render cleanly', () => {
  const input = sampleInput();
  const svg = renderEvaluationSvg({ ...input, fprScale: 'log', auroc: null, ece: null, operatingPoint: null, curves: [] });
  assertWellFormed(svg);
  assert.ok(svg.includes('log scale'));
  assert.ok(svg.includes('>0.0001</text>'));
  assert.ok(svg.includes('AUROC —') && svg.includes('ECE —'));
  assert.ok(!svg.includes('NaN') && !svg.includes('operating point'));
});

test('evaluationPlot on one class draws no ROC curve (not a stand-in diagonal) and says why', () => {
  const scored = [0.2, 0.4, 0.7].map((probability, i) => ({
    document: { id: `h${i}`, text: 'x', label: 'human', dataset: 'desk', source: null, domain: 'news', generator: null, pair_id: null, prompt: null, extra: {}, origin: { file: 'desk', line: i + 1 } },
    probability,
    verdict: 'human',
    reasons: [],
  })) as unknown as ScoredDocument[];
  const report = { overall: summarize([0, 0, 0], [0.2, 0.4, 0.7], 0.5), by_source: [] } as unknown as EvaluationReport;
  const svg = evaluationPlot(report, scored, 'one class');
  assertWellFormed(svg);
  // The only solid, 2.5-wide polyline is the overall curve: none here.
  assert.doesNotMatch(svg, /<polyline [^>]*stroke-width="2\.5"/);
  assert.match(svg, /all: no ROC curve \(needs human and machine texts\)/);
  assert.doesNotMatch(svg, /AUROC/);
  assert.ok(!svg.includes('NaN'));
});
