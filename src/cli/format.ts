import type { DetectionResult } from '../detect/detect.js';
import { describeReasons } from '../detect/applicability.js';

/** A verdict as a reader sees it in the terminal. */
export function formatDetection(result: DetectionResult, name: string, options: { text?: string; colour?: boolean } = {}): string {
  const percent = (result.machine_probability * 100).toFixed(1);
  const numbers = `machine probability ${percent}%, threshold ${(result.threshold * 100).toFixed(1)}%`;
  const lines =
    result.verdict === 'uncertain'
      ? [`${name}: UNCERTAIN — ${describeReasons(result.reasons ?? [], options.text).join('; ')} (not judged; ${numbers})`]
      : [`${name}: ${result.verdict === 'machine' ? 'MACHINE-WRITTEN' : 'HUMAN-WRITTEN'} (${numbers})`];
  if (result.cautions) lines.push(`  caution: ${describeReasons(result.cautions).join('; ')}; a low score on such text is weaker evidence`);
  if (result.sentences && result.mixture) {
    const m = result.mixture;
    const flagged = result.sentences.filter((x) => x.machine_passage).length;
    // On text with reasons or cautions, passages are withheld whatever the p-value (sentences.ts): not decided, not "none".
    const withheld = !m.machine_passage && (result.reasons !== undefined || result.cautions !== undefined);
    const decision = m.machine_passage
      ? `YES, ${flagged} of ${result.sentences.length} sentences`
      : withheld
        ? `not marked in a text ${result.verdict === 'uncertain' ? 'the detector cannot judge' : 'with cautions'}`
        : 'none found';
    lines.push(`  machine passages: ${decision} (${m.test.toUpperCase()} mixture test p = ${formatP(m.p_value)}, level ${m.level})`);
    if (options.text !== undefined) lines.push(indent(markSentences(options.text, result, Boolean(options.colour))));
  }
  if (result.evidence && result.evidence.length > 0) {
    lines.push('  strongest evidence:');
    for (const e of result.evidence) lines.push(`  ${e.weight > 0 ? '▲' : '▼'} ${e.description}`);
  }
  return `${lines.join('\n')}\n`;
}

function formatP(p: number): string {
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

/**
 * The text with the sentences the mixture test selected marked: bold red on a
 * colour terminal, [M]…[/M] otherwise (pipes, files, NO_COLOR).
 */
export function markSentences(text: string, result: DetectionResult, colour: boolean): string {
  const open = colour ? '\x1b[1;31m' : '[M]';
  const close = colour ? '\x1b[0m' : '[/M]';
  let out = '';
  let at = 0;
  for (const s of result.sentences ?? []) {
    if (!s.machine_passage) continue;
    out += text.slice(at, s.start) + open + text.slice(s.start, s.end) + close;
    at = s.end;
  }
  return (out + text.slice(at)).trim();
}
