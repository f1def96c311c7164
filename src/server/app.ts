import { createHash, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Detector } from '../model/detector.js';
import { COPYDESK_VERSION } from '../version.js';
import type { AuditStore } from './audit.js';
import { InlineEngine, SentenceBudgetExceeded, sentenceCalibrationProblem, supportsSentences, THREAD_DEPTH, type Engine } from './engine.js';
import { Busy, Cancellation, FairScheduler } from './scheduler.js';
import { Metrics } from './metrics.js';
import { registerJsonBody } from './body.js';
import { HttpError } from './http-error.js';
import { openApiInfo, routeSchemas, sharedSchemas } from './schemas.js';
import { registerWeb } from './web.js';
import { isBinaryText, isEmptyText } from '../text/empty.js';
import { batchJson } from '../detect/result.js';

export { DEFAULT_LIMITS, DEFAULT_RATE_LIMIT, type RateLimitOptions, type ServiceLimits } from './limits.js';
import { DEFAULT_LIMITS, DEFAULT_RATE_LIMIT, type RateLimitOptions, type ServiceLimits } from './limits.js';

export interface ServiceOptions {
  detector: Detector;
  /** Scores the documents; defaults to scoring on the event loop with `detector`. */
  engine?: Engine;
  /** Where verdicts are recorded; null disables the audit trail (tests only: the CLI always records). */
  audit: AuditStore | null;
  /** When set, every /v1/* route requires `Authorization: Bearer <token>`. */
  token?: string;
  limits?: Partial<ServiceLimits>;
  /** Per-client rate limit on /v1/*; null turns it off. */
  rateLimit?: RateLimitOptions | null;
  /** Fastify logger level, or false for none. */
  logLevel?: string | false;
  /** Folder of the web page's files (default: web/ of the package). */
  webRoot?: string;
}

export { HttpError } from './http-error.js';

interface ErrorBody {
  error: string;
  message: string;
  status: number;
  field?: string;
}

interface DetectBody {
  text?: string;
  texts?: string[];
  evidence?: boolean;
}

interface AuditQueryString {
  since?: string;
  after?: number;
  limit?: number;
}

/** Builds the HTTP service (not listening yet). Closing it closes the engine and the audit store. */
const ROUTES = new WeakMap<FastifyInstance, Array<{ method: string; url: string }>>();

/** Every route the app registered (method and URL pattern), for the OpenAPI test and diagnostics. */
export function registeredRoutes(app: FastifyInstance): Array<{ method: string; url: string }> {
  return ROUTES.get(app) ?? [];
}

const SCHEDULERS = new WeakMap<FastifyInstance, FairScheduler>();

/** The app's scheduler of scoring work (tests watch its queue). */
export function schedulerOf(app: FastifyInstance): FairScheduler | undefined {
  return SCHEDULERS.get(app);
}

/** Who a request comes from, for the rate limit and fair scheduling alike. */
function clientKey(request: FastifyRequest): string {
  return request.ip;
}

export async function buildApp(options: ServiceOptions): Promise<FastifyInstance> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const detector = options.detector;
  const engine = options.engine ?? new InlineEngine(detector);
  // One task per thread, plus the one waiting in its port (THREAD_DEPTH); one at a time on the event loop.
  const scheduler = new FairScheduler({ concurrency: engine.threads * THREAD_DEPTH, maxClientChars: limits.maxClientPendingChars, maxChars: limits.maxPendingChars });
  const audit = options.audit;
  const metrics = new Metrics();
  const started = Date.now();
  const sentences = supportsSentences(detector);

  const app = Fastify({
    logger: options.logLevel ? { level: options.logLevel } : false,
    bodyLimit: limits.maxBodyBytes,
    requestTimeout: limits.requestTimeoutMs,
    // A silent socket is dropped only after the request deadline has had its chance to answer 408.
    connectionTimeout: 2 * limits.requestTimeoutMs,
    // Node checks request deadlines on this interval (30 s by default); check often enough to honour short limits.
    // Node enforces requestTimeout only when headersTimeout is no longer than it.
    http: {
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(limits.requestTimeoutMs / 4))),
      headersTimeout: Math.min(60_000, limits.requestTimeoutMs),
    },
    clientErrorHandler,
    // Draining is answered by the hook below, in the service's JSON error shape.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    ajv: {
      // Wrongly typed fields are errors, not something to coerce ({"text": 5} is a 400, not "5");
      // unknown fields are errors too, so a misspelt field is named rather than ignored.
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false },
    },
  });

  const routes: Array<{ method: string; url: string }> = [];
  ROUTES.set(app, routes);
  SCHEDULERS.set(app, scheduler);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });

  // The OpenAPI description at /openapi.json is built by @fastify/swagger from the route schemas
  // (schemas.ts). Response schemas document only: replies are written with JSON.stringify, as before.
  app.setSerializerCompiler(() => JSON.stringify);
  await app.register(swagger, {
    openapi: openApiInfo(COPYDESK_VERSION),
    // Shared schemas keep their $id as their name under components.schemas.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  for (const schema of sharedSchemas(limits)) app.addSchema(schema);
  const schemas = routeSchemas(limits, options.token !== undefined);

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    const body = errorBody(error, limits);
    if (body.status >= 500) request.log.error({ err: error }, 'request failed');
    if (body.status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
    return reply.code(body.status).type('application/json; charset=utf-8').send(body);
  });

  // Closing (SIGTERM): requests in flight finish; any new one (a keep-alive or pipelined connection) is told to go elsewhere.
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!draining) return;
    reply.header('connection', 'close');
    throw new HttpError(503, 'shutting_down', 'the server is shutting down; retry in a moment or on another instance');
  });

  // JSON only: anything else is a 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  registerJsonBody(app);

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}`, status: 404 } satisfies ErrorBody);
  });

  // Access: a bearer token on /v1/* when one is configured, compared in constant time.
  if (options.token !== undefined) {
    const expected = sha256(options.token);
    app.addHook('onRequest', async (request, reply) => {
      if (!request.url.startsWith('/v1/')) return;
      const header = request.headers.authorization ?? '';
      const match = /^Bearer[ \t]+(.+)$/i.exec(header);
      if (match && timingSafeEqual(sha256(match[1].trim()), expected)) return;
      reply.header('www-authenticate', 'Bearer realm="copydesk"');
      throw new HttpError(401, 'unauthorized', match ? 'the bearer token is wrong' : 'this route needs Authorization: Bearer <token>');
    });
  }

  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  if (options.rateLimit !== null) {
    const rate = options.rateLimit ?? DEFAULT_RATE_LIMIT;
    await app.register(rateLimit, {
      global: true,
      max: rate.max,
      timeWindow: rate.windowMs,
      keyGenerator: clientKey,
      allowList: (request) => !request.url.startsWith('/v1/'),
      // context.after is the time left until the window resets, not the window: say each for what it is.
      errorResponseBuilder: (_request, context) =>
        new HttpError(
          429,
          'rate_limited',
          `rate limit of ${context.max} requests per ${seconds(rate.windowMs)} exceeded; retry in ${Math.max(1, Math.ceil(context.ttl / 1000))} s (Retry-After)`,
        ),
    });
  }

  app.addHook('onClose', async () => {
    await engine.close();
    audit?.close();
  });

  app.post<{ Body: DetectBody }>(
    '/v1/detect',
    { schema: schemas.detect },
    async (request, reply) => {
      const body = request.body;
      if (body.text !== undefined && body.texts !== undefined) throw new HttpError(400, 'invalid_field', 'give either text or texts, not both', 'texts');
      const batch = body.texts !== undefined;
      const texts = batch ? body.texts! : body.text !== undefined ? [body.text] : null;
      if (texts === null) throw new HttpError(400, 'missing_field', 'body must have a "text" (string) or "texts" (array of strings) field', 'text');
      texts.forEach((text, i) => {
        const name = batch ? `texts[${i}]` : 'text';
        if (isEmptyText(text)) throw new HttpError(400, 'empty_text', `${name} is empty (after normalisation); nothing to score`, name);
        if (isBinaryText(text)) throw new HttpError(400, 'binary_text', `${name} contains NUL characters: binary data (or UTF-16 read as UTF-8), not text`, name);
        if (text.length > limits.maxTextChars) throw new HttpError(413, 'text_too_large', `${name} has ${text.length} characters; the limit is ${limits.maxTextChars}`, name);
      });
      const field = batch ? 'texts' : 'text';
      const chars = texts.reduce((sum, text) => sum + text.length, 0);
      if (chars > limits.maxRequestChars) {
        throw new HttpError(413, 'request_too_large', `the request has ${chars} characters of text; the limit per request is ${limits.maxRequestChars} (split it into several requests)`, field);
      }
      const options = { evidence: body.evidence ?? true, sentences, maxSentences: limits.maxRequestSentences, maxSentencesPerText: limits.maxSentencesPerText };
      // Queued work is dropped when the deadline passes or the client hangs up before its turn.
      const cancel = new Cancellation();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) cancel.abort(new HttpError(499, 'client_closed', 'the client closed the connection'));
      });
      let results;
      try {
        results = await withTimeout(
          scheduler.submit(clientKey(request), chars, () => engine.detectSerialized(texts, options), cancel),
          limits.scoreTimeoutMs,
          cancel,
        );
      } catch (error) {
        if (error instanceof SentenceBudgetExceeded) throw new HttpError(422, 'too_many_sentences', `${error.message} (split it into several requests)`, field);
        if (error instanceof Busy) {
          reply.header('retry-after', '1');
          throw new HttpError(error.scope === 'client' ? 429 : 503, error.scope === 'client' ? 'client_busy' : 'server_busy', error.message);
        }
        throw error;
      }
      try {
        await audit?.record(texts, results.summaries);
      } catch (error) {
        // A verdict is never given unrecorded: the client is told why, and to retry (503 adds Retry-After).
        throw new HttpError(503, 'audit_unavailable', `the verdict could not be recorded in the audit trail (${(error as Error).message}), so it is not given; retry later`);
      }
      for (const summary of results.summaries) metrics.observeVerdict(summary.verdict);
      reply.type('application/json; charset=utf-8');
      return batch ? batchJson(detector.version, results.json) : results.json[0];
    },
  );

  app.get('/v1/models', { schema: schemas.models }, async () => ({ models: [describeModel(detector)] }));

  app.get<{ Querystring: AuditQueryString }>(
    '/v1/audit',
    {
      schema: schemas.audit,
      // Query strings are text; numbers are parsed here because the validator does not coerce.
      preValidation: async (request) => {
        const query = request.query as Record<string, unknown>;
        for (const key of ['limit', 'after']) {
          if (typeof query[key] === 'string' && /^\d{1,15}$/.test(query[key] as string)) query[key] = Number(query[key]);
        }
      },
    },
    async (request) => {
      if (!audit) throw new HttpError(503, 'audit_disabled', 'this server keeps no audit trail');
      const limit = request.query.limit ?? 100;
      const records = audit.list({ since: request.query.since, after: request.query.after, limit });
      return { records, next_after: records.length === limit ? records[records.length - 1].id : null };
    },
  );

  app.get('/healthz', { schema: schemas.health }, async () => ({
    status: 'ok',
    model_version: detector.version,
    uptime_seconds: Math.round((Date.now() - started) / 100) / 10,
    ...auditHealth(audit),
  }));

  app.get('/metrics', { schema: schemas.metrics }, async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.render({ modelVersion: detector.version });
  });

  app.get('/openapi.json', { schema: schemas.openapi }, async (_request, reply) => {
    reply.type('application/json; charset=utf-8');
    return app.swagger();
  });

  registerWeb(app, options.webRoot, schemas.page);
  if (!sentences) {
    app.log.warn(`model ${detector.version}: results carry no sentence scores: ${sentenceCalibrationProblem(detector)}`);
  }
  return app;
}

/** Errors Node reports before a request reaches Fastify (timeouts, malformed HTTP), in the service's JSON shape. */
function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'the request was not received in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'the request headers are too large']
        : [400, 'bad_request', 'the request is not valid HTTP'];
  const body = JSON.stringify({ error: code, message, status } satisfies ErrorBody);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

function describeModel(detector: Detector) {
  const m = detector.metadata;
  return {
    version: detector.version,
    format_version: m.format_version,
    copydesk_version: m.copydesk_version,
    created_at: m.created_at,
    threshold: m.threshold,
    threshold_rule: m.threshold_rule,
    calibration: m.calibration,
    training: m.training,
    evaluation: m.evaluation,
    extensions: Object.keys(m.extensions ?? {}),
    warnings: m.warnings ?? [],
    sentences: supportsSentences(detector),
  };
}

/** Every error the service answers, as one JSON shape. */
function errorBody(error: FastifyError | HttpError, limits: Pick<ServiceLimits, 'maxBodyBytes'>): ErrorBody {
  if (error instanceof HttpError) {
    return { error: error.code, message: error.message, status: error.statusCode, ...(error.field ? { field: error.field } : {}) };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation && fastifyError.validation.length > 0) {
    const issue = fastifyError.validation[0];
    const params = issue.params as Record<string, unknown>;
    const base = pathToField(issue.instancePath ?? '');
    if (issue.keyword === 'required') {
      const field = joinField(base, String(params.missingProperty));
      return { error: 'missing_field', message: `${field} is required`, status: 400, field };
    }
    if (issue.keyword === 'additionalProperties') {
      const field = joinField(base, String(params.additionalProperty));
      return { error: 'unknown_field', message: `${field} is not a field this route accepts`, status: 400, field };
    }
    const where = fastifyError.validationContext === 'querystring' ? 'query parameter ' : '';
    const field = base || (fastifyError.validationContext ?? 'body');
    const reason =
      issue.keyword === 'type' && !base
        ? `must be a JSON ${String(params.type)}`
        : issue.keyword === 'format' && params.format === 'date-time'
          ? 'must be an RFC 3339 date-time with a time zone, e.g. 2026-03-01T00:00:00Z or 2026-03-01T09:00:00+09:00'
          : (issue.message ?? 'is invalid');
    return { error: 'invalid_field', message: `${where}${field} ${reason}`, status: 400, field };
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: 'payload_too_large', message: `the request body is larger than this server accepts (${limits.maxBodyBytes} bytes)`, status: 413 };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { error: 'unsupported_media_type', message: 'send the body as application/json', status: 415 };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { error: 'bad_request', message: 'Content-Length does not match the body', status: 400 };
  }
  const status = typeof fastifyError.statusCode === 'number' ? fastifyError.statusCode : 500;
  if (status >= 400 && status < 500) {
    return { error: status === 400 ? 'bad_request' : String(fastifyError.code ?? 'client_error').toLowerCase(), message: fastifyError.message, status };
  }
  return { error: 'internal_error', message: 'the server failed to answer this request; it has been logged', status: status >= 500 ? status : 500 };
}

/** "/texts/2" → "texts[2]"; "/a/b" → "a.b". */
function pathToField(pointer: string): string {
  if (!pointer) return '';
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((field, part) => (/^\d+$/.test(part) ? `${field}[${part}]` : field ? `${field}.${part}` : part), '');
}

function joinField(base: string, name: string): string {
  return base ? `${base}.${name}` : name;
}

/** 60000 → "60 s", 1500 → "1.5 s". */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** `promise`, or a 503 after `ms` (which also cancels the work if it is still waiting for its turn); whichever comes first. */
function withTimeout<T>(promise: Promise<T>, ms: number, cancel: Cancellation): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new HttpError(503, 'timeout', `the request was not scored within ${ms} ms (waiting for its turn included); the server is overloaded, retry later`);
      cancel.abort(error);
      reject(error);
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** The audit store's part of /healthz: failing (with since when and why) while its commits fail, so monitoring sees what clients get as 503s. */
function auditHealth(audit: AuditStore | null): { audit: 'ok' | 'disabled' | 'failing'; audit_failing_since?: string; audit_error?: string } {
  if (!audit) return { audit: 'disabled' };
  const failing = audit.failing;
  return failing ? { audit: 'failing', audit_failing_since: failing.since, audit_error: failing.message } : { audit: 'ok' };
}
