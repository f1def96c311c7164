#!/usr/bin/env node
/**
 * Load benchmark of `copydesk serve` (npm run bench:serve): starts the
 * compiled server on loopback with a fresh audit database, drives
 * POST /v1/detect with autocannon (100 connections, one ~500-word article),
 * and reports requests/s, latency percentiles and the server process's
 * resident memory at start, after warm-up and at the end of the run.
 *
 *   node bench/serve.mjs [--duration 60] [--connections 100] [--workers N] [--no-evidence] [--pipelining 1]
 *
 * Needs `npm run build` first (it runs dist/cli/main.js). The rate limit is
 * off for the run (--rate-limit 0): one client at 100 connections would hit it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/cli/main.js');

const ARTICLE = `Riverside council approves flood wall after three-year fight

RIVERSIDE — The city council voted 6-3 on Thursday night to build a 1.2-kilometre flood wall along the east bank of the Marrow River, ending a three-year dispute that split neighbours, delayed two budgets and drew more than 300 people to a single hearing last spring.

The $48 million project, paid for mostly by a provincial resilience grant, will raise a concrete barrier between the Tanner Street bridge and the old rail yard, where water reached the second floor of several homes in the 2021 flood. Construction is expected to start in April and take two summers.

"I've bailed out my basement four times in ten years," said Ruth Okafor, 67, who has lived on Mill Lane since 1979 and spoke at every public meeting on the wall. "Tonight I can tell my grandchildren the house will still be here."

Not everyone left happy. Business owners along Front Street, whose shops face the river, argued the wall would cut them off from the water and the summer foot traffic it brings. A petition against the current design gathered 1,140 signatures.

"We're not against protection. We're against a grey box that turns our main street into a parking lot," said Dev Malhotra, who runs a café near the bridge. He said the group would ask the province to review the decision.

Councillor Anna Liu, who voted against the plan, said the city had not properly studied a cheaper option: buying out the dozen homes most at risk and turning the land into a wetland park. "We picked the most expensive answer and called it the only one," she said.

City engineer Paul Brenner told the council that a buyout alone would leave about 400 other properties exposed in a 100-year flood, and that the wetland option had been costed in a 2022 report at $31 million, excluding the wall that would still be needed further north. The report was posted on the city's website on Friday.

The final design includes three openings with removable flood gates, a raised walkway on top of the wall and space for murals, changes the council added after the spring hearing. Mayor Colette Varga said the walkway would "give the river back to people on the days it isn't trying to come into their kitchens."

The provincial grant requires the city to cover 20 per cent of the cost, about $9.6 million, which will come from the capital reserve and a small increase in the storm-water fee. For a typical household, the fee will rise by about $38 a year, according to the finance department.

Residents of the rail-yard end, the lowest part of the neighbourhood, asked the city to start work there first. Staff said the contractor would decide the order after soil tests this winter.

The council also asked staff to report back by June on how businesses on Front Street can be supported during construction, including temporary signs and a possible rent rebate for tenants of city-owned buildings.

Okafor said she planned to watch the first excavator arrive. "I'll bring a chair," she said. "I've waited long enough to sit down."`;

function parseArgs(argv) {
  const args = { duration: 60, connections: 100, workers: undefined, evidence: true, pipelining: 1, warmup: 5 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-evidence') args.evidence = false;
    else if (['--duration', '--connections', '--workers', '--pipelining', '--warmup'].includes(a)) args[a.slice(2)] = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

async function startServer(dbPath, workers) {
  const args = [CLI, 'serve', '--port', '0', '--db', dbPath, '--rate-limit', '0', '--log-level', 'error'];
  if (workers !== undefined) args.push('--workers', String(workers));
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, COPYDESK_API_TOKEN: undefined } });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (log += d));
  const deadline = Date.now() + 30_000;
  while (!/serving (http:\S+)/.test(log)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url: /serving (http:\S+)/.exec(log)[1], log: () => log };
}

function run(url, options, duration) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/v1/detect`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(options.evidence ? { text: ARTICLE } : { text: ARTICLE, evidence: false }),
        connections: options.connections,
        pipelining: options.pipelining,
        duration,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    void instance;
  });
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const dir = mkdtempSync(path.join(tmpdir(), 'copydesk-bench-serve-'));
  const server = await startServer(path.join(dir, 'audit.db'), options.workers);
  try {
    const pid = server.child.pid;
    const rssStart = rssOf(pid);
    const words = ARTICLE.split(/\s+/).length;
    process.stdout.write(`${server.log().trim().split('\n').pop()}\n`);
    process.stdout.write(`article: ${words} words, ${ARTICLE.length} characters; evidence ${options.evidence ? 'on' : 'off'}; ${options.connections} connections\n`);

    if (options.warmup > 0) await run(server.url, options, options.warmup);
    const rssWarm = rssOf(pid);
    const samples = [];
    const sampler = setInterval(() => samples.push(rssOf(pid)), 5000);
    const result = await run(server.url, options, options.duration);
    clearInterval(sampler);
    const rssEnd = rssOf(pid);

    const audit = await (await fetch(`${server.url}/v1/audit?limit=1`)).json();
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const counted = [...metrics.matchAll(/^copydesk_verdicts_total\{verdict="\w+"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);

    const summary = {
      duration_s: options.duration,
      connections: options.connections,
      requests: result.requests.total,
      requests_per_s: Math.round(result.requests.average),
      latency_ms: {
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        max: result.latency.max,
        mean: Math.round(result.latency.average * 100) / 100,
      },
      errors: result.errors,
      timeouts: result.timeouts,
      non_2xx: result.non2xx,
      rss_bytes: { start: rssStart, after_warmup: rssWarm, end: rssEnd, samples },
      verdicts_counted: counted,
      audit_has_records: audit.records.length > 0,
    };
    process.stdout.write(
      [
        `requests/s   ${summary.requests_per_s} (${summary.requests} in ${options.duration} s; errors ${summary.errors}, timeouts ${summary.timeouts}, non-2xx ${summary.non_2xx})`,
        `latency      p50 ${summary.latency_ms.p50} ms, p90 ${summary.latency_ms.p90} ms, p99 ${summary.latency_ms.p99} ms, max ${summary.latency_ms.max} ms`,
        `server RSS   start ${mib(rssStart)}, after warm-up ${mib(rssWarm)}, after ${options.duration} s ${mib(rssEnd)} (samples every 5 s: ${samples.map(mib).join(', ')})`,
        `verdicts     ${counted} counted in /metrics`,
        `JSON ${JSON.stringify(summary)}`,
        '',
      ].join('\n'),
    );
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`bench:serve: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
