import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { ServiceLimits } from './limits.js';

/**
 * JSON Schemas of what the service accepts and returns. The routes validate
 * requests with these very objects and the OpenAPI description embeds them,
 * so the documentation cannot drift from the code; a test checks real
 * responses against the response schemas.
 */

import { REASONS, VERDICTS } from '../detect/applicability.js';

export const ERROR_SCHEMA = {
  type: 'object',
  required: ['error', 'message', 'status'],
  properties: {
    error: { type: 'string', description: 'Stable machine-readable code, e.g. "invalid_field", "payload_too_large".' },
    message: { type: 'string', description: 'What went wrong, for a person.' },
    status: { type: 'integer', description: 'The HTTP status code, repeated.' },
    field: { type: 'string', description: 'The request field at fault, when there is one (e.g. "text", "texts[2]", "limit").' },
  },
  additionalProperties: false,
} as const;

export const EVIDENCE_SCHEMA = {
  type: 'object',
  required: ['weight', 'kind', 'feature', 'description'],
  properties: {
    weight: { type: 'number', description: 'Log-odds contribution: positive towards machine, negative towards human.' },
    kind: { type: 'string', enum: ['phrase', 'pattern', 'style'] },
    feature: { type: 'string' },
    description: { type: 'string' },
  },
  additionalProperties: false,
} as const;

export const SENTENCE_SCHEMA = {
  type: 'object',
  required: ['start', 'end', 'text', 'machine_probability', 'p_value'],
  properties: {
    start: { type: 'integer', minimum: 0, description: 'Offset of the first character in the submitted text (UTF-16 code units, as JavaScript indexes strings).' },
    end: { type: 'integer', minimum: 0, description: 'Offset just past the last character.' },
    text: { type: 'string' },
    machine_probability: { type: 'number', minimum: 0, maximum: 1 },
    p_value: { type: 'number', minimum: 0, maximum: 1, description: 'P-value of the sentence under the null that a human wrote it.' },
    machine_passage: { type: 'boolean', description: 'In the set of sentences the mixture test selected, in a document it decided contains machine text.' },
  },
  additionalProperties: true,
} as const;

export const DETECTION_SCHEMA = {
  type: 'object',
  description: 'The same JSON per document as `copydesk detect --json --sentences`.',
  required: ['machine_probability', 'verdict', 'threshold', 'model_version'],
  properties: {
    id: { type: 'string' },
    machine_probability: { type: 'number', minimum: 0, maximum: 1, description: 'Calibrated probability that the document is machine-written.' },
    verdict: { type: 'string', enum: VERDICTS, description: '"uncertain" when the text is one the detector cannot judge reliably (see reasons); machine_probability is still given.' },
    reasons: { type: 'array', items: { type: 'string', enum: REASONS }, description: 'Present only when verdict is "uncertain": why the text was not judged.' },
    cautions: {
      type: 'array',
      items: { type: 'string', enum: REASONS },
      description: 'Present only when verdict is "human": not_news, unlike_training_data or repeated_text, found on a text scored too low for them to withhold a verdict; a low score on such text is weaker evidence.',
    },
    threshold: { type: 'number', minimum: 0, maximum: 1, description: 'Verdict is "machine" when machine_probability ≥ threshold.' },
    model_version: { type: 'string' },
    evidence: { type: 'array', items: EVIDENCE_SCHEMA },
    mixture_p_value: { type: 'number', minimum: 0, maximum: 1, description: 'P-value of the test that the document contains machine-written sentences.' },
    machine_passage: { type: 'boolean', description: 'The mixture test\'s decision: mixture_p_value ≤ its level.' },
    mixture: {
      type: 'object',
      description: 'The mixture test in full: primary test, level, p-values and statistics of every test.',
      required: ['test', 'level', 'p_value', 'machine_passage'],
      properties: {
        test: { type: 'string', enum: ['hc', 'fisher', 'simes'] },
        level: { type: 'number' },
        p_value: { type: 'number', minimum: 0, maximum: 1 },
        machine_passage: { type: 'boolean' },
        p_values: { type: 'object' },
        statistics: { type: 'object' },
      },
      additionalProperties: true,
    },
    sentences: {
      type: 'array',
      items: SENTENCE_SCHEMA,
      description:
        'Every sentence with its offsets and scores, at most the server\'s sentences-per-text limit (the first ones; see sentences_truncated); absent when the model file has no sentence calibration (see GET /v1/models).',
    },
    sentence_count: { type: 'integer', minimum: 0, description: 'How many sentences the text has (HTTP API only), all of them used by the verdict and the mixture test.' },
    sentences_truncated: { type: 'boolean', description: 'True when `sentences` lists only the first sentences of the text (HTTP API only).' },
  },
  additionalProperties: true,
} as const;

export const BATCH_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['model_version', 'results'],
  properties: {
    model_version: { type: 'string' },
    results: { type: 'array', items: DETECTION_SCHEMA, description: 'One result per submitted text, in order.' },
  },
  additionalProperties: false,
} as const;

export function detectBodySchema(maxBatch: number) {
  return {
    type: 'object',
    description: 'Exactly one of `text` (one document) or `texts` (a batch).',
    properties: {
      // No minLength: an empty text is refused by the one rule every interface applies (400 empty_text, as for whitespace).
      text: { type: 'string', description: 'One document; refused (400 empty_text) when empty after normalisation.' },
      texts: {
        type: 'array',
        items: { type: 'string' },
        minItems: 1,
        maxItems: maxBatch,
        description: `A batch of at most ${maxBatch} documents; each is refused (400 empty_text) when empty after normalisation.`,
      },
      evidence: { type: 'boolean', default: true, description: 'Include the strongest reasons for each verdict (default true).' },
    },
    additionalProperties: false,
  } as const;
}

export const MODELS_SCHEMA = {
  type: 'object',
  required: ['models'],
  properties: {
    models: {
      type: 'array',
      items: {
        type: 'object',
        required: ['version', 'copydesk_version', 'created_at', 'threshold', 'threshold_rule', 'format_version', 'sentences'],
        properties: {
          version: { type: 'string', description: 'Identifies the exact weights: copydesk version / model checksum prefix.' },
          format_version: { type: 'integer' },
          copydesk_version: { type: 'string' },
          created_at: { type: 'string' },
          threshold: { type: 'number' },
          threshold_rule: { type: 'string' },
          calibration: { type: 'object' },
          training: { type: 'object' },
          evaluation: { type: 'object' },
          extensions: { type: 'array', items: { type: 'string' }, description: 'Names of further calibrated components in the model file.' },
          warnings: { type: 'array', items: { type: 'string' }, description: 'Problems recorded while training (degenerate calibration, a threshold that misses the target false-positive rate); empty for a sound model.' },
          sentences: { type: 'boolean', description: 'Whether results carry sentence-level scores (the model file has a sentence calibration).' },
        },
        additionalProperties: true,
      },
    },
  },
  additionalProperties: false,
} as const;

export const HEALTH_SCHEMA = {
  type: 'object',
  required: ['status', 'model_version', 'uptime_seconds'],
  properties: {
    status: { type: 'string', enum: ['ok'] },
    model_version: { type: 'string' },
    uptime_seconds: { type: 'number' },
    audit: { type: 'string', enum: ['ok', 'disabled', 'failing'], description: 'failing: the last audit commit failed, and /v1/detect answers 503 audit_unavailable until one succeeds.' },
    audit_failing_since: { type: 'string', format: 'date-time' },
    audit_error: { type: 'string' },
  },
  additionalProperties: false,
} as const;

export function auditQuerySchema(maxLimit: number) {
  return {
    type: 'object',
    properties: {
      since: { type: 'string', format: 'date-time', description: 'Only records at or after this instant (ISO 8601 with time zone, e.g. 2026-03-01T00:00:00Z).' },
      after: { type: 'integer', minimum: 0, description: 'Only records with a larger id: pass the previous page\'s next_after to page on.' },
      limit: { type: 'integer', minimum: 1, maximum: maxLimit, default: 100, description: `Records per page, at most ${maxLimit}.` },
    },
    additionalProperties: false,
  } as const;
}

export const AUDIT_RECORD_SCHEMA = {
  type: 'object',
  required: ['id', 'time', 'sha256', 'length', 'model_version', 'machine_probability', 'verdict', 'text'],
  properties: {
    id: { type: 'integer' },
    time: { type: 'string', format: 'date-time' },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the text as UTF-8.' },
    length: { type: 'integer', minimum: 0, description: 'Length of the text in UTF-16 code units.' },
    model_version: { type: 'string' },
    machine_probability: { type: 'number', minimum: 0, maximum: 1 },
    verdict: { type: 'string', enum: VERDICTS },
    text: { type: ['string', 'null'], description: 'The text, only when the server runs with --store-text.' },
  },
  additionalProperties: false,
} as const;

export const AUDIT_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['records', 'next_after'],
  properties: {
    records: { type: 'array', items: AUDIT_RECORD_SCHEMA },
    next_after: { type: ['integer', 'null'], description: 'Cursor for the next page (pass as `after`), or null when this page is the last.' },
  },
  additionalProperties: false,
} as const;

// ---------------------------------------------------------------- routes, as @fastify/swagger reads them

type Schema = Record<string, unknown>;

/** The schemas every route shares, registered with app.addSchema; their $id is their name in the OpenAPI components. */
export function sharedSchemas(limits: ServiceLimits): Array<Schema & { $id: string }> {
  return [
    { $id: 'Error', ...ERROR_SCHEMA },
    { $id: 'DetectRequest', ...detectBodySchema(limits.maxBatch) },
    { $id: 'Detection', ...DETECTION_SCHEMA },
    { $id: 'DetectBatch', ...BATCH_RESPONSE_SCHEMA },
    { $id: 'Models', ...MODELS_SCHEMA },
    { $id: 'AuditPage', ...AUDIT_RESPONSE_SCHEMA },
    { $id: 'Health', ...HEALTH_SCHEMA },
  ];
}

const ref = (name: string) => ({ $ref: `${name}#` });
const json = (description: string, schema: Schema) => ({ description, content: { 'application/json': { schema } } });
const text = (description: string, type: string) => ({ description, content: { [type]: { schema: { type: 'string' } } } });
const error = (description: string) => json(description, ref('Error'));

/**
 * The `schema` option of every documented route: what it validates and what
 * @fastify/swagger turns into the OpenAPI description at /openapi.json.
 * Response schemas only document: the app's serializer is JSON.stringify.
 */
export function routeSchemas(limits: ServiceLimits, auth: boolean) {
  const secured = { security: auth ? [{ bearer: [] }] : [] };
  const open = { security: [] };
  // Every route answers this while the server drains (SIGTERM): requests in flight finish, new ones go elsewhere.
  const draining = { 503: error('The server is shutting down (shutting_down); retry on another instance or in a moment.') };
  const v1Errors = {
    ...(auth ? { 401: error('Missing or wrong bearer token (only when the server has COPYDESK_API_TOKEN set).') } : {}),
    429: {
      ...error('Rate limit exceeded; wait the number of seconds in Retry-After.'),
      headers: { 'Retry-After': { type: 'integer', description: 'Seconds to wait.' } },
    },
    ...draining,
  };
  return {
    detect: {
      operationId: 'detect',
      summary: 'Score one document ({text}) or a batch ({texts}).',
      ...secured,
      body: ref('DetectRequest'),
      response: {
        200: json('For {text}: the result for that document. For {texts}: {model_version, results} with one result per text, in order.', {
          oneOf: [ref('Detection'), ref('DetectBatch')],
        }),
        400: error(
          'Invalid JSON (invalid_json), a body that is not UTF-8 (invalid_encoding), a forbidden key, a missing, wrongly typed or unknown field, ' +
            'a text that is empty after normalisation (empty_text) or holds NUL characters (binary_text), or a batch larger than allowed.',
        ),
        408: error(`The request was not received within the request timeout (${limits.requestTimeoutMs} ms).`),
        413: error(
          `The body is over ${limits.maxBodyBytes} bytes, a text over ${limits.maxTextChars} characters (text_too_large), ` +
            `or the texts over ${limits.maxRequestChars} characters together (request_too_large).`,
        ),
        415: error('The body is not application/json, or has a Content-Encoding.'),
        422: error(`The texts have more than ${limits.maxRequestSentences} sentences together (too_many_sentences); split them into several requests.`),
        ...v1Errors,
        429: {
          ...error('Rate limit exceeded (rate_limited), or this client already has too much text waiting to be scored (client_busy); wait the number of seconds in Retry-After.'),
          headers: { 'Retry-After': { type: 'integer', description: 'Seconds to wait.' } },
        },
        503: error(
          'Scoring timed out (timeout), the server has too much text waiting to be scored (server_busy), the verdict could not be recorded in the audit trail ' +
            '(audit_unavailable: it is never given unrecorded), or the server is shutting down (shutting_down); retry later.',
        ),
      },
    },
    models: { operationId: 'models', summary: 'Metadata of the loaded model.', ...secured, response: { 200: json('The loaded model.', ref('Models')), ...v1Errors } },
    audit: {
      operationId: 'audit',
      summary: 'Recorded verdicts, oldest first.',
      ...secured,
      querystring: auditQuerySchema(limits.maxAuditPage),
      response: { 200: json('A page of records.', ref('AuditPage')), 400: error('A query parameter is invalid.'), ...v1Errors },
    },
    health: {
      operationId: 'health',
      summary: 'Liveness: the model is loaded and the server answers.',
      ...open,
      response: { 200: json('Healthy.', ref('Health')), ...draining },
    },
    metrics: {
      operationId: 'metrics',
      summary: 'Prometheus metrics (text exposition format 0.0.4).',
      ...open,
      response: { 200: text('Metrics.', 'text/plain'), ...draining },
    },
    openapi: {
      operationId: 'openapi',
      summary: 'This description.',
      ...open,
      response: { 200: json('OpenAPI 3.1 document.', { type: 'object' }), ...draining },
    },
    page: { operationId: 'page', summary: 'The web page for editors.', ...open, response: { 200: text('HTML page.', 'text/html'), ...draining } },
  };
}

/** The top of the OpenAPI document; @fastify/swagger adds the paths and the shared schemas. */
export function openApiInfo(version: string): NonNullable<FastifyDynamicSwaggerOptions['openapi']> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'copydesk',
      version,
      description:
        'Tells human-written news from machine-written news. Every verdict is recorded in an audit store. ' +
        'Errors are JSON objects: {error, message, status, field?}.',
    },
    servers: [{ url: '/' }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The value of COPYDESK_API_TOKEN.' } } },
  };
}
