/**
 * Redis connection settings from a URL, `redis://[[user]:password@]host:port[/db]` (or `rediss://`
 * for TLS), and a fast reachability check: one connection attempt with a timeout and no retries,
 * so that a wrong host or password is a clear error naming the URL, not an endless reconnect loop.
 * The password never appears in messages or files (`redacted`).
 */
import { GibbsError } from '@gibbs/core';
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisTarget {
  /** The URL without its password, for messages and sweep.json. */
  redacted: string;
  options: RedisOptions;
}

const EXPECTED = 'redis://[:password@]host:port[/db] (or rediss:// for TLS)';

export function parseRedisUrl(text: string, field = '--queue'): RedisTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw GibbsError.invalid(field, redactUrl(text), EXPECTED);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw GibbsError.invalid(field, redactUrl(text), EXPECTED);
  }
  const port = url.port === '' ? 6379 : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!url.hostname || !Number.isInteger(db) || db < 0) {
    throw GibbsError.invalid(field, redactUrl(text), EXPECTED);
  }
  const options: RedisOptions = { host: url.hostname.replace(/^\[|\]$/g, ''), port, db };
  if (url.password) options.password = decodeURIComponent(url.password);
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.protocol === 'rediss:') options.tls = {};
  return { redacted: redactUrl(text), options };
}

export function redactUrl(text: string): string {
  return text.replace(/^(rediss?:\/\/)([^@/]*)@/, (_m, scheme: string, auth: string) => {
    const colon = auth.indexOf(':');
    return colon < 0 ? `${scheme}${auth}@` : `${scheme}${auth.slice(0, colon)}:***@`;
  });
}

/** Connect once (no retries) and PING; a GibbsError naming the URL if that fails. */
export async function checkRedis(target: RedisTarget, timeoutMs = 3000): Promise<void> {
  const client = new Redis({
    ...target.options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  let firstError: Error | null = null;
  client.on('error', (err: Error) => {
    firstError ??= err;
  });
  try {
    await withTimeout(client.connect(), timeoutMs);
    await withTimeout(client.ping(), timeoutMs);
  } catch (err) {
    // ioredis reports a refused connection as "Connection is closed"; the socket error says why.
    const first = firstError as Error | null;
    const reason = first?.message || (err as Error)?.message || String(err);
    throw new GibbsError(
      `cannot reach Redis at ${target.redacted}: ${reason}`,
      '--queue',
      target.redacted,
      'the URL of a reachable Redis server (redis://[:password@]host:port)',
      { cause: err },
    );
  } finally {
    client.disconnect();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A BullMQ queue name: not empty, no ':' (BullMQ's key separator). */
export function checkQueueName(name: string): string {
  if (!/^[^:\s]+$/.test(name)) {
    throw GibbsError.invalid('--queue-name', name, "a name without ':' or spaces (default gibbs)");
  }
  return name;
}

/** BullMQ connection options: workers and queues retry forever once the server was reachable. */
export function bullConnection(target: RedisTarget): RedisOptions {
  return { ...target.options, maxRetriesPerRequest: null };
}
