#!/usr/bin/env node
/**
 * Resource test of `copydesk serve` under a flood (issue 11, item 5): starts
 * the compiled server on loopback, sends 20 concurrent big requests from one
 * client (127.0.0.2) and, while they are in the server, one small request
 * from another client (127.0.0.3); reports the status codes, how long the
 * small request took, the largest response and the server's peak RSS
 * (sampled every 20 ms from /proc).
 *
 *   node bench/serve-flood.mjs [--body yes|budget] [--workers N]
 *
 * `yes` is the reported body, {"texts": ["Yes. " × 13000] × 32} (2 MB);
 * `budget` is the largest body the defaults admit: 32 texts of 15,600
 * characters of news prose (499,200 characters). Needs `npm run build`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const kind = option('--body', 'yes');
const workers = option('--workers', undefined);

const article = readFileSync(path.join(ROOT, 'examples/article.txt'), 'utf8');
const prose = article.repeat(Math.ceil(15_600 / article.length)).slice(0, 15_600);
const body = kind === 'yes' ? { texts: Array(32).fill('Yes. '.repeat(13_000)) } : { texts: Array(32).fill(prose) };

const dir = mkdtempSync(path.join(tmpdir(), 'copydesk-flood-'));
const serveArgs = [path.join(ROOT, 'dist/cli/main.js'), 'serve', '--port', '0', '--db', path.join(dir, 'audit.db'), '--log-level', 'error'];
if (workers !== undefined) serveArgs.push('--workers', workers);
const env = { ...process.env };
delete env.COPYDESK_API_TOKEN;
const server = spawn(process.execPath, serveArgs, { stdio: ['ignore', 'ignore', 'pipe'], env });
let log = '';
server.stderr.setEncoding('utf8').on('data', (d) => (log += d));
while (!/serving (http:\S+)/.test(log)) {
  if (server.exitCode !== null) throw new Error(log);
  await new Promise((r) => setTimeout(r, 50));
}
const url = /serving (http:\S+)/.exec(log)[1];
const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]) / 1024;
const startRss = rss();
let peak = startRss;
const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20);

function post(localAddress, json) {
  const payload = JSON.stringify(json);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/v1/detect`, { method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let bytes = 0;
      res.on('data', (d) => (bytes += d.length)).on('end', () => resolve({ status: res.statusCode, bytes, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const flood = Array.from({ length: 20 }, () => post('127.0.0.2', body));
await new Promise((r) => setTimeout(r, 300));
const small = await post('127.0.0.3', { text: article });
const answers = await Promise.all(flood);
clearInterval(sampler);
const codes = {};
for (const a of answers) codes[a.status] = (codes[a.status] ?? 0) + 1;
console.log(
  JSON.stringify({
    body: kind,
    request_bytes: JSON.stringify(body).length,
    flood_status: codes,
    flood_seconds_max: +(Math.max(...answers.map((a) => a.ms)) / 1000).toFixed(2),
    largest_response_bytes: Math.max(...answers.map((a) => a.bytes)),
    small_status: small.status,
    small_ms: Math.round(small.ms),
    rss_start_mib: Math.round(startRss),
    rss_peak_mib: Math.round(peak),
  }),
);
server.kill('SIGTERM');
await new Promise((r) => server.on('exit', r));
rmSync(dir, { recursive: true, force: true });
