import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_LIMITS, DEFAULT_RATE_LIMIT } from '../../server/limits.js';
import type { Engine } from '../../server/engine.js';
import { DEFAULT_MODEL_PATH } from '../../model/model-file.js';
import { UserError } from '../../util/errors.js';
import { MODEL_HELP, modelFrom, parsePositiveInt, parseWholeNumber, serveWorkerCount, workersOption } from '../options.js';

interface ServeFlags {
  port: number;
  host: string;
  model?: string;
  db: string;
  storeText?: boolean;
  workers: number;
  maxBodyBytes: number;
  maxTextChars: number;
  maxBatch: number;
  maxRequestChars: number;
  maxRequestSentences: number;
  maxSentencesPerText: number;
  maxClientPendingChars: number;
  maxPendingChars: number;
  requestTimeout: number;
  rateLimit: number;
  rateWindow: number;
  shutdownTimeout: number;
  logLevel: string;
}

export const DEFAULT_DB_PATH = 'copydesk-audit.db';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('HTTP API and web page: POST /v1/detect, GET /v1/models, /v1/audit, /healthz, /metrics, /openapi.json, and / for editors')
    .option('--port <n>', 'port to listen on (0: any free port)', parsePort, 8080)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--model <file>', MODEL_HELP)
    .option('--db <file>', 'audit database (SQLite, created if missing)', DEFAULT_DB_PATH)
    .option('--store-text', 'keep the text of every scored document in the audit database (default: only its SHA-256 and length)')
    .addOption(workersOption('scoring threads', 'score on the event loop', { count: serveWorkerCount(), description: 'all cores but one' }))
    .option('--max-body-bytes <n>', 'largest request body accepted', parsePositiveInt('--max-body-bytes'), DEFAULT_LIMITS.maxBodyBytes)
    .option('--max-text-chars <n>', 'longest text accepted, in characters', parsePositiveInt('--max-text-chars'), DEFAULT_LIMITS.maxTextChars)
    .option('--max-batch <n>', 'most texts in one request', parsePositiveInt('--max-batch'), DEFAULT_LIMITS.maxBatch)
    .option('--max-request-chars <n>', 'most characters of text in one request, all texts together (413 beyond)', parsePositiveInt('--max-request-chars'), DEFAULT_LIMITS.maxRequestChars)
    .option('--max-request-sentences <n>', 'most sentences in one request, all texts together (422 beyond)', parsePositiveInt('--max-request-sentences'), DEFAULT_LIMITS.maxRequestSentences)
    .option('--max-sentences-per-text <n>', 'most sentences returned per text (the rest is counted and flagged, not listed)', parsePositiveInt('--max-sentences-per-text'), DEFAULT_LIMITS.maxSentencesPerText)
    .option('--max-client-pending-chars <n>', 'characters one client may have waiting or being scored (429 beyond)', parsePositiveInt('--max-client-pending-chars'), DEFAULT_LIMITS.maxClientPendingChars)
    .option('--max-pending-chars <n>', 'characters the server may have waiting or being scored (503 beyond)', parsePositiveInt('--max-pending-chars'), DEFAULT_LIMITS.maxPendingChars)
    .option('--request-timeout <ms>', 'time allowed to receive a request, and to score it', parsePositiveInt('--request-timeout'), DEFAULT_LIMITS.requestTimeoutMs)
    .option('--rate-limit <n>', 'requests per client per window on /v1/* (0: no limit)', parseWholeNumber('--rate-limit'), DEFAULT_RATE_LIMIT.max)
    .option('--rate-window <ms>', 'rate-limit window', parsePositiveInt('--rate-window'), DEFAULT_RATE_LIMIT.windowMs)
    .option('--shutdown-timeout <ms>', 'on SIGTERM/SIGINT, how long to wait for requests in flight before closing their connections', parsePositiveInt('--shutdown-timeout'), 10_000)
    .addOption(new Option('--log-level <level>', 'server log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'))
    .addHelpText(
      'after',
      '\nEnvironment:\n  COPYDESK_API_TOKEN  when set, every /v1/* route requires "Authorization: Bearer <token>"\n',
    )
    .action(async (flags: ServeFlags) => {
      await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<void> {
  // Loaded here, not at the top: every other command starts faster without Fastify and SQLite.
  const [{ buildApp }, { AuditStore }, { InlineEngine, PoolEngine, supportsSentences }] = await Promise.all([
    import('../../server/app.js'),
    import('../../server/audit.js'),
    import('../../server/engine.js'),
  ]);
  const detector = modelFrom(flags);
  const token = process.env.COPYDESK_API_TOKEN;
  if (token !== undefined && token.trim() === '') throw new UserError('COPYDESK_API_TOKEN is set but empty; unset it or give it a value');
  const workers = flags.workers;
  // The database first: a bad --db must stop the command before scoring threads exist to keep the process alive.
  const audit = new AuditStore(flags.db, Boolean(flags.storeText));
  let engine: Engine;
  try {
    engine = workers === 0 ? new InlineEngine(detector) : await PoolEngine.start(flags.model ?? DEFAULT_MODEL_PATH, workers);
  } catch (error) {
    audit.close();
    throw error;
  }
  const app = await buildApp({
    detector,
    engine,
    audit,
    token: token?.trim(),
    logLevel: flags.logLevel,
    rateLimit: flags.rateLimit === 0 ? null : { max: flags.rateLimit, windowMs: flags.rateWindow },
    limits: {
      maxBodyBytes: flags.maxBodyBytes,
      maxTextChars: flags.maxTextChars,
      maxBatch: flags.maxBatch,
      maxRequestChars: flags.maxRequestChars,
      maxRequestSentences: flags.maxRequestSentences,
      maxSentencesPerText: flags.maxSentencesPerText,
      maxClientPendingChars: flags.maxClientPendingChars,
      maxPendingChars: flags.maxPendingChars,
      requestTimeoutMs: flags.requestTimeout,
      scoreTimeoutMs: flags.requestTimeout,
    },
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`copydesk: ${signal} again; exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`copydesk: ${signal}: no new connections; finishing requests in flight\n`);
    // Past the deadline, close the remaining connections; app.close() then resolves.
    const deadline = setTimeout(() => app.server.closeAllConnections(), flags.shutdownTimeout);
    deadline.unref();
    app.close().then(
      () => {
        clearTimeout(deadline);
        process.stderr.write('copydesk: stopped; audit database closed\n');
      },
      (error: unknown) => {
        process.stderr.write(`copydesk: error while stopping: ${String(error)}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  try {
    await app.listen({ port: flags.port, host: flags.host });
  } catch (error) {
    await app.close();
    throw new UserError(`cannot listen on ${flags.host}:${flags.port}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const address = app.server.address();
  const where = typeof address === 'object' && address ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address);
  if (!supportsSentences(detector)) {
    process.stderr.write(`copydesk: warning: model ${detector.version} has no sentence calibration, so results carry no sentence scores; retrain it with copydesk train\n`);
  }
  process.stderr.write(
    `copydesk: serving ${where} (model ${detector.version}, ${workers === 0 ? 'scoring on the event loop' : `${workers} scoring thread${workers === 1 ? '' : 's'}`}, audit ${flags.db}${flags.storeText ? ' with texts' : ''}${token ? ', bearer token required on /v1/*' : ''})\n`,
  );
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`--port must be a whole number from 0 to 65535, got "${value}"`);
  return n;
}
