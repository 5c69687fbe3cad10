/**
 * tokenbatch's Redis backend: scale a chain out over several processes. `fromRedisStream` is the
 * source (an RxJS Observable and an async iterable of stream entries, read by one consumer of a
 * consumer group), `toRedisStream` the sink that writes each result and acknowledges its entry in
 * one atomic step; delivery is at-least-once. `redisRateLimiter` shares one request and token budget
 * among the workers. Needs `ioredis`, an optional peer dependency.
 *
 * @packageDocumentation
 */
export { RedisStreamError, type RedisStreamClient } from './backends/redis/client.js';
export {
  DeliveryLimitError,
  fromRedisStream,
  RedisStreamSource,
  type AckTarget,
  type FromRedisStreamOptions,
  type RedisStreamStats,
  type StreamEntry,
} from './backends/redis/source.js';
export { isFinalFailure, toRedisStream, type RedisSinkOperator, type ToRedisStreamOptions } from './backends/redis/sink.js';
export { createRedisCache, type RedisCacheClient, type RedisCacheOptions } from './cache/redis.js';
export { TokenbatchError } from './errors.js';
export type { FailureOutcome, Outcome, OutcomeBase, SuccessOutcome } from './types.js';
export { redisRateLimiter, type RedisRateLimiter, type RedisRateLimiterOptions, type RedisRateLimitGrant } from './backends/redis/rate-limiter.js';
export type { RateLimiter, RateLimitGrant } from './rateLimiter.js';
export type { RateLimitHint } from './types.js';
