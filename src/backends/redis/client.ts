import { createHash } from 'node:crypto';
import { TokenbatchError } from '../../errors.js';

/**
 * What tokenbatch needs of a Redis client: ioredis's `Redis` fits as it is (standalone or Sentinel;
 * any protocol and reply mapping). Every command goes through `call`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const client: RedisStreamClient = new Redis('redis://127.0.0.1:6379');
 * ```
 */
export interface RedisStreamClient {
  /** Send one command, as ioredis's `call(command, ...args)`. */
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** A new connection with the same options (used for blocking reads). */
  duplicate(): RedisStreamClient;
  /** Close the connection at once. */
  disconnect(): void;
  /**
   * Listen to the connection's events (ioredis has it). Connections tokenbatch opens itself get an
   * `'error'` listener, so an outage is reported through the commands that fail, never as an
   * unhandled `'error'` event.
   */
  on?(event: 'error', listener: (error: unknown) => void): unknown;
}

/**
 * A Redis command failed while reading, claiming, writing or acknowledging. The entries concerned
 * stay pending and are delivered again (at-least-once); `cause` is the client's error.
 *
 * @example
 * ```ts
 * source$.subscribe({ error: (error) => { if (error instanceof RedisStreamError) console.error(error.command); } });
 * ```
 */
export class RedisStreamError extends TokenbatchError {
  override name = 'RedisStreamError';
  /** The command that failed, such as `'XREADGROUP'`. */
  readonly command: string;
  constructor(command: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.command = command;
  }
}

export function redisClient(value: unknown, name: string): RedisStreamClient {
  const candidate = value as Partial<RedisStreamClient> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.call !== 'function' ||
    typeof candidate.duplicate !== 'function' ||
    typeof candidate.disconnect !== 'function'
  ) {
    throw new TypeError(`${name}: expected a Redis client with call(), duplicate() and disconnect() (an ioredis Redis)`);
  }
  return value as RedisStreamClient;
}

export function key(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name}: expected a non-empty string`);
  return value;
}

export function failure(command: string, where: { stream: string }, error: unknown): RedisStreamError {
  const message = error instanceof Error ? error.message : String(error);
  return new RedisStreamError(command, `${command} on stream "${where.stream}" failed: ${message}`, { cause: error });
}

/** A connection of our own: its errors are reported by the commands that fail, not as unhandled events. */
export function ownConnection(client: RedisStreamClient): RedisStreamClient {
  const connection = client.duplicate();
  connection.on?.('error', () => {});
  return connection;
}

/**
 * The part of a key Redis Cluster hashes: the first non-empty `{...}`, else the whole key. Keys one
 * script touches must share it.
 */
export function hashTagOf(name: string): string {
  const open = name.indexOf('{');
  if (open >= 0) {
    const close = name.indexOf('}', open + 1);
    if (close > open + 1) return name.slice(open + 1, close);
  }
  return name;
}

/**
 * A key in the same Cluster slot as `base`: `{tag}suffix`, reusing base's hash tag. (A `base`
 * without a tag but with a `}` has no such key: name it with a tag.)
 */
export function sameSlot(base: string, suffix: string): string {
  return `{${hashTagOf(base)}}${suffix}`;
}

/** Throw unless every key hashes alike, so that one script may touch them all under Redis Cluster. */
export function requireSameSlot(operator: string, keys: Readonly<Record<string, string>>): void {
  const entries = Object.entries(keys);
  const [firstName, firstKey] = entries[0] as [string, string];
  for (const [name, value] of entries.slice(1)) {
    if (hashTagOf(value) !== hashTagOf(firstKey)) {
      throw new RangeError(
        `${operator}: ${name} "${value}" and ${firstName} "${firstKey}" hash to different Redis Cluster slots; give them the same hash tag, e.g. "${sameSlot(firstKey, ':' + name)}"`,
      );
    }
  }
}

/** A Lua script sent by its SHA1, and in full when the server does not know it yet. */
export class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisStreamClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.call('EVALSHA', this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return client.call('EVAL', this.source, keys.length, ...keys, ...args);
    }
  }
}
