import type { FastifyInstance } from 'fastify';
import { HttpError } from './http-error.js';

/** Strict: bytes that are not UTF-8 are an error, not U+FFFD; a leading BOM is dropped (RFC 8259 allows ignoring it). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * How request bodies are read: plain JSON only, with errors that say what is
 * wrong. Fastify's own JSON parser answers "not valid JSON" both for a syntax
 * error and for a prototype-poisoning key, reads a gzip body as if it were
 * JSON text, and decodes bytes that are not UTF-8 as replacement characters
 * (which would then be scored and audited as if the client had sent them);
 * this one names the syntax error, the forbidden key, the unsupported
 * Content-Encoding, or the encoding, as every other interface does with text
 * that is not UTF-8.
 */
export function registerJsonBody(app: FastifyInstance): void {
  // Compressed bodies are refused rather than inflated: a 2 MiB gzip body can inflate to gigabytes.
  app.addHook('preParsing', async (request) => {
    const encoding = String(request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding !== '' && encoding !== 'identity') {
      throw new HttpError(415, 'unsupported_encoding', `Content-Encoding ${encoding} is not supported; send plain JSON`);
    }
  });

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    let text: string;
    try {
      text = UTF8.decode(body as Buffer);
    } catch {
      return done(
        new HttpError(400, 'invalid_encoding', 'the body is not valid UTF-8: send JSON as UTF-8 (convert text in another encoding, such as Latin-1 or UTF-16, first)'),
        undefined,
      );
    }
    if (text.length === 0) return done(new HttpError(400, 'invalid_json', 'the body is empty; send a JSON object'), undefined);
    let forbidden: string | undefined;
    let value: unknown;
    try {
      // JSON.parse makes "__proto__" an ordinary own key (nothing is polluted); the reviver only notes it.
      value = JSON.parse(text, function (this: unknown, key: string, v: unknown) {
        if (forbidden === undefined) {
          if (key === '__proto__') forbidden = '__proto__';
          else if (key === 'constructor' && v !== null && typeof v === 'object' && Object.prototype.hasOwnProperty.call(v, 'prototype')) {
            forbidden = 'constructor.prototype';
          }
        }
        return v;
      });
    } catch (error) {
      return done(new HttpError(400, 'invalid_json', `the body is not valid JSON: ${(error as Error).message}`), undefined);
    }
    if (forbidden !== undefined) {
      return done(new HttpError(400, 'forbidden_key', `request bodies may not use the key ${forbidden} (it could alter object prototypes)`), undefined);
    }
    done(null, value);
  });
}
