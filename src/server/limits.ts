/** Service limits and their defaults: a module of its own so the CLI can show them without loading the server. */

export interface ServiceLimits {
  /** Largest request body accepted, in bytes (413 beyond). */
  maxBodyBytes: number;
  /** Longest text accepted, in characters (413 beyond). */
  maxTextChars: number;
  /** Most texts in one batch request (400 beyond). */
  maxBatch: number;
  /** Most records one GET /v1/audit page returns. */
  maxAuditPage: number;
  /** Time allowed to receive a whole request, in ms (Node answers 408 beyond). */
  requestTimeoutMs: number;
  /** Time allowed to score a request once received, in ms (503 beyond). */
  scoreTimeoutMs: number;
}

/**
 * Defaults sized for long-form news: 100,000 characters is about 16,000
 * words, longer than any feature a newsroom runs; a full batch of 32 such
 * texts does not fit in the default 2 MiB body, but 32 ordinary articles do.
 */
export const DEFAULT_LIMITS: ServiceLimits = {
  maxBodyBytes: 2 * 1024 * 1024,
  maxTextChars: 100_000,
  maxBatch: 32,
  maxAuditPage: 1000,
  requestTimeoutMs: 30_000,
  scoreTimeoutMs: 30_000,
};

export interface RateLimitOptions {
  /** Requests per client per window. */
  max: number;
  windowMs: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { max: 600, windowMs: 60_000 };

