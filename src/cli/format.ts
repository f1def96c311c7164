import type { DetectionResult } from '../detect/detect.js';

/** A verdict as a reader sees it in the terminal. */
export function formatDetection(result: DetectionResult, name: string): string {
  const percent = (result.machine_probability * 100).toFixed(1);
  const verdict = result.verdict === 'machine' ? 'MACHINE-WRITTEN' : 'HUMAN-WRITTEN';
  const lines = [`${name}: ${verdict} (machine probability ${percent}%, threshold ${(result.threshold * 100).toFixed(1)}%)`];
  if (result.evidence && result.evidence.length > 0) {
    lines.push('  strongest evidence:');
    for (const e of result.evidence) lines.push(`  ${e.weight > 0 ? '▲' : '▼'} ${e.description}`);
  }
  return `${lines.join('\n')}\n`;
}
