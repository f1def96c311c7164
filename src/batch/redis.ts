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

/**
 * A Redis connection that BullMQ can block on (maxRetriesPerRequest null)
 * and that survives outages: once connected it reconnects forever, with
 * commands waiting meanwhile, and says so on the log (at most every few
 * seconds). At start it gives up after `tries` failed attempts with a
 * message naming the address and the error.
 */
export async function connectRedis(url: string, options: ConnectOptions): Promise<Redis> {
  if (!/^rediss?:\/\//.test(url)) throw new UserError(`--queue must be a Redis URL like redis://host:6379, got "${url}"`);
  const where = redisLabel(url);
  let everReady = false;
  let down = false;
  let lastError = 'no answer';
  let lastLogged = 0;
  const client = new Redis(url, {
    maxRetriesPerRequest: null,
    connectTimeout: 5000,
    retryStrategy: (times) => (!everReady && times >= options.tries ? null : Math.min(250 * times, 3000)),
  });
  client.on('error', (error: NodeJS.ErrnoException) => {
    lastError = error.code ?? error.message;
    if (!everReady) return;
    down = true;
    const now = Date.now();
    if (now - lastLogged >= 5000) {
      lastLogged = now;
      options.log(`${options.role}: lost Redis at ${where} (${lastError}); retrying`);
    }
  });
  client.on('ready', () => {
    if (down) options.log(`${options.role}: reconnected to Redis at ${where}`);
    down = false;
    everReady = true;
  });
  await new Promise<void>((resolve, reject) => {
    const onReady = () => {
      client.off('end', onEnd);
      resolve();
    };
    const onEnd = () => {
      client.off('ready', onReady);
      reject(new UserError(`cannot reach Redis at ${where} after ${options.tries} tries (${lastError}); is redis-server running there?`));
    };
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
  return client;
}
