/**
 * A small client for the OpenAI chat-completions protocol (`POST {base}/chat/completions`),
 * as spoken by OpenAI and by local servers (vLLM, llama.cpp server, Ollama): plain and
 * SSE-streamed responses, per-request timeout, and retries with exponential backoff and full
 * jitter on 429, 408/409/425, 5xx, network errors, timeouts and malformed bodies, honouring
 * `Retry-After` (seconds or HTTP date) and `retry-after-ms`.
 *
 * The API key is only ever put in the Authorization header; every message this module
 * produces is passed through `redact`, so a server that echoes the key cannot leak it.
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
 * - `exhausted`: a transient error persisted through every retry: this record fails.
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
  delayMs: number;
  reason: string;
}

export interface ChatClientOptions {
  /** Base URL (`http://host:8000/v1`), or the full `.../chat/completions` URL. */
  endpoint: string;
  model: string;
  /** Sent as `Authorization: Bearer`; null/undefined sends no header (local servers). */
  apiKey?: string | null;
  /** Per-attempt timeout, whole response included (default 120 s). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 5). */
  maxRetries?: number;
  /** Backoff base: attempt k waits random(0, min(max, base·2^k)) (default 1000 ms). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Longest `Retry-After` honoured; longer ones are capped (default 300 s). */
  maxRetryAfterMs?: number;
  stream?: boolean;
  maxTokens?: number | null;
  temperature?: number | null;
  /** Extra body fields merged into every request (e.g. `top_p`). */
  extraBody?: Record<string, unknown>;
  onRetry?: (info: RetryInfo) => void;
  /** Injectable for tests. */
  random?: () => number;
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

/** Parse `Retry-After` (delta-seconds or HTTP-date) / `retry-after-ms` into milliseconds. */
export function parseRetryAfter(headers: Headers, now = Date.now()): number | null {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.max(0, Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

class Transient extends Error {
  constructor(
    message: string,
    readonly reason: string,
    readonly status: number | null = null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

export class ChatClient {
  readonly url: string;
  private readonly opts: Required<Omit<ChatClientOptions, 'apiKey' | 'onRetry' | 'maxTokens' | 'temperature' | 'extraBody'>> &
    ChatClientOptions;

  constructor(options: ChatClientOptions) {
    this.url = chatCompletionsUrl(options.endpoint);
    this.opts = {
      timeoutMs: 120_000,
      maxRetries: 5,
      retryBaseMs: 1000,
      retryMaxMs: 60_000,
      maxRetryAfterMs: 300_000,
      stream: false,
      random: Math.random,
      ...options,
    };
  }

  /** Replace the API key wherever it appears. */
  redact(text: string): string {
    const key = this.opts.apiKey;
    if (!key) return text;
    return text.split(key).join('***');
  }

  /** One chat completion, retried as configured. Throws ApiError. */
  async complete(messages: ChatMessage[], signal?: AbortSignal, onRetry?: (info: RetryInfo) => void): Promise<Completion> {
    const body: Record<string, unknown> = {
      model: this.opts.model,
      messages,
      ...(this.opts.maxTokens != null ? { max_tokens: this.opts.maxTokens } : {}),
      ...(this.opts.temperature != null ? { temperature: this.opts.temperature } : {}),
      ...(this.opts.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      ...this.opts.extraBody,
    };
    const payload = JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new ApiError('request aborted', 'aborted', null, 'aborted');
      try {
        const completion = await this.attempt(payload, signal);
        return { ...completion, attempts: attempt + 1 };
      } catch (error) {
        if (error instanceof ApiError) throw error;
        if (!(error instanceof Transient)) throw error;
        if (attempt >= this.opts.maxRetries) {
          const tries = attempt + 1;
          throw new ApiError(
            this.redact(`${error.message} (gave up after ${tries} attempt${tries === 1 ? '' : 's'})`),
            'exhausted',
            error.status,
            error.reason,
          );
        }
        const backoff = this.opts.random() * Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** attempt);
        const delayMs =
          error.retryAfterMs !== null ? Math.min(error.retryAfterMs, this.opts.maxRetryAfterMs) : backoff;
        const info = { attempt: attempt + 1, delayMs, reason: error.reason };
        this.opts.onRetry?.(info);
        onRetry?.(info);
        await sleep(delayMs, signal);
      }
    }
  }

  private async attempt(payload: string, signal: AbortSignal | undefined): Promise<Omit<Completion, 'attempts'>> {
    const timeout = AbortSignal.timeout(this.opts.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: this.opts.stream ? 'text/event-stream' : 'application/json',
    };
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    const timeoutMessage = `request timed out after ${this.opts.timeoutMs / 1000} s`;
    const failed = (error: unknown): never => {
      if (signal?.aborted) throw new ApiError('request aborted', 'aborted', null, 'aborted');
      if (timeout.aborted) throw new Transient(timeoutMessage, 'timeout');
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new Transient(`network error: ${detail}`, 'network');
    };
    let response: Response;
    try {
      response = await fetch(this.url, { method: 'POST', headers, body: payload, signal: combined });
    } catch (error) {
      return failed(error);
    }
    if (!response.ok) {
      let text = '';
      try {
        text = await response.text();
      } catch (error) {
        return failed(error);
      }
      throw this.httpError(response, text);
    }
    const type = response.headers.get('content-type') ?? '';
    try {
      if (this.opts.stream && !type.includes('application/json')) return await this.readStream(response);
      const text = await response.text();
      return this.parseJson(text);
    } catch (error) {
      if (error instanceof Transient || error instanceof ApiError) throw error;
      return failed(error);
    }
  }

  private httpError(response: Response, body: string): Error {
    const status = response.status;
    const detail = this.redact(serverMessage(body));
    const where = `${safeUrl(this.url)} (model "${this.opts.model}")`;
    const suffix = detail ? `: ${detail}` : '';
    if (status === 429 || status === 408 || status === 409 || status === 425 || status >= 500) {
      return new Transient(`HTTP ${status} from ${safeUrl(this.url)}${suffix}`, `http-${status}`, status, parseRetryAfter(response.headers));
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
    if (status === 405) {
      return new ApiError(`HTTP 405 at ${where}: the endpoint does not accept chat completions${suffix}`, 'fatal', status, 'http-405');
    }
    return new ApiError(`HTTP ${status} from ${where}${suffix}`, 'rejected', status, `http-${status}`);
  }

  private parseJson(text: string): Omit<Completion, 'attempts'> {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Transient(`malformed JSON in response body: ${this.redact(snippet(text))}`, 'malformed');
    }
    const obj = asObject(body);
    const choice = asObject(Array.isArray(obj?.choices) ? obj.choices[0] : undefined);
    const message = asObject(choice?.message);
    if (!obj || !choice || !message) {
      const err = obj ? errorMessage(obj) : null;
      throw new Transient(
        err ? `server error in response body: ${this.redact(err)}` : `response has no choices[0].message: ${this.redact(snippet(text))}`,
        'malformed',
      );
    }
    return {
      text: contentText(message.content),
      finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
      refusal: typeof message.refusal === 'string' && message.refusal !== '' ? message.refusal : null,
      usage: parseUsage(obj.usage),
    };
  }

  /** Server-sent events: `data: {chunk}` lines, events separated by blank lines, `data: [DONE]` last. */
  private async readStream(response: Response): Promise<Omit<Completion, 'attempts'>> {
    if (!response.body) throw new Transient('streamed response has no body', 'malformed');
    const decoder = new TextDecoder();
    let buffer = '';
    let data: string[] = [];
    let text = '';
    let refusal = '';
    let finishReason: string | null = null;
    let usage: Usage | null = null;
    let done = false;
    let chunks = 0;

    const dispatch = () => {
      if (data.length === 0) return;
      const payload = data.join('\n');
      data = [];
      if (payload.trim() === '[DONE]') {
        done = true;
        return;
      }
      let chunk: unknown;
      try {
        chunk = JSON.parse(payload);
      } catch {
        throw new Transient(`malformed JSON in stream event: ${this.redact(snippet(payload))}`, 'malformed');
      }
      const obj = asObject(chunk);
      if (!obj) throw new Transient(`unexpected stream event: ${this.redact(snippet(payload))}`, 'malformed');
      const err = errorMessage(obj);
      if (err && !Array.isArray(obj.choices)) throw new Transient(`server error in stream: ${this.redact(err)}`, 'stream-error');
      chunks++;
      const u = parseUsage(obj.usage);
      if (u) usage = u;
      const choice = asObject(Array.isArray(obj.choices) ? obj.choices[0] : undefined);
      if (!choice) return;
      const delta = asObject(choice.delta) ?? asObject(choice.message);
      if (delta) {
        text += contentText(delta.content);
        if (typeof delta.refusal === 'string') refusal += delta.refusal;
      }
      if (typeof choice.finish_reason === 'string') finishReason = choice.finish_reason;
    };
    const line = (raw: string) => {
      if (raw === '') return dispatch();
      if (raw.startsWith(':')) return; // comment / keep-alive
      const colon = raw.indexOf(':');
      const field = colon === -1 ? raw : raw.slice(0, colon);
      let value = colon === -1 ? '' : raw.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
    };

    for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(bytes, { stream: true });
      let nl: number;
      while ((nl = buffer.search(/\r\n|\r|\n/)) !== -1) {
        const raw = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
        line(raw);
        if (done) break;
      }
      if (done) break;
    }
    if (!done) {
      buffer += decoder.decode();
      if (buffer !== '') line(buffer);
      dispatch();
    }
    if (!done && finishReason === null) {
      throw new Transient(
        chunks === 0 ? 'stream ended without any event' : 'stream ended before [DONE] or a finish_reason',
        'stream-cut',
      );
    }
    return { text, finishReason, refusal: refusal === '' ? null : refusal, usage };
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ApiError('request aborted', 'aborted', null, 'aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ApiError('request aborted', 'aborted', null, 'aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
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

/** The server's own explanation from an error body, shortened. */
function serverMessage(body: string): string {
  const trimmed = body.trim();
  if (trimmed === '') return '';
  try {
    const obj = asObject(JSON.parse(trimmed));
    const msg = obj ? errorMessage(obj) ?? (typeof obj.detail === 'string' ? obj.detail : null) ?? (typeof obj.message === 'string' ? obj.message : null) : null;
    if (msg) return snippet(msg);
  } catch {
    // not JSON
  }
  return snippet(trimmed);
}

function snippet(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
