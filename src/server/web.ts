import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** The package's web/ folder: ../../web from both src/server and dist/server. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
};

/** Only what the page itself needs: scripts, styles and requests to this origin. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves the page's files from memory: read once at start-up, one route per
 * file (no path from the URL ever reaches the file system), with ETags so
 * browsers revalidate cheaply.
 */
export function registerWeb(app: FastifyInstance, root = DEFAULT_WEB_ROOT, pageSchema: object = {}): void {
  let names: string[];
  try {
    names = readdirSync(root).filter((name) => TYPES[path.extname(name)] !== undefined);
  } catch {
    app.log.warn(`no web page: cannot read ${root}`);
    return;
  }
  for (const name of names) {
    const body = readFileSync(path.join(root, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    const type = TYPES[path.extname(name)];
    const routes = name === 'index.html' ? ['/', '/index.html'] : [`/${name}`];
    for (const url of routes) {
      // Only the page itself is in the OpenAPI description; its asset files are hidden from it.
      app.get(url, { config: { rateLimit: false }, schema: url === '/' ? pageSchema : { hide: true } } as object, async (request, reply) => {
        reply
          .header('content-type', type)
          .header('etag', etag)
          .header('cache-control', 'no-cache')
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer');
        if (type.startsWith('text/html')) reply.header('content-security-policy', CSP).header('x-frame-options', 'DENY');
        if (request.headers['if-none-match'] === etag) return reply.code(304).send();
        return reply.send(body);
      });
    }
  }
}
