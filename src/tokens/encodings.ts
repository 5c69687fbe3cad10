import type { EncodingName } from '../types.js';
import type { PieceEnd } from './counter.js';
import { cl100kPieceEnd, o200kPieceEnd } from './pretokenize.js';
import type { RawRanks } from './rank-table.js';

/** The encodings tokenbatch counts exactly. */
export const ENCODINGS: readonly EncodingName[] = ['o200k_base', 'cl100k_base'];

/** Each encoding's pre-tokenizer: gpt-tokenizer's split pattern as a scanner. */
export const PIECE_ENDS: Record<EncodingName, PieceEnd> = {
  o200k_base: o200kPieceEnd,
  cl100k_base: cl100kPieceEnd,
};

type RanksModule = RawRanks | { default: RawRanks | { default: RawRanks } };

// Under CommonJS (and some bundlers) the default export of these ESM-compiled modules arrives wrapped once or twice.
function unwrap(module: RanksModule): RawRanks {
  let value: unknown = module;
  for (let i = 0; i < 3 && !Array.isArray(value); i++) value = (value as { default?: unknown }).default;
  if (!Array.isArray(value)) throw new TypeError('tokenizer: the rank table did not load as an array');
  return value as RawRanks;
}

/**
 * Imports an encoding's rank table. Each is its own dynamic import with a literal path, so bundlers
 * put each table in a chunk of its own that only loads when that encoding is used.
 */
export async function importRanks(name: EncodingName): Promise<RawRanks> {
  switch (name) {
    case 'o200k_base':
      return unwrap(await import('gpt-tokenizer/bpeRanks/o200k_base'));
    case 'cl100k_base':
      return unwrap(await import('gpt-tokenizer/bpeRanks/cl100k_base'));
    default:
      throw new RangeError(`tokenizer: unknown encoding "${String(name)}"`);
  }
}

const SPECIFIERS: Record<EncodingName, string> = {
  o200k_base: 'gpt-tokenizer/bpeRanks/o200k_base',
  cl100k_base: 'gpt-tokenizer/bpeRanks/cl100k_base',
};

interface NodeProcess {
  getBuiltinModule?: (id: string) => unknown;
}

/**
 * Loads an encoding's rank table synchronously where the runtime can (Node, through `require`),
 * else returns undefined. The specifier is not a literal `require` call, so bundlers leave it out.
 */
export function requireRanks(name: EncodingName): RawRanks | undefined {
  const process = (globalThis as { process?: NodeProcess }).process;
  const nodeModule = process?.getBuiltinModule?.('node:module') as { createRequire(from: string): (id: string) => unknown } | undefined;
  if (!nodeModule) return undefined;
  // The module's own URL (the package is ESM only): a global `__filename` (as `node -e` defines) is not this file.
  const from = import.meta.url;
  try {
    return unwrap(nodeModule.createRequire(from)(SPECIFIERS[name]) as RanksModule);
  } catch {
    return undefined;
  }
}
