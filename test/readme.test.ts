import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { INSTALL_HINT, redisServerPath, startRedisServer, type RedisServer } from './support/redis.js';

// Every ```ts block of the README is real code: it is written out and run here, as a module.
const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
const folder = `${root}temp/readme`;

// Blocks that use Redis run against a throwaway redis-server, reached through REDIS_URL.
const hasRedis = redisServerPath() !== undefined;
let server: Promise<RedisServer> | undefined;
const usesRedis = (code: string) => code.includes("'tokenbatch/redis'");

describe('README examples', () => {
  afterAll(async () => {
    await (await server)?.stop();
  });

  it('has examples', () => expect(blocks.length).toBeGreaterThan(0));

  blocks.forEach((code, i) => {
    const skip = usesRedis(code) && !hasRedis;
    it.skipIf(skip)(`example ${i + 1} runs: ${code.split('\n')[0]}${skip ? ` (skipped: ${INSTALL_HINT})` : ''}`, async () => {
      mkdirSync(folder, { recursive: true });
      const file = `${folder}/example-${i + 1}.ts`;
      writeFileSync(file, code);
      if (usesRedis(code)) {
        server ??= startRedisServer();
        vi.stubEnv('REDIS_URL', (await server).url);
      }
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      try {
        await import(/* @vite-ignore */ file);
        expect(log).toHaveBeenCalled();
      } finally {
        log.mockRestore();
        vi.unstubAllEnvs();
      }
    });
  });
});
