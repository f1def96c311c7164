import { InvalidRecordError } from '../corpus/invalid.js';
import { parseJsonObject } from '../corpus/read.js';
import { toDocuments } from '../corpus/schema.js';
import { scoreLines, type LineOptions } from '../detect/lines.js';
import type { Detector } from '../model/detector.js';

/**
 * One input row on its way to a scoring thread: the row as a JSON object
 * (a JSONL line verbatim; a CSV or Parquet record serialised) and its line
 * (JSONL, CSV) or row number (Parquet), which errors and position-based ids
 * use.
 */
export type Item = [text: string, line: number];

/** Where a batch's rows come from and how to score them. */
export interface ScoreContext {
  /** File name as errors show it. */
  file: string;
  /** File stem: default ids and the seed schema's source. */
  dataset: string;
  skipInvalid: boolean;
  /** Sentence-level fields (mixture_p_value, machine_passage, sentences) in every output row. */
  sentences: boolean;
}

/** The scored output of one batch (or distributed chunk). */
export interface ChunkResult {
  /** Output JSON lines, each ending in "\n", in input order. */
  output: string;
  /** Input rows this batch covered, including skipped ones. */
  rowsIn: number;
  /** Output rows (documents: a seed-schema row yields two). */
  rowsOut: number;
  /** Skipped rows by reason. */
  skips: Record<string, number>;
  /** Where each reason first occurred in this batch ("file:line"). */
  firstSkip: Record<string, string>;
  /** Set when a row is invalid and skipInvalid is off: the run stops with it. */
  error?: string;
}

/**
 * Scores rows with the shared `scoreLines`, one row at a time so a bad row
 * is found exactly: with skipInvalid it is counted by reason and left out of
 * the output (the summary reports it), otherwise the batch stops there.
 */
export function scoreItems(detector: Detector, items: Item[], context: ScoreContext): ChunkResult {
  const options: LineOptions = { file: context.file, dataset: context.dataset, skipInvalid: false, sentences: context.sentences };
  const out: string[] = [];
  const skips: Record<string, number> = {};
  const firstSkip: Record<string, string> = {};
  let rowsOut = 0;
  for (const [text, line] of items) {
    const result = scoreLines(detector, [text], line, options);
    if (result.error === undefined) {
      for (const row of result.output) out.push(row);
      rowsOut += result.output.length;
      continue;
    }
    if (!context.skipInvalid) {
      return { output: joinLines(out), rowsIn: items.length, rowsOut, skips, firstSkip, error: result.error };
    }
    const reason = skipReason(text, line, context);
    skips[reason] = (skips[reason] ?? 0) + 1;
    firstSkip[reason] ??= `${context.file}:${line}`;
  }
  return { output: joinLines(out), rowsIn: items.length, rowsOut, skips, firstSkip };
}

function joinLines(lines: string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The short reason a row was refused ('invalid JSON', 'empty text' ...), for the summary. */
function skipReason(text: string, line: number, context: ScoreContext): string {
  const origin = { file: context.file, line };
  const parsed = parseJsonObject(line === 1 ? text.replace(/^\uFEFF/, '') : text, origin);
  if (parsed instanceof InvalidRecordError) return parsed.reason;
  try {
    toDocuments({ record: parsed, origin }, { dataset: context.dataset });
  } catch (error) {
    if (error instanceof InvalidRecordError) return error.reason;
  }
  return 'invalid row';
}

/** Adds one batch's skip counts into running totals. */
export function addSkips(
  totals: Record<string, number>,
  firstTotals: Record<string, string>,
  skips: Record<string, number>,
  first: Record<string, string>,
): void {
  for (const [reason, count] of Object.entries(skips)) totals[reason] = (totals[reason] ?? 0) + count;
  for (const [reason, where] of Object.entries(first)) firstTotals[reason] ??= where;
}
