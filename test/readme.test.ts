import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { itRunsEachBlock, tsBlocks } from './support/markdown.js';
import { INSTALL_HINT, redisServerPath, startRedisServer, type RedisServer } from './support/redis.js';

// Every ```ts block of the README is real code: it is written out and run here, as a module.
const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');

// Blocks that use Redis run against a throwaway redis-server, reached through REDIS_URL.
const hasRedis = redisServerPath() !== undefined;
let server: Promise<RedisServer> | undefined;
const usesRedis = (code: string) => code.includes("'tokenbatch/redis'");

describe('README examples', () => {
  afterAll(async () => {
    await (await server)?.stop();
  });

  it('has examples', () => expect(tsBlocks(readme).length).toBeGreaterThan(0));
  itRunsEachBlock(readme, `${root}temp/readme`, 'example', {
    skip: (code) => (usesRedis(code) && !hasRedis ? INSTALL_HINT : undefined),
    before: async (code) => {
      if (!usesRedis(code)) return;
      server ??= startRedisServer();
      vi.stubEnv('REDIS_URL', (await server).url);
    },
  });
});
