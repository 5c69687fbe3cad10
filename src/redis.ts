/**
 * tokenbatch's Redis Streams backend: scale a chain out over several processes with a consumer
 * group. `fromRedisStream` is the source (an RxJS Observable and an async iterable of stream
 * entries), `toRedisStream` the sink that writes each result and acknowledges its entry in one
 * atomic step; delivery is at-least-once. Needs `ioredis`, an optional peer dependency.
 *
 * @packageDocumentation
 */
export {
  fromRedisStream,
  RedisStreamError,
  RedisStreamSource,
  toRedisStream,
  type AckTarget,
  type FromRedisStreamOptions,
  type RedisSinkOperator,
  type RedisStreamClient,
  type RedisStreamStats,
  type StreamEntry,
  type ToRedisStreamOptions,
} from './backends/redis.js';
export { createRedisCache, type RedisCacheClient, type RedisCacheOptions } from './cache/redis.js';
export { TokenbatchError } from './errors.js';
export type { FailureOutcome, Outcome, OutcomeBase, SuccessOutcome } from './types.js';
