import { randomUUID } from 'node:crypto';
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { AbortError, TransientError } from '../../errors.js';
import { OptionReader } from '../../internal/options.js';
import type { RateLimiter, RateLimitGrant } from '../../rateLimiter.js';
import type { RateLimitHint } from '../../types.js';
import { key as keyOption, redisClient, sameSlot, Script, type RedisStreamClient } from './client.js';

/**
 * Options of {@link redisRateLimiter}.
 *
 * @example
 * ```ts
 * const options: RedisRateLimiterOptions = { client, key: 'limits:gpt-4o-mini', requestsPerMinute: 500, tokensPerMinute: 200_000 };
 * ```
 */
export interface RedisRateLimiterOptions {
  /** The connection (ioredis `Redis`). Scripts run on it; it is never closed by the limiter. */
  client: RedisStreamClient;
  /**
   * The name of the shared budget: every process that uses the same key (and Redis) shares it, so
   * use one key per API key and model. The limiter's keys are `{key}:grants`, `{key}:tokens` and
   * `{key}:pause` (or, when `key` has a hash tag, that tag), one Redis Cluster slot.
   */
  key: string;
  /** Requests allowed in any window of `windowMs`, fleet-wide. Default: no limit. */
  requestsPerMinute?: number;
  /** Tokens allowed in any window of `windowMs`, fleet-wide. Default: no limit. */
  tokensPerMinute?: number;
  /** The window, in milliseconds. Default 60,000 (a minute, as providers count). */
  windowMs?: number;
  /** Where the waits between tries come from (Redis's clock decides). Default: RxJS `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * A grant of {@link redisRateLimiter}: a {@link RateLimitGrant} with the time Redis gave it.
 *
 * @example
 * ```ts
 * const grant = await limiter.acquire(1200);
 * console.log(`granted at ${new Date(grant.at).toISOString()}`);
 * ```
 */
export interface RedisRateLimitGrant extends RateLimitGrant {
  /** When Redis granted the request, in ms since the epoch (Redis's clock). */
  readonly at: number;
}

/**
 * A {@link RateLimiter} shared by every process that uses the same Redis and key.
 *
 * @example
 * ```ts
 * const limiter: RedisRateLimiter = redisRateLimiter({ client, key: 'limits:gpt-4o-mini', requestsPerMinute: 500 });
 * await limiter.flush();
 * ```
 */
export interface RedisRateLimiter extends RateLimiter {
  /** Wait until a request weighing `tokens` fits in the fleet's window, then reserve it. Rejects when `signal` aborts, or with a `TransientError` when Redis cannot be reached. */
  acquire(tokens: number, signal?: AbortSignal): Promise<RedisRateLimitGrant>;
  /** Resolves once every settle and pause sent so far has reached Redis (for tests and shutdown). */
  flush(): Promise<void>;
  /** Requests that had to wait, waiting now, granted; and Redis calls that failed. */
  readonly stats: { readonly waits: number; readonly waiting: number; readonly granted: number; readonly errors: number };
}

// Redis's clock, in ms, rounded down (a grant's start) or up (a settle's end), so that windows are
// never counted short.
const NOW = `
local t = redis.call('TIME')
local function now(up)
  local ms = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
  if up then return math.ceil(ms) end
  return math.floor(ms)
end
local function weight(member) return tonumber(string.match(member, ':(%d+)$')) end
`;

/**
 * Reserve: expire what left the window, find when the request fits (pause, request count, token
 * sum: the same rule as the local limiter), and grant it now or say how long to wait.
 * KEYS: grants (zset of `id:tokens` by time), token sum, pause. ARGV: windowMs, request limit,
 * token limit (-1: none), tokens, id. Returns {1, now} or {0, wait ms}.
 */
const RESERVE = new Script(`${NOW}
local window, rlimit, tlimit, tokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local start = now(false)
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', start - window)
if #old > 0 then
  local gone = 0
  for _, member in ipairs(old) do gone = gone + weight(member) end
  redis.call('DECRBY', KEYS[2], gone)
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', start - window)
end
local at = start
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if paused > at then at = paused end
local count = redis.call('ZCARD', KEYS[1])
if rlimit >= 0 and count + 1 > rlimit then
  local row = redis.call('ZRANGE', KEYS[1], count - rlimit, count - rlimit, 'WITHSCORES')
  at = math.max(at, tonumber(row[2]) + window)
end
if tlimit >= 0 then
  local excess = tonumber(redis.call('GET', KEYS[2]) or '0') + math.min(tokens, tlimit) - tlimit
  if excess > 0 then
    local rows = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
    for i = 1, #rows, 2 do
      excess = excess - weight(rows[i])
      if excess <= 0 or i + 1 == #rows then
        at = math.max(at, tonumber(rows[i + 1]) + window)
        break
      end
    end
  end
end
if at > start then return {0, at - start} end
redis.call('ZADD', KEYS[1], start, ARGV[5] .. ':' .. tokens)
redis.call('INCRBY', KEYS[2], tokens)
redis.call('PEXPIRE', KEYS[1], window * 2)
redis.call('PEXPIRE', KEYS[2], window * 2)
return {1, start}
`);

/**
 * Settle: replace a grant's tokens with what was billed, and count it from now on (the request has
 * reached the provider by the time it is settled, so its window is measured from no earlier than
 * its arrival). Tokens 'x' withdraws the grant (it was never used). KEYS: grants, token sum.
 * ARGV: id, tokens reserved, tokens billed or 'x', windowMs.
 */
const SETTLE = new Script(`${NOW}
local old = ARGV[1] .. ':' .. ARGV[2]
local score = redis.call('ZSCORE', KEYS[1], old)
if not score then return 0 end
redis.call('ZREM', KEYS[1], old)
if ARGV[3] == 'x' then
  redis.call('DECRBY', KEYS[2], tonumber(ARGV[2]))
  return 1
end
local at = math.max(tonumber(score), now(true))
redis.call('ZADD', KEYS[1], at, ARGV[1] .. ':' .. ARGV[3])
redis.call('INCRBY', KEYS[2], tonumber(ARGV[3]) - tonumber(ARGV[2]))
local ttl = at - now(false) + tonumber(ARGV[4]) * 2
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
`);

/** Pause: no grant before now + ms (the later of this and any pause already set). KEYS: pause. ARGV: ms. */
const PAUSE = new Script(`${NOW}
local untilMs = now(true) + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > current then redis.call('SET', KEYS[1], untilMs, 'PX', ARGV[1]) end
return untilMs
`);

interface Waiter {
  tokens: number;
  resolve(grant: RedisRateLimitGrant): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  cleanup(): void;
  waited: boolean;
}

const OPTION_KEYS = ['client', 'key', 'requestsPerMinute', 'tokensPerMinute', 'windowMs', 'scheduler'] as const;

/**
 * A rate limiter shared by a fleet of workers through Redis: the same sliding-window rule as the
 * local `rateLimiter` (no window of `windowMs` ever holds more than the limits), kept in Redis and
 * changed only by Lua scripts, so reserve and settle are atomic across processes, timed by Redis's
 * clock. Use it where the local limiter goes: `mergeBatches(handler, { rateLimit: redisRateLimiter(...) })`
 * in every worker, with the same `key`.
 *
 * - Settling (`report({ usage })` in a handler) replaces the reservation with the billed tokens, and
 *   counts the request from the settle on, so a request is in the window from its grant until
 *   `windowMs` after its answer: what arrives at the provider stays within the limits even when the
 *   network delays some requests more than others.
 * - `pause(ms)` (a 429's `retryAfterMs`) and `observe(hint)` (a provider's "nothing left" headers)
 *   stop every process sharing the key, not only this one.
 * - Waiters of one process are served first come, first served; one at a time asks Redis, and
 *   sleeps until the time Redis said. Processes take turns as their waits end.
 * - Redis unreachable: `acquire` rejects with a `TransientError` (retryable, so `mergeBatches`
 *   retries with backoff); a failed settle or pause is counted in `stats.errors`.
 *
 * A request heavier than the whole token budget is let through alone, when the window is otherwise
 * empty, rather than waiting forever. The local limiter stays the default; this one needs Redis.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { mergeBatches } from 'tokenbatch';
 * import { redisRateLimiter } from 'tokenbatch/redis';
 *
 * const limiter = redisRateLimiter({ client: new Redis(process.env.REDIS_URL), key: 'openai:gpt-4o-mini', requestsPerMinute: 500, tokensPerMinute: 200_000 });
 * const merge = mergeBatches(classify, { concurrency: 8, rateLimit: limiter }); // in every worker
 * ```
 */
export function redisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiter {
  if (options === undefined) throw new TypeError('redisRateLimiter: expected an options object');
  const reader = new OptionReader('redisRateLimiter', options, OPTION_KEYS);
  const client = redisClient(reader.raw.client, reader.name('client'));
  const name = keyOption(reader.raw.key, reader.name('key'));
  const requestLimit = reader.optionalPositive('requestsPerMinute');
  const tokenLimit = reader.optionalPositive('tokensPerMinute');
  const windowMs = reader.optionalPositive('windowMs', { integer: true, min: 1 }) ?? 60_000;
  const keys = { grants: sameSlot(name, ':grants'), tokens: sameSlot(name, ':tokens'), pause: sameSlot(name, ':pause') };
  return new SharedLimiter(
    client,
    keys,
    requestLimit === undefined ? -1 : Math.max(1, Math.floor(requestLimit)),
    tokenLimit === undefined ? -1 : Math.max(1, Math.floor(tokenLimit)),
    windowMs,
    reader.scheduler(),
  );
}

class SharedLimiter implements RedisRateLimiter {
  readonly #queue: Waiter[] = [];
  readonly #writes = new Set<Promise<unknown>>();
  #asking = false;
  #sleep: Subscription | undefined;
  #waits = 0;
  #granted = 0;
  #errors = 0;
  #lastTokens = 1;

  constructor(
    readonly client: RedisStreamClient,
    readonly keys: { grants: string; tokens: string; pause: string },
    readonly requestLimit: number,
    readonly tokenLimit: number,
    readonly windowMs: number,
    readonly scheduler: SchedulerLike = asyncScheduler,
  ) {}

  get stats() {
    return { waits: this.#waits, waiting: this.#queue.length, granted: this.#granted, errors: this.#errors };
  }

  acquire(tokens: number, signal?: AbortSignal): Promise<RedisRateLimitGrant> {
    if (signal?.aborted) return Promise.reject(signal.reason ?? new AbortError('aborted'));
    return new Promise<RedisRateLimitGrant>((resolve, reject) => {
      const onAbort = () => {
        const at = this.#queue.indexOf(waiter);
        // The head may be asking Redis right now: its grant, if any, is withdrawn when it comes.
        if (at >= 0 && !(at === 0 && this.#asking)) this.#queue.splice(at, 1);
        reject(signal?.reason ?? new AbortError('aborted'));
        if (at === 0 && !this.#asking) this.#wakeNow();
      };
      const waiter: Waiter = {
        tokens: Math.max(0, Math.ceil(Number.isFinite(tokens) ? tokens : 0)),
        resolve,
        reject,
        signal,
        waited: false,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
      if (this.#queue.length === 1) this.#wakeNow();
    });
  }

  pause(ms: number): void {
    if (!(ms > 0)) return;
    this.#write(PAUSE.run(this.client, [this.keys.pause], [Math.ceil(ms)]));
    // A waiter sleeping on an older answer asks again, and learns of the pause.
    if (!this.#asking && this.#queue.length > 0) this.#wakeNow();
  }

  observe(hint: RateLimitHint): void {
    if (hint.remainingRequests !== undefined && hint.remainingRequests <= 0) this.pause(hint.resetRequestsMs ?? 1000);
    if (hint.remainingTokens !== undefined && hint.remainingTokens < this.#lastTokens) this.pause(hint.resetTokensMs ?? 1000);
  }

  async flush(): Promise<void> {
    while (this.#writes.size > 0) await Promise.allSettled([...this.#writes]);
  }

  #write(promise: Promise<unknown>): void {
    const tracked = promise.catch(() => void this.#errors++);
    this.#writes.add(tracked);
    void tracked.finally(() => this.#writes.delete(tracked));
  }

  #wakeNow(): void {
    this.#sleep?.unsubscribe();
    this.#sleep = undefined;
    void this.#ask();
  }

  /** The head waiter asks Redis; granted, the next one asks; told to wait, it sleeps that long. */
  async #ask(): Promise<void> {
    if (this.#asking) return;
    const head = this.#queue[0];
    if (!head) return;
    this.#asking = true;
    const id = randomUUID();
    let reply: unknown;
    try {
      reply = await RESERVE.run(this.client, [this.keys.grants, this.keys.tokens, this.keys.pause], [this.windowMs, this.requestLimit, this.tokenLimit, head.tokens, id]);
    } catch (error) {
      this.#asking = false;
      this.#errors++;
      this.#queue.shift();
      head.cleanup();
      const message = error instanceof Error ? error.message : String(error);
      if (!head.signal?.aborted) head.reject(new TransientError(`redisRateLimiter: Redis did not answer (${message})`, { cause: error }));
      if (this.#queue.length > 0) this.#wakeNow();
      return;
    }
    this.#asking = false;
    const [granted, value] = (reply as [number | string, number | string]).map(Number) as [number, number];
    if (granted === 1) {
      this.#queue.shift();
      head.cleanup();
      if (head.signal?.aborted) {
        this.#write(SETTLE.run(this.client, [this.keys.grants, this.keys.tokens], [id, head.tokens, 'x', this.windowMs]));
      } else {
        if (head.waited) this.#waits++;
        this.#granted++;
        this.#lastTokens = Math.max(1, head.tokens);
        head.resolve(this.#grant(id, head.tokens, value));
      }
      if (this.#queue.length > 0) this.#wakeNow();
      return;
    }
    if (head.signal?.aborted) {
      this.#queue.shift();
      if (this.#queue.length > 0) this.#wakeNow();
      return;
    }
    head.waited = true;
    this.#sleep = this.scheduler.schedule(
      () => {
        this.#sleep = undefined;
        void this.#ask();
      },
      Math.max(1, value),
    );
  }

  #grant(id: string, reserved: number, at: number): RedisRateLimitGrant {
    let current = reserved;
    let chain: Promise<unknown> = Promise.resolve();
    return {
      tokens: reserved,
      at,
      settle: (actual) => {
        if (!(actual >= 0) || !Number.isFinite(actual)) return;
        const billed = Math.ceil(actual);
        const previous = current;
        current = billed;
        // Settles of one grant go in order: each names the tokens the one before it left.
        chain = chain.then(() => SETTLE.run(this.client, [this.keys.grants, this.keys.tokens], [id, previous, billed, this.windowMs]));
        this.#write(chain);
      },
    };
  }
}
