import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { Stream } from 'openai/streaming';

/**
 * Chat completions (`POST {base}/chat/completions`) through the official `openai` SDK, as
 * spoken by OpenAI and by local servers (vLLM, llama.cpp server, Ollama). The SDK does the
 * transport: base URL, bearer key, per-attempt timeout, retries with exponential backoff on
 * 408/409/429/5xx, network errors and timeouts (honouring `Retry-After` and
 * `retry-after-ms`), and server-sent events. This module keeps what is copydesk's: reading
 * the completion (refusal, finish reason, usage), a time limit on the response body too, the
 * classification of failures for the run (stop, fail the record), and messages that never
 * contain the API key (`redact`).
 */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface Completion {
  text: string;
  /** `stop`, `length`, `content_filter`, ... ; null when the server sent none. */
  finishReason: string | null;
  /** OpenAI's structured refusal (`message.refusal`), when sent. */
  refusal: string | null;
  usage: Usage | null;
  /** Attempts made, 1 when the first one succeeded. */
  attempts: number;
}

/**
 * - `fatal`: retrying or moving on to other records cannot help (401, 403, 404, 405): stop the run.
 * - `rejected`: the server refused this request (400, 413, 422, other 4xx): this record fails.
 * - `exhausted`: a transient error persisted through every retry, or the answer was unusable: this record fails.
 * - `aborted`: the caller's signal fired.
 */
export type ApiErrorKind = 'fatal' | 'rejected' | 'exhausted' | 'aborted';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly kind: ApiErrorKind,
    readonly status: number | null,
    /** Short machine-friendly reason for summaries: `http-400`, `timeout`, `network`, `malformed` ... */
    readonly reason: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface RetryInfo {
  attempt: number;
  /** Measured time between the failed attempt's end and the retry. */
  delayMs: number;
  reason: string;
}

export interface ChatClientOptions {
  /** Base URL (`http://host:8000/v1`), or the full `.../chat/completions` URL. */
  endpoint: string;
  model: string;
  /** Sent as `Authorization: Bearer`; null/undefined sends no header (local servers). */
  apiKey?: string | null;
  /** Per-attempt time to the response headers, and again for the body (default 120 s). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 5). */
  maxRetries?: number;
  stream?: boolean;
  maxTokens?: number | null;
  temperature?: number | null;
  /** Extra body fields merged into every request (e.g. `top_p`). */
  extraBody?: Record<string, unknown>;
  onRetry?: (info: RetryInfo) => void;
}

/** `http://h/v1` → `http://h/v1/chat/completions`; a bare host gets `/v1/chat/completions`. */
export function chatCompletionsUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ApiError(`invalid endpoint URL "${safeUrl(endpoint)}"`, 'fatal', null, 'bad-endpoint');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ApiError(`endpoint must be an http(s) URL, got "${safeUrl(endpoint)}"`, 'fatal', null, 'bad-endpoint');
  }
  let path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith('/chat/completions')) {
    if (path === '') path = '/v1';
    path += '/chat/completions';
  }
  url.pathname = path;
  return url.toString();
}

/** An URL fit for messages: credentials in it are masked. */
export function safeUrl(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    if (url.username || url.password) {
      url.username = '***';
      url.password = '';
    }
    for (const key of [...url.searchParams.keys()]) {
      if (/key|token|secret|auth/i.test(key)) url.searchParams.set(key, '***');
    }
    return url.toString();
  } catch {
    return endpoint.replace(/\/\/[^/@]*@/, '//***@');
  }
}

/** One `complete` call's attempts, as the fetch the SDK calls sees them. */
interface Call {
  attempts: number;
  lastEnd: number;
  lastReason: string;
  signal?: AbortSignal;
  onRetry: (info: RetryInfo) => void;
}

const CALL = Symbol('copydesk call');

/** Counts attempts and reports retries: the SDK retries inside one `create` call and tells no one. */
const observedFetch: typeof fetch = async (url, init) => {
  const call = (init as Record<symbol, Call | undefined> | undefined)?.[CALL];
  if (call) {
    call.attempts++;
    if (call.attempts > 1) call.onRetry({ attempt: call.attempts - 1, delayMs: Date.now() - call.lastEnd, reason: call.lastReason });
  }
  try {
    const response = await fetch(url, init);
    if (call) [call.lastEnd, call.lastReason] = [Date.now(), `http-${response.status}`];
    return response;
  } catch (error) {
    if (call) [call.lastEnd, call.lastReason] = [Date.now(), (error as Error).name === 'AbortError' && !call.signal?.aborted ? 'timeout' : 'network'];
    throw error;
  }
};

class Unusable extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

export class ChatClient {
  readonly url: string;
  private readonly sdk: OpenAI;
  private readonly timeoutMs: number;

  constructor(private readonly opts: ChatClientOptions) {
    this.url = chatCompletionsUrl(opts.endpoint);
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.sdk = new OpenAI({
      baseURL: this.url.replace(/\/chat\/completions$/, ''),
      // Without a key no Authorization header is sent (local servers); the SDK insists on a key, hence the
      // placeholder that the null header removes. The key is never read from the environment here.
      apiKey: opts.apiKey || 'none',
      ...(opts.apiKey ? {} : { defaultHeaders: { Authorization: null } }),
      timeout: this.timeoutMs,
      maxRetries: opts.maxRetries ?? 5,
      fetch: observedFetch,
      logLevel: 'off',
    });
  }

  /** Replace the API key wherever it appears. */
  redact(text: string): string {
    const key = this.opts.apiKey;
    if (!key) return text;
    return text.split(key).join('***');
  }

  /** One chat completion, retried as configured. Throws ApiError. */
  async complete(messages: ChatMessage[], signal?: AbortSignal, onRetry?: (info: RetryInfo) => void): Promise<Completion> {
    const body = {
      model: this.opts.model,
      messages,
      ...(this.opts.maxTokens != null ? { max_tokens: this.opts.maxTokens } : {}),
      ...(this.opts.temperature != null ? { temperature: this.opts.temperature } : {}),
      ...(this.opts.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      ...this.opts.extraBody,
    };
    const call: Call = {
      attempts: 0,
      lastEnd: 0,
      lastReason: '',
      signal,
      onRetry: (info) => {
        this.opts.onRetry?.(info);
        onRetry?.(info);
      },
    };
    // The SDK's timeout ends when the headers arrive; this one bounds the body that follows.
    const bodyDeadline = new AbortController();
    const deadline = { hit: false };
    let timer: NodeJS.Timeout | undefined;
    try {
      if (signal?.aborted) throw new APIUserAbortError();
      const response = await this.sdk.chat.completions
        .create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, {
          signal: signal ? AbortSignal.any([signal, bodyDeadline.signal]) : bodyDeadline.signal,
          fetchOptions: { [CALL]: call } as object,
        })
        .asResponse();
      timer = setTimeout(() => {
        deadline.hit = true;
        bodyDeadline.abort();
      }, this.timeoutMs);
      const type = response.headers.get('content-type') ?? '';
      const result = await (this.opts.stream && !type.includes('application/json')
        ? this.readStream(response, bodyDeadline, deadline)
        : response.text().then((text) => this.parseJson(text))
      ).catch((error: unknown) => {
        if (error instanceof Unusable || error instanceof APIError || error instanceof SyntaxError) throw error;
        // The connection failed while the body was arriving (the SDK retries only up to the headers).
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new Unusable(`network error: ${cause?.code ?? cause?.message ?? (error as Error).message}`, 'network');
      });
      if (deadline.hit) throw new APIUserAbortError();
      return { ...result, attempts: call.attempts };
    } catch (error) {
      throw this.failure(error, call, signal, deadline.hit);
    } finally {
      clearTimeout(timer);
    }
  }

  private failure(error: unknown, call: Call, signal: AbortSignal | undefined, bodyTimedOut: boolean): Error {
    const tries = Math.max(call.attempts, 1);
    const gaveUp = ` (gave up after ${tries} attempt${tries === 1 ? '' : 's'})`;
    if (signal?.aborted) return new ApiError('request aborted', 'aborted', null, 'aborted');
    if (bodyTimedOut || error instanceof APIConnectionTimeoutError) {
      return new ApiError(`request timed out after ${this.timeoutMs / 1000} s${gaveUp}`, 'exhausted', null, 'timeout');
    }
    if (error instanceof Unusable) return new ApiError(this.redact(`${error.message}${gaveUp}`), 'exhausted', null, error.reason);
    if (error instanceof APIConnectionError) {
      const cause = (error.cause as { cause?: { code?: string; message?: string } } | undefined)?.cause;
      return new ApiError(this.redact(`network error: ${cause?.code ?? cause?.message ?? error.message}${gaveUp}`), 'exhausted', null, 'network');
    }
    if (error instanceof APIError && error.status === undefined) {
      // An error event inside a stream.
      return new ApiError(this.redact(`server error in stream: ${serverMessage(error)}${gaveUp}`), 'exhausted', null, 'stream-error');
    }
    if (error instanceof APIError) return this.httpError(error.status!, this.redact(serverMessage(error)), gaveUp);
    if (error instanceof SyntaxError) return new ApiError(this.redact(`malformed JSON in stream event: ${error.message}${gaveUp}`), 'exhausted', null, 'malformed');
    return error as Error;
  }

  private httpError(status: number, detail: string, gaveUp: string): ApiError {
    const where = `${safeUrl(this.url)} (model "${this.opts.model}")`;
    const suffix = detail ? `: ${detail}` : '';
    if (status === 429 || status === 408 || status === 409 || status >= 500) {
      return new ApiError(`HTTP ${status} from ${safeUrl(this.url)}${suffix}${gaveUp}`, 'exhausted', status, `http-${status}`);
    }
    if (status === 401 || status === 403) {
      const hint = this.opts.apiKey
        ? 'the API key from COPYDESK_API_KEY / OPENAI_API_KEY was rejected'
        : 'no API key was sent: set COPYDESK_API_KEY or OPENAI_API_KEY';
      return new ApiError(`authentication failed (HTTP ${status}) at ${where}: ${hint}${suffix}`, 'fatal', status, `http-${status}`);
    }
    if (status === 404) {
      return new ApiError(
        `HTTP 404 at ${where}: the model does not exist there or the endpoint is not an OpenAI-compatible base URL${suffix}`,
        'fatal',
        status,
        'http-404',
      );
    }
    if (status === 405) return new ApiError(`HTTP 405 at ${where}: the endpoint does not accept chat completions${suffix}`, 'fatal', status, 'http-405');
    return new ApiError(`HTTP ${status} from ${where}${suffix}`, 'rejected', status, `http-${status}`);
  }

  private parseJson(text: string): Omit<Completion, 'attempts'> {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Unusable(`malformed JSON in response body: ${snippet(text)}`, 'malformed');
    }
    const obj = asObject(body);
    const choice = asObject(Array.isArray(obj?.choices) ? obj.choices[0] : undefined);
    const message = asObject(choice?.message);
    if (!obj || !choice || !message) {
      const err = obj ? errorMessage(obj) : null;
      throw new Unusable(err ? `server error in response body: ${err}` : `response has no choices[0].message: ${snippet(text)}`, 'malformed');
    }
    return {
      text: contentText(message.content),
      finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
      refusal: typeof message.refusal === 'string' && message.refusal !== '' ? message.refusal : null,
      usage: parseUsage(obj.usage),
    };
  }

  /** The SDK's server-sent-events reader; the chunks' deltas are summed here. */
  private async readStream(response: Response, controller: AbortController, deadline: { hit: boolean }): Promise<Omit<Completion, 'attempts'>> {
    let text = '';
    let refusal = '';
    let finishReason: string | null = null;
    let usage: Usage | null = null;
    let chunks = 0;
    for await (const chunk of Stream.fromSSEResponse<unknown>(response, controller, this.sdk)) {
      const obj = asObject(chunk);
      if (!obj) throw new Unusable(`unexpected stream event: ${snippet(JSON.stringify(chunk))}`, 'malformed');
      chunks++;
      usage = parseUsage(obj.usage) ?? usage;
      const choice = asObject(Array.isArray(obj.choices) ? obj.choices[0] : undefined);
      if (!choice) continue;
      const delta = asObject(choice.delta) ?? asObject(choice.message);
      if (delta) {
        text += contentText(delta.content);
        if (typeof delta.refusal === 'string') refusal += delta.refusal;
      }
      if (typeof choice.finish_reason === 'string') finishReason = choice.finish_reason;
    }
    // The SDK's stream ends quietly when aborted; a time-out is reported by the caller.
    if (finishReason === null && !deadline.hit) {
      throw new Unusable(chunks === 0 ? 'stream ended without any event' : 'stream ended before a finish_reason', 'stream-cut');
    }
    return { text, finishReason, refusal: refusal === '' ? null : refusal, usage };
  }
}

function asObject(value: unknown): Record<string, any> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, any>) : null;
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    // content parts: [{type: 'text', text}]
    return content.map((part) => (typeof part?.text === 'string' ? part.text : '')).join('');
  }
  return '';
}

function parseUsage(value: unknown): Usage | null {
  const u = asObject(value);
  if (!u) return null;
  const p = Number(u.prompt_tokens);
  const c = Number(u.completion_tokens);
  if (!Number.isFinite(p) && !Number.isFinite(c)) return null;
  return { promptTokens: Number.isFinite(p) ? p : 0, completionTokens: Number.isFinite(c) ? c : 0 };
}

function errorMessage(obj: Record<string, any>): string | null {
  if (obj.error === undefined || obj.error === null) return null;
  if (typeof obj.error === 'string') return obj.error;
  const e = asObject(obj.error);
  if (e && typeof e.message === 'string') return e.message;
  return JSON.stringify(obj.error).slice(0, 300);
}

/** The server's own explanation from an SDK error (its parsed body, or the text), shortened. */
function serverMessage(error: APIError): string {
  const body = asObject(error.error);
  const message = body
    ? (typeof body.message === 'string' ? body.message : null) ?? errorMessage(body) ?? (typeof body.detail === 'string' ? body.detail : null)
    : null;
  if (message) return snippet(message);
  // The SDK's message is "<status> <text>" or "<status> status code (no body)".
  const text = error.message.replace(/^\d{3} /, '');
  return /^status code \(no body\)$/.test(text) ? '' : snippet(text);
}

function snippet(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
