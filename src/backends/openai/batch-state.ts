import type * as FsPromises from 'node:fs/promises';

/**
 * What a batch job remembers between runs: the batches it submitted and the requests in each, so
 * that a restarted job re-attaches to them instead of submitting (and paying for) them again.
 *
 * @example
 * ```ts
 * const state: BatchJobState = { version: 1, batches: [{ id: 'batch_abc', inputFileId: 'file-1', customIds: ['tb-0f3a'] }] };
 * ```
 */
export interface BatchJobState {
  readonly version: 1;
  readonly batches: readonly { readonly id: string; readonly inputFileId: string; readonly customIds: readonly string[] }[];
}

/**
 * Where a batch job keeps its {@link BatchJobState}: a JSON file ({@link batchJobFileStore}), or
 * anything with these two methods (a database row, a Redis key).
 *
 * @example
 * ```ts
 * let saved: BatchJobState | undefined;
 * const memory: BatchJobStore = { load: async () => saved, save: async (state) => void (saved = state) };
 * ```
 */
export interface BatchJobStore {
  /** The saved state, or `undefined` when there is none yet. */
  load(): Promise<BatchJobState | undefined>;
  /** Replaces the saved state. Calls are not concurrent: each waits for the previous one. */
  save(state: BatchJobState): Promise<void>;
}

/**
 * A {@link BatchJobStore} in a JSON file (Node.js only). Saves write a temporary file and rename
 * it over the old one, so that a crash mid-save leaves the previous state whole.
 *
 * @example
 * ```ts
 * import { batchJobFileStore, openAIBatchJob } from 'tokenbatch/openai';
 * const job = openAIBatchJob({ model: 'gpt-4o-mini', prompt: 'Label each ticket.', store: batchJobFileStore('labels.batch-state.json') });
 * ```
 */
export function batchJobFileStore(path: string): BatchJobStore {
  if (typeof path !== 'string' || path === '') throw new TypeError('batchJobFileStore: path: expected a non-empty string');
  // Imported when used, and by a name bundlers do not follow, so that tokenbatch/openai still
  // bundles for browsers (where only a `store` of one's own applies).
  const specifier = 'node:fs/promises';
  const fs = (): Promise<typeof FsPromises> => import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);
  return {
    async load() {
      let text: string;
      try {
        text = await (await fs()).readFile(path, 'utf8');
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
        throw error;
      }
      return checkState(JSON.parse(text), path);
    },
    async save(state) {
      const { writeFile, rename } = await fs();
      const temporary = `${path}.${Date.now().toString(36)}.tmp`;
      await writeFile(temporary, `${JSON.stringify(state)}\n`);
      await rename(temporary, path);
    },
  };
}

/** Checks a loaded state's shape: a wrong file is an error, never a silent fresh start. */
export function checkState(value: unknown, where: string): BatchJobState {
  const state = value as Partial<BatchJobState> | null;
  const valid =
    typeof state === 'object' &&
    state !== null &&
    state.version === 1 &&
    Array.isArray(state.batches) &&
    state.batches.every((batch) => typeof batch?.id === 'string' && typeof batch.inputFileId === 'string' && Array.isArray(batch.customIds));
  if (!valid) throw new TypeError(`openAIBatchJob: ${where} is not a batch job state (version 1)`);
  return state as BatchJobState;
}
