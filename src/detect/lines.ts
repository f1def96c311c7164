import { invalidUtf8Line, parseJsonObject } from '../corpus/read.js';
import { InvalidRecordError } from '../corpus/invalid.js';
import { toDocuments } from '../corpus/schema.js';
import type { Detector } from '../model/detector.js';
import { round } from './detect.js';
import { analyzeSentences } from './sentences.js';
import { assessText, judge, judgeProbability, reasonsPart, type Judgement } from './applicability.js';

/**
 * The JSON-lines fast path, one input line at a time: parse, map whatever
 * schema the line carries (`{id, text}`, labeled, seed) to documents, score,
 * serialise. Shared by the in-process path, the worker threads and batch jobs,
 * so all of them produce byte-identical output.
 */
export interface LineOptions {
  file: string;
  dataset: string;
  /** On a bad line, emit an error line in its place instead of stopping. */
  skipInvalid: boolean;
  /** Add mixture_p_value, machine_passage and sentences to every line. */
  sentences?: boolean;
  /** Level of the mixture test's decision (default 0.05). */
  level?: number;
}

/** An input line whose bytes were not UTF-8, as read with replacement characters. */
export interface InvalidUtf8Line {
  invalidUtf8: string;
}

export interface ScoredLines {
  /** Output JSON lines, in input order (a seed-schema line yields two). */
  output: string[];
  /** The first bad line when skipInvalid is off: the caller stops with it. */
  error?: string;
}

export function scoreLines(detector: Detector, lines: Array<string | InvalidUtf8Line>, firstLine: number, options: LineOptions): ScoredLines {
  const output: string[] = [];
  for (let k = 0; k < lines.length; k++) {
    const entry = lines[k];
    const text = typeof entry === 'string' ? entry : entry.invalidUtf8;
    if (text.trim() === '') continue;
    const origin = { file: options.file, line: firstLine + k };
    try {
      if (typeof entry !== 'string') throw invalidUtf8Line(text, origin);
      const parsed = parseJsonObject(firstLine + k === 1 ? text.replace(/^\uFEFF/, '') : text, origin);
      if (parsed instanceof InvalidRecordError) throw parsed;
      for (const document of toDocuments({ record: parsed, origin }, { dataset: options.dataset })) {
        if (options.sentences) {
          output.push(sentenceLine(detector, document.id, document.text, options.level));
          continue;
        }
        const prediction = judge(detector, document.text);
        output.push(
          `{"id":${JSON.stringify(document.id)},"machine_probability":${round(prediction.machine_probability)},"verdict":"${prediction.verdict}"${reasonsField(prediction)}}`,
        );
      }
    } catch (error) {
      if (!(error instanceof InvalidRecordError)) throw error;
      if (!options.skipInvalid) return { output, error: error.message };
      output.push(JSON.stringify({ id: idOf(text), line: origin.line, machine_probability: null, verdict: null, error: error.message }));
    }
  }
  return { output };
}

function sentenceLine(detector: Detector, id: string, text: string, level?: number): string {
  const a = analyzeSentences(detector, text, level);
  const prediction = judgeProbability(detector, detector.probabilityFromScore(a.document_score), assessText(detector, text));
  return JSON.stringify({
    id,
    machine_probability: round(prediction.machine_probability),
    verdict: prediction.verdict,
    ...reasonsPart(prediction),
    mixture_p_value: a.mixture.p_value,
    machine_passage: a.mixture.machine_passage,
    sentences: a.sentences,
  });
}

/** `,"reasons":[…]` when the verdict is uncertain, else nothing: lines stay as they were for judged texts. */
function reasonsField(prediction: Judgement): string {
  return prediction.reasons.length > 0 ? `,"reasons":${JSON.stringify(prediction.reasons)}` : '';
}

/** The id of a line we could not score, if one can be read from it, so the error line stays traceable. */
function idOf(text: string): string | null {
  try {
    const value = JSON.parse(text) as { id?: unknown };
    return typeof value?.id === 'string' || typeof value?.id === 'number' ? String(value.id) : null;
  } catch {
    return null;
  }
}
