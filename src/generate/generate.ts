/**
 * `copydesk generate`: build a fresh paired corpus by asking any OpenAI-compatible
 * chat-completions endpoint to write the machine side of each human story.
 *
 * Output and resume
 * - Records are appended to `out` one whole line at a time, in completion order (not
 *   input order); ids are unique. Re-running the same command reads `out`, cuts a torn
 *   last line, and skips every story whose output id is already there, so an interrupted
 *   run loses nothing and duplicates nothing. Stories that failed (HTTP/network errors)
 *   are written nowhere and are retried by the next run.
 * - Flagged outputs (refusal, empty, truncated, content filter) go to the sidecar
 *   `<out>.rejected.jsonl` ({id, input_id, reason, generator, mode, finish_reason, output,
 *   prompt}), never to `out`, so `out` trains directly. A re-run skips them too, unless
 *   `retryRejected` is set. The sidecar deliberately has no `text`/`article` field, so it
 *   can never be read as training data by mistake.
 *
 * Formats
 * - `seed`: {id, article, highlights, <field>: text, generator, mode[, prefix]}: one line
 *   per story; `copydesk train` reads it as a human/machine pair when field is `chatgpt`
 *   (the seed schema's name for the machine text; the reader calls that generator
 *   "chatgpt" whatever model wrote it: use `labeled` to keep the model name).
 * - `labeled`: {id: "<input id>:<model>", label: "machine", generator: <model>, domain,
 *   source, pair_id: <input story id>, prompt: <the user message exactly as sent>, text,
 *   mode, system_prompt[, prefix]}: machine records only; train on them together with the
 *   human records (the input).
 *
 * Continue mode: the output text is the article as it would read, the human prefix (the
 * first N words) followed by the continuation; the prefix is also recorded in `prefix`.
 */
import path from 'node:path';
import pLimit from 'p-limit';
import { datasetName, detectSchema, readRecords, resolveInputs } from '../corpus/index.js';
import type { Origin } from '../corpus/types.js';
import { UserError } from '../util/errors.js';
import { createProgress, type ProgressOptions } from '../util/progress.js';
import { ApiError, ChatClient, safeUrl, type ChatClientOptions, type ChatMessage } from './client.js';
import {
  buildPrompt,
  DEFAULT_CONTINUE_WORDS,
  DEFAULT_PROMPTS,
  joinContinuation,
  type GenerateMode,
  type PromptTemplates,
  type SourceStory,
} from './prompts.js';
import { flagOutput, type FlagReason } from './quality.js';
import { LineAppender, scanExisting } from './resume.js';

export type OutputFormat = 'seed' | 'labeled';

/** The client settings a generate run passes through unchanged. */
type ClientSettings = Pick<
  ChatClientOptions,
  'endpoint' | 'model' | 'apiKey' | 'timeoutMs' | 'maxRetries' | 'stream' | 'maxTokens' | 'temperature'
>;
const CLIENT_SETTINGS = ['endpoint', 'model', 'apiKey', 'timeoutMs', 'maxRetries', 'stream', 'maxTokens', 'temperature'] as const;

export interface GenerateOptions extends ClientSettings {
  /** Seed- or labeled-schema inputs: files, directories or globs (JSONL, CSV, Parquet). */
  data: string[];
  out: string;
  mode?: GenerateMode;
  format?: OutputFormat;
  /** Seed format: field holding the generated text (default `chatgpt`). */
  field?: string;
  prompts?: PromptTemplates;
  continueWords?: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Use only the first N eligible input stories (in input order; done ones count). */
  limit?: number | null;
  /** Re-run stories flagged by an earlier run instead of skipping them. */
  retryRejected?: boolean;
  /** Stop the run after this many failed stories in a row (default 20): the endpoint is down. */
  maxConsecutiveFailures?: number;
  /** Progress display (default: bar/lines on stderr). */
  progress?: Omit<ProgressOptions, 'label' | 'total' | 'unit'>;
  onEvent?: (event: GenerateEvent) => void;
  /** Aborting stops the run cleanly (the summary says `interrupted`). */
  signal?: AbortSignal;
}

export type GenerateEvent =
  | { type: 'retry'; id: string; attempt: number; delayMs: number; reason: string }
  | { type: 'failed'; id: string; reason: string; message: string }
  | { type: 'flagged'; id: string; reason: FlagReason }
  | { type: 'repaired'; file: string; bytes: number };

export interface GenerateSummary {
  out: string;
  rejectedOut: string;
  model: string;
  mode: GenerateMode;
  format: OutputFormat;
  /** Eligible input stories (after --limit). */
  stories: number;
  generated: number;
  failed: number;
  /** Failed stories by reason (`http-400`, `timeout`, `http-503`, `malformed` ...). */
  failures: Record<string, number>;
  /** The first few failures, for the summary. */
  failedExamples: { id: string; reason: string; message: string }[];
  flagged: number;
  flags: Partial<Record<FlagReason, number>>;
  /** Already in the output from an earlier run. */
  skippedDone: number;
  /** Flagged by an earlier run (in the sidecar) and not retried. */
  skippedRejected: number;
  /** Input records not used, by reason (`not-human`, `no-highlights`, `duplicate-id` ...). */
  skippedInput: Record<string, number>;
  promptTokens: number;
  completionTokens: number;
  /** Responses that reported no token usage. */
  responsesWithoutUsage: number;
  retries: number;
  /** Bytes of a torn last line cut from the output and sidecar before resuming. */
  repairedBytes: number;
  interrupted: boolean;
  elapsedSeconds: number;
}

/** A human story to write a machine counterpart for. */
interface Story extends SourceStory {
  outputId: string;
  pairId: string;
  domain: string | null;
  source: string | null;
  origin: Origin;
}

const SEED_RESERVED = new Set(['id', 'article', 'highlights', 'generator', 'mode', 'prefix']);

export function rejectedPath(out: string): string {
  return `${out}.rejected.jsonl`;
}

export async function generateCorpus(options: GenerateOptions): Promise<GenerateSummary> {
  const started = Date.now();
  const mode = options.mode ?? 'highlights';
  const format = options.format ?? 'seed';
  const field = options.field ?? 'chatgpt';
  const templates = options.prompts ?? DEFAULT_PROMPTS;
  const continueWords = options.continueWords ?? DEFAULT_CONTINUE_WORDS;
  const concurrency = options.concurrency ?? 4;
  const maxConsecutiveFailures = options.maxConsecutiveFailures ?? 20;
  const model = options.model.trim();
  validate(options, { mode, format, field, concurrency, continueWords, model });
  const emit = options.onEvent ?? (() => {});
  const rejectedOut = rejectedPath(options.out);

  const summary: GenerateSummary = {
    out: options.out,
    rejectedOut,
    model,
    mode,
    format,
    stories: 0,
    generated: 0,
    failed: 0,
    failures: {},
    failedExamples: [],
    flagged: 0,
    flags: {},
    skippedDone: 0,
    skippedRejected: 0,
    skippedInput: {},
    promptTokens: 0,
    completionTokens: 0,
    responsesWithoutUsage: 0,
    retries: 0,
    repairedBytes: 0,
    interrupted: false,
    elapsedSeconds: 0,
  };

  // The client validates the endpoint before any file is touched.
  let client: ChatClient;
  try {
    const settings = Object.fromEntries(CLIENT_SETTINGS.map((key) => [key, options[key]])) as ClientSettings;
    client = new ChatClient({ ...settings, model });
  } catch (error) {
    if (error instanceof ApiError) throw new UserError(error.message);
    throw error;
  }

  // 1. What earlier runs already wrote, and with which model and mode.
  const earlier = new Map<string, EarlierRecord[]>();
  const remember = (id: string, record: Record<string, unknown>, where: string): string => {
    earlier.set(id, [...(earlier.get(id) ?? []), { where, generator: record.generator, mode: record.mode }]);
    return id;
  };
  const existing = await scanExisting(options.out, (record, line) =>
    remember(outputKey(record, line, options.out, format, field), record, `${options.out}:${line}`),
  );
  const rejected = await scanExisting(rejectedOut, (record, line) => {
    if (typeof record.id !== 'string') throw new UserError(`${rejectedOut}:${line}: record has no string "id"`);
    return remember(record.id, record, `${rejectedOut}:${line}`);
  });
  for (const [file, bytes] of [
    [options.out, existing.truncatedBytes],
    [rejectedOut, rejected.truncatedBytes],
  ] as const) {
    if (bytes > 0) emit({ type: 'repaired', file, bytes });
  }
  summary.repairedBytes = existing.truncatedBytes + rejected.truncatedBytes;

  // 2. The stories to write, in input order.
  const stories = await collectStories(options.data, { mode, format, model, limit: options.limit ?? null }, summary.skippedInput);
  summary.stories = stories.length;
  const pending: Story[] = [];
  for (const story of stories) {
    assertWrittenAlike(story.outputId, earlier.get(story.outputId), model, mode);
    if (existing.keys.has(story.outputId)) summary.skippedDone += 1;
    else if (rejected.keys.has(story.outputId) && !options.retryRejected) summary.skippedRejected += 1;
    else pending.push(story);
  }

  // 3. Generate, a bounded number of requests at a time.
  const out = new LineAppender(options.out);
  const sidecar = new LineAppender(rejectedOut);
  const controller = new AbortController();
  let fatal: Error | null = null;
  const onOuterAbort = () => {
    summary.interrupted = true;
    controller.abort();
  };
  if (options.signal?.aborted) onOuterAbort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const stop = (error: Error) => {
    fatal ??= error;
    controller.abort();
  };
  const progress = createProgress({ label: `generate ${model}`, total: pending.length, unit: 'records', ...options.progress });
  let consecutiveFailures = 0;

  const work = async (story: Story): Promise<void> => {
    const prompt = buildPrompt(mode, story, templates, continueWords);
    const messages: ChatMessage[] = [];
    if (prompt.system !== null) messages.push({ role: 'system', content: prompt.system });
    messages.push({ role: 'user', content: prompt.user });
    let completion;
    try {
      completion = await client.complete(messages, controller.signal, (info) => {
        summary.retries += 1;
        emit({ type: 'retry', id: story.id, ...info });
      });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.kind === 'aborted') return;
      if (error.kind === 'fatal') {
        stop(new UserError(`${error.message}\nstopped the run; ${summary.generated} records written to ${options.out} are kept, run again to resume`));
        return;
      }
      summary.failed += 1;
      summary.failures[error.reason] = (summary.failures[error.reason] ?? 0) + 1;
      if (summary.failedExamples.length < 10) summary.failedExamples.push({ id: story.id, reason: error.reason, message: error.message });
      emit({ type: 'failed', id: story.id, reason: error.reason, message: error.message });
      progress.tick();
      consecutiveFailures += 1;
      if (consecutiveFailures >= maxConsecutiveFailures) {
        stop(
          new UserError(
            `stopped after ${consecutiveFailures} failed records in a row at ${safeUrl(client.url)}; last error: ${error.message}\n` +
              `${summary.generated} records written to ${options.out} are kept, run again to resume`,
          ),
        );
      }
      return;
    }
    consecutiveFailures = 0;
    if (completion.usage) {
      summary.promptTokens += completion.usage.promptTokens;
      summary.completionTokens += completion.usage.completionTokens;
    } else {
      summary.responsesWithoutUsage += 1;
    }
    // A server that echoes the key (some proxies and test servers do) must not put it in a file.
    const raw = client.redact(completion.text).trim();
    const flag = flagOutput(raw, completion.finishReason, completion.refusal);
    if (flag !== null) {
      sidecar.append({
        id: story.outputId,
        input_id: story.id,
        reason: flag,
        generator: model,
        mode,
        finish_reason: completion.finishReason,
        output: raw,
        ...(completion.refusal ? { refusal: client.redact(completion.refusal) } : {}),
        prompt: prompt.user,
      });
      summary.flagged += 1;
      summary.flags[flag] = (summary.flags[flag] ?? 0) + 1;
      emit({ type: 'flagged', id: story.id, reason: flag });
    } else {
      const text = prompt.prefix !== null ? joinContinuation(prompt.prefix, raw) : raw;
      out.append(outputRecord(story, { format, field, model, mode, text, prompt }));
      summary.generated += 1;
    }
    progress.tick();
  };

  // At most `concurrency` requests in flight, stories started in input order; once the run
  // stops, the stories still queued settle at once without a request.
  const limit = pLimit(concurrency);
  const job = async (story: Story): Promise<void> => {
    if (controller.signal.aborted) return;
    try {
      await work(story);
    } catch (error) {
      stop(error as Error);
    }
  };

  try {
    await Promise.all(pending.map((story) => limit(job, story)));
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
    out.close();
    sidecar.close();
    summary.elapsedSeconds = (Date.now() - started) / 1000;
    progress.stop();
  }
  if (fatal) throw fatal;
  return summary;
}

function validate(
  options: GenerateOptions,
  v: { mode: string; format: string; field: string; concurrency: number; continueWords: number; model: string },
): void {
  if (!['highlights', 'continue', 'rewrite'].includes(v.mode)) {
    throw new UserError(`unknown mode "${v.mode}" (expected highlights, continue or rewrite)`);
  }
  if (v.format !== 'seed' && v.format !== 'labeled') throw new UserError(`unknown format "${v.format}" (expected seed or labeled)`);
  if (v.model === '') throw new UserError('--model must name the model to ask');
  if (v.format === 'seed' && (v.field.trim() === '' || SEED_RESERVED.has(v.field))) {
    throw new UserError(`--field "${v.field}" cannot hold the generated text (reserved: ${[...SEED_RESERVED].join(', ')})`);
  }
  if (!Number.isInteger(v.concurrency) || v.concurrency < 1) throw new UserError('--concurrency must be a whole number ≥ 1');
  if (!Number.isInteger(v.continueWords) || v.continueWords < 1) throw new UserError('--continue-words must be a whole number ≥ 1');
  if (options.limit != null && (!Number.isInteger(options.limit) || options.limit < 0)) {
    throw new UserError('--limit must be a whole number ≥ 0');
  }
  if (options.out === '-' || options.out.trim() === '') throw new UserError('--out must name a file (output is appended and resumed)');
  if (path.resolve(options.out).endsWith('.rejected.jsonl')) {
    throw new UserError(`--out ${options.out} looks like a rejected-outputs sidecar; choose another name`);
  }
}

/** A line an earlier run wrote (to the output or the sidecar) for one output id. */
interface EarlierRecord {
  where: string;
  generator: unknown;
  mode: unknown;
}

/**
 * A story already in the output or the sidecar counts as done (or flagged) only when
 * the same model wrote it in the same mode; otherwise the run would skip it and leave
 * another model's text under this run's name.
 */
function assertWrittenAlike(id: string, records: EarlierRecord[] | undefined, model: string, mode: GenerateMode): void {
  const other = records?.find((r) => r.generator !== model || r.mode !== mode);
  if (!other) return;
  const setting = (value: unknown) => (typeof value === 'string' ? value : 'none');
  throw new UserError(
    `${other.where}: ${id} was written with --model "${setting(other.generator)}" --mode ${setting(other.mode)}, ` +
      `not --model "${model}" --mode ${mode}; use a new --out file, or the same --model and --mode to resume`,
  );
}

/** The key an existing output line is resumed by; refuses lines written with other settings. */
function outputKey(record: Record<string, unknown>, line: number, file: string, format: OutputFormat, field: string): string {
  const where = `${file}:${line}`;
  if (typeof record.id !== 'string' || record.id === '') throw new UserError(`${where}: existing output record has no string "id"`);
  if (format === 'seed') {
    if (typeof record[field] !== 'string') {
      throw new UserError(
        `${where}: existing output record has no "${field}" text; was ${file} written with another --field or --format? ` +
          'Use a new --out file or the same settings',
      );
    }
  } else if (record.label === undefined || typeof record.text !== 'string') {
    throw new UserError(
      `${where}: existing output record is not in the labeled schema; was ${file} written with --format seed? ` +
        'Use a new --out file or the same settings',
    );
  }
  return record.id;
}

function optionalString(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return null;
}

async function collectStories(
  data: string[],
  settings: { mode: GenerateMode; format: OutputFormat; model: string; limit: number | null },
  skipped: Record<string, number>,
): Promise<Story[]> {
  const skip = (reason: string) => (skipped[reason] = (skipped[reason] ?? 0) + 1);
  const stories: Story[] = [];
  const seen = new Set<string>();
  if (settings.limit === 0) return stories;
  const files = await resolveInputs(data);
  for (const file of files) {
    const dataset = datasetName(file);
    for await (const { record, origin } of readRecords(file)) {
      const schema = detectSchema(record);
      if (schema === undefined) {
        throw new UserError(
          `${origin.file}:${origin.line}: expected the seed schema {id, article, highlights} or the labeled schema {id, label, text}`,
        );
      }
      if (schema === 'text') {
        skip('unlabeled');
        continue;
      }
      const id = optionalString(record.id) ?? `${dataset}:${origin.line}`;
      let article: unknown;
      let highlights: string | null;
      let pairId = id;
      let domain: string | null = 'news';
      let source: string | null = dataset;
      if (schema === 'labeled') {
        const label = typeof record.label === 'string' ? record.label.trim().toLowerCase() : '';
        if (label !== 'human') {
          skip('not-human');
          continue;
        }
        article = record.text;
        highlights = optionalString(record.prompt);
        pairId = optionalString(record.pair_id) ?? id;
        domain = optionalString(record.domain);
        source = optionalString(record.source);
      } else {
        article = record.article;
        highlights = optionalString(record.highlights);
      }
      if (typeof article !== 'string' || article.trim() === '') {
        skip('no-article');
        continue;
      }
      if (settings.mode === 'highlights' && highlights === null) {
        skip('no-highlights');
        continue;
      }
      const outputId = settings.format === 'seed' ? id : `${id}:${settings.model}`;
      if (seen.has(outputId)) {
        skip('duplicate-id');
        continue;
      }
      seen.add(outputId);
      stories.push({ id, article, highlights, outputId, pairId, domain, source, origin });
      if (settings.limit !== null && stories.length >= settings.limit) return stories;
    }
  }
  return stories;
}

function outputRecord(
  story: Story,
  r: {
    format: OutputFormat;
    field: string;
    model: string;
    mode: GenerateMode;
    text: string;
    prompt: { system: string | null; user: string; prefix: string | null };
  },
): Record<string, unknown> {
  const prefix = r.prompt.prefix !== null ? { prefix: r.prompt.prefix } : {};
  if (r.format === 'seed') {
    return {
      id: story.outputId,
      article: story.article,
      highlights: story.highlights ?? '',
      [r.field]: r.text,
      generator: r.model,
      mode: r.mode,
      ...prefix,
    };
  }
  return {
    id: story.outputId,
    label: 'machine',
    generator: r.model,
    domain: story.domain,
    source: story.source,
    pair_id: story.pairId,
    prompt: r.prompt.user,
    text: r.text,
    mode: r.mode,
    system_prompt: r.prompt.system,
    ...prefix,
  };
}
