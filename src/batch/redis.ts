import { Redis } from 'ioredis';
import { UserError } from '../util/errors.js';

export interface ConnectOptions {
  /** Tries at start before giving up with a clear message. */
  tries: number;
  /** Who is connecting, for messages: "batch", "worker". */
  role: string;
  log: (line: string) => void;
}

/** `redis://host:port/db` without a password, for messages. */
export function redisLabel(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}${parsed.pathname.length > 1 ? parsed.pathname : ''}`;
  } catch {
    return url;
  }
}

/** While Redis stays unreachable, the outage is reported again at most this often (every connection retries several times a second). */
export const OUTAGE_REPORT_EVERY_MS = 30_000;
/** Other errors (from BullMQ: a lock not renewed, a script failing) are reported at most this often. */
const ERROR_REPORT_EVERY_MS = 5_000;

/**
 * One Redis connection and every connection made from it — BullMQ
 * duplicates a connection for each blocking reader (QueueEvents, a
 * Worker's job fetching), and those are watched too: an error on any of
 * them is handled (ioredis otherwise prints "[ioredis] Unhandled error
 * event" with a stack for each failed retry) and the outage is reported
 * as one line for the whole process, again at most every
 * OUTAGE_REPORT_EVERY_MS while it lasts, and its end once every
 * connection is back.
 */
export interface RedisLink {
  readonly client: Redis;
  /** An 'error' event of a BullMQ Queue, QueueEvents or Worker: connection errors join the outage report, others get a rate-limited line. */
  report(error: unknown): void;
  /** Why Redis cannot be reached now (ECONNREFUSED ...), or undefined while every connection is up. */
  readonly down: string | undefined;
  /** Closes every connection at once, without waiting on Redis (commands still queued fail). */
  disconnectAll(): void;
}

/** ioredis and socket errors that mean "Redis is not reachable" rather than "Redis said no". */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, name } = error as { code?: unknown; message?: unknown; name?: unknown };
  if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return true;
  if (name === 'MaxRetriesPerRequestError') return true;
  return typeof message === 'string' && /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|Stream isn't writeable/.test(message);
}

function errorText(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (typeof code === 'string') return code;
    if (typeof message === 'string') return message;
  }
  return String(error);
}

/**
 * A Redis connection that BullMQ can block on (maxRetriesPerRequest null)
 * and that survives outages: once connected it (and every duplicate of it)
 * reconnects forever, with commands waiting meanwhile, and the outage is
 * reported as described at RedisLink. At start it gives up after `tries`
 * failed attempts with a message naming the address and the error.
 */
export async function connectRedis(url: string, options: ConnectOptions): Promise<RedisLink> {
  if (!/^rediss?:\/\//.test(url)) throw new UserError(`--queue must be a Redis URL like redis://host:6379, got "${url}"`);
  const where = redisLabel(url);
  const { role, log } = options;
  let everReady = false;
  let lastError = 'no answer';
  const connections = new Set<Redis>();
  /** Connections that lost Redis and have not got it back. */
  const lost = new Set<Redis>();
  let outageSince: number | undefined;
  let outageLogged = 0;
  let otherLogged = 0;

  const seconds = (since: number) => Math.round((Date.now() - since) / 1000);
  const outage = (cause: string) => {
    lastError = cause;
    const now = Date.now();
    if (outageSince === undefined) {
      outageSince = now;
      outageLogged = now;
      log(`${role}: lost Redis at ${where} (${cause}); retrying`);
    } else if (now - outageLogged >= OUTAGE_REPORT_EVERY_MS) {
      outageLogged = now;
      log(`${role}: still no Redis at ${where} after ${seconds(outageSince)} s (${cause}); retrying`);
    }
  };
  const back = (client: Redis) => {
    lost.delete(client);
    if (lost.size > 0 || outageSince === undefined) return;
    log(`${role}: reconnected to Redis at ${where} after ${seconds(outageSince)} s`);
    outageSince = undefined;
  };

  const watch = (client: Redis): Redis => {
    connections.add(client);
    client.on('error', (error: unknown) => {
      lastError = errorText(error);
      // Before the first connection the start-up loop below reports the failure.
      if (!everReady) return;
      if (isConnectionError(error)) {
        lost.add(client);
        outage(lastError);
      } else {
        report(error);
      }
    });
    client.on('ready', () => back(client));
    client.on('end', () => {
      connections.delete(client);
      back(client);
    });
    // BullMQ duplicates the connection it is given for its blocking readers: watch those too.
    const duplicate = client.duplicate.bind(client);
    client.duplicate = (override) => watch(duplicate(override));
    return client;
  };

  const report = (error: unknown) => {
    // BullMQ passes on its connections' errors ("Connection is closed." too), which the connections report themselves.
    if (isConnectionError(error)) return;
    const now = Date.now();
    if (now - otherLogged < ERROR_REPORT_EVERY_MS) return;
    otherLogged = now;
    log(`${role}: Redis: ${error instanceof Error ? error.message : String(error)}`);
  };

  const client = watch(
    new Redis(url, {
      maxRetriesPerRequest: null,
      connectTimeout: 5000,
      retryStrategy: (times) => (!everReady && times >= options.tries ? null : Math.min(250 * times, 3000)),
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const onReady = () => {
      client.off('end', onEnd);
      resolve();
    };
    const onEnd = () => {
      client.off('ready', onReady);
      reject(new UserError(`cannot reach Redis at ${where} after ${options.tries} ${options.tries === 1 ? 'try' : 'tries'} (${lastError}); is redis-server running there?`));
    };
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
  everReady = true;
  return {
    client,
    report,
    get down() {
      return outageSince === undefined ? undefined : lastError;
    },
    disconnectAll() {
      for (const connection of [...connections]) connection.disconnect();
    },
  };
}
