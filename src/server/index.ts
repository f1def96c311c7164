export { buildApp, DEFAULT_LIMITS, DEFAULT_RATE_LIMIT, HttpError, type RateLimitOptions, type ServiceLimits, type ServiceOptions } from './app.js';
export { AuditStore, type AuditQuery, type AuditRecord } from './audit.js';
export { InlineEngine, PoolEngine, type Engine } from './engine.js';
export { Metrics } from './metrics.js';
