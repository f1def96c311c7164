import type { ServiceLimits } from './app.js';

type Schema = Record<string, unknown>;

export interface OpenApiInput {
  version: string;
  limits: ServiceLimits;
  auth: boolean;
  schemas: {
    error: Schema;
    detection: Schema;
    batch: Schema;
    detectBody: Schema;
    models: Schema;
    health: Schema;
    auditQuery: Schema & { properties: Record<string, Schema> };
    audit: Schema;
  };
}

/**
 * The OpenAPI 3.1 description the service serves at /openapi.json. Built from
 * the same schema objects the routes validate with (see schemas.ts); a test
 * calls every documented operation and checks the answers against it.
 */
export function buildOpenApi(input: OpenApiInput) {
  const { schemas, limits } = input;
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (schema: Schema) => ({ content: { 'application/json': { schema } } });
  const error = (description: string) => ({ description, ...json(ref('Error')) });
  const secured = input.auth ? { security: [{ bearer: [] }] } : { security: [] };
  const v1Errors = {
    ...(input.auth ? { '401': error('Missing or wrong bearer token (only when the server has COPYDESK_API_TOKEN set).') } : {}),
    '429': {
      description: 'Rate limit exceeded; wait the number of seconds in Retry-After.',
      headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait.' } },
      ...json(ref('Error')),
    },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'copydesk',
      version: input.version,
      description:
        'Tells human-written news from machine-written news. Every verdict is recorded in an audit store. ' +
        'Errors are JSON objects: {error, message, status, field?}.',
    },
    servers: [{ url: '/' }],
    paths: {
      '/v1/detect': {
        post: {
          operationId: 'detect',
          summary: 'Score one document ({text}) or a batch ({texts}).',
          ...secured,
          requestBody: { required: true, ...json(ref('DetectRequest')) },
          responses: {
            '200': {
              description:
                'For {text}: the result for that document. For {texts}: {model_version, results} with one result per text, in order.',
              content: { 'application/json': { schema: { oneOf: [ref('Detection'), ref('DetectBatch')] } } },
            },
            '400': error('Invalid JSON, a missing field, a wrongly typed field, an unknown field, or a batch larger than allowed.'),
            '408': error(`The request was not received within the request timeout (${limits.requestTimeoutMs} ms).`),
            '413': error(`The body is over ${limits.maxBodyBytes} bytes, or a text over ${limits.maxTextChars} characters.`),
            '415': error('The body is not application/json.'),
            '503': error('Scoring timed out (overload) or the server is shutting down.'),
            ...v1Errors,
          },
        },
      },
      '/v1/models': {
        get: {
          operationId: 'models',
          summary: 'Metadata of the loaded model.',
          ...secured,
          responses: { '200': { description: 'The loaded model.', ...json(ref('Models')) }, ...v1Errors },
        },
      },
      '/v1/audit': {
        get: {
          operationId: 'audit',
          summary: 'Recorded verdicts, oldest first.',
          ...secured,
          parameters: Object.entries(schemas.auditQuery.properties).map(([name, schema]) => ({
            name,
            in: 'query',
            required: false,
            description: schema.description,
            schema: withoutDescription(schema),
          })),
          responses: {
            '200': { description: 'A page of records.', ...json(ref('AuditPage')) },
            '400': error('A query parameter is invalid.'),
            ...v1Errors,
          },
        },
      },
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'Liveness: the model is loaded and the server answers.',
          security: [],
          responses: { '200': { description: 'Healthy.', ...json(ref('Health')) }, '503': error('Shutting down.') },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics (text exposition format 0.0.4).',
          security: [],
          responses: { '200': { description: 'Metrics.', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This description.',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
      '/': {
        get: {
          operationId: 'page',
          summary: 'The web page for editors.',
          security: [],
          responses: { '200': { description: 'HTML page.', content: { 'text/html': { schema: { type: 'string' } } } } },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The value of COPYDESK_API_TOKEN.' } },
      schemas: {
        Error: schemas.error,
        DetectRequest: schemas.detectBody,
        Detection: schemas.detection,
        DetectBatch: schemas.batch,
        Models: schemas.models,
        AuditPage: schemas.audit,
        Health: schemas.health,
      },
    },
  };
}

function withoutDescription(schema: Schema): Schema {
  const { description: _description, ...rest } = schema;
  return rest;
}
