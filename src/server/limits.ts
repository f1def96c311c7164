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
  /** Time allowed to score a request once received, waiting for its turn included, in ms (503 beyond). */
  scoreTimeoutMs: number;
  /** Work budget: most characters in one request, all texts together (413 beyond). */
  maxRequestChars: number;
  /** Work budget: most sentences in one request, all texts together (422 beyond; counted only when the model scores sentences). */
  maxRequestSentences: number;
  /** Most sentences returned per text (`sentences_truncated: true` when cut); the verdict and mixture test use them all. */
  maxSentencesPerText: number;
  /** Characters one client may have waiting or being scored (429 beyond). */
  maxClientPendingChars: number;
  /** Characters the whole server may have waiting or being scored (503 beyond): the ceiling on work held in memory. */
  maxPendingChars: number;
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
  // 500,000 characters: 32 articles of 15,000 characters (~2,500 words, five times the median) or five of the
  // longest accepted. 10,000 sentences: ~4× what 500,000 characters of news prose hold (~80 characters each), so
  // only degenerate text ("Yes. " × 13,000 has 6,500 sentences in 65,000 characters) meets it; scoring 10,000 such
  // sentences takes ~1.3 s of one thread. 1,000 sentences per text: a 100,000-character feature has ~1,250.
  maxRequestChars: 500_000,
  maxRequestSentences: 10_000,
  maxSentencesPerText: 1_000,
  // Four full-budget requests per client, 32 for the server: with results, well under 200 MB held (measured in the README).
  maxClientPendingChars: 2_000_000,
  maxPendingChars: 16_000_000,
};

export interface RateLimitOptions {
  /** Requests per client per window. */
  max: number;
  windowMs: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { max: 600, windowMs: 60_000 };

