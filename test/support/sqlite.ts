import { createRequire } from 'node:module';

/**
 * Whether better-sqlite3's native addon loads in this Node.js: it is built for the Node.js that ran
 * `npm ci`, so the suite's legs on other Node.js versions skip the SQLite cache tests (with a note).
 */
export const sqliteLoads: boolean = (() => {
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => { close(): void };
    new Database(':memory:').close();
    return true;
  } catch (error) {
    console.warn(`better-sqlite3 does not load in Node ${process.version} (${String(error).split('\n')[0]}): the SQLite cache tests are skipped`);
    return false;
  }
})();
