import type { EncodingName, Tokenizer, TokenizerSpec } from '../types.js';
import { ExactCounter } from './counter.js';
import { ENCODINGS, importRanks, requireRanks, PIECE_ENDS } from './encodings.js';
import { buildRankTable, RankTableBuilder } from './rank-table.js';

const nodeBuffer = (globalThis as { Buffer?: { byteLength(text: string, encoding: 'utf8'): number } }).Buffer;

/**
 * The UTF-8 length of `text` in bytes: an upper bound on any byte-level BPE token count, since every
 * such token stands for at least one byte. Hundreds of times cheaper than tokenizing.
 *
 * @example
 * ```ts
 * utf8Length('héllo'); // 6
 * ```
 */
export function utf8Length(text: string): number {
  if (nodeBuffer) return nodeBuffer.byteLength(text, 'utf8');
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code < 0xdc00 && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next < 0xe000) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Texts up to this many code units have their counts remembered (longer ones rarely repeat exactly). */
const MEMO_TEXT_LIMIT = 1024;
/** Slots of each encoding's memo: it holds at most this many texts (at most 4 M code units in all). */
const MEMO_SLOTS = 4096;
/** Ranks added per step of an async load, between yields to the event loop (a few milliseconds each). */
const LOAD_STEP = 16_384;

/** The shared tokenizer of one encoding: loads its rank table on first use, remembers recent counts. */
class EncodingTokenizer implements Tokenizer {
  readonly name: EncodingName;
  #counter: ExactCounter | undefined;
  #loading: Promise<void> | undefined;
  // Recently counted texts: a direct-mapped cache, a text's slot chosen from its length and a few
  // of its characters, so a lookup costs O(1) and a miss never hashes the whole text.
  readonly #memoTexts = new Array<string | undefined>(MEMO_SLOTS);
  readonly #memoCounts = new Int32Array(MEMO_SLOTS);

  constructor(name: EncodingName) {
    this.name = name;
  }

  readonly count = (text: string): number => {
    if (text.length > MEMO_TEXT_LIMIT) return (this.#counter ?? this.#loadNow()).count(text);
    const slot = memoSlot(text);
    if (this.#memoTexts[slot] === text) return this.#memoCounts[slot] as number;
    const counted = (this.#counter ?? this.#loadNow()).count(text);
    this.#memoTexts[slot] = text;
    this.#memoCounts[slot] = counted;
    return counted;
  };

  readonly upperBound = utf8Length;

  /** The exact counter, built now if it is not loaded: the synchronous path of a first count. */
  counter(): ExactCounter {
    return this.#counter ?? this.#loadNow();
  }

  /** Whether the rank table is loaded. */
  get loaded(): boolean {
    return this.#counter !== undefined;
  }

  /** Loads the rank table without blocking the event loop for long: imported, then built in steps. */
  load(): Promise<void> {
    if (this.#counter) return Promise.resolve();
    this.#loading ??= (async () => {
      const builder = new RankTableBuilder(await importRanks(this.name));
      while (!builder.done && !this.#counter) {
        builder.step(LOAD_STEP);
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
      }
      this.#counter ??= new ExactCounter(builder.finish(), PIECE_ENDS[this.name]);
    })();
    this.#loading.catch(() => (this.#loading = undefined));
    return this.#loading;
  }

  #loadNow(): ExactCounter {
    const ranks = requireRanks(this.name);
    if (!ranks) {
      throw new Error(
        `tokenizer ${this.name}: the rank table is not loaded, and this runtime cannot load it synchronously; await preloadTokenizer('${this.name}') before counting`,
      );
    }
    this.#counter = new ExactCounter(buildRankTable(ranks), PIECE_ENDS[this.name]);
    return this.#counter;
  }
}

/** A memo slot for `text`: its length and up to 8 of its characters, spread over it. */
function memoSlot(text: string): number {
  const length = text.length;
  let hash = length;
  const step = (length >> 3) + 1;
  for (let i = 0; i < length; i += step) hash = Math.imul(hash ^ text.charCodeAt(i), 0x9e3779b1);
  hash ^= hash >>> 15;
  return hash & (MEMO_SLOTS - 1);
}

const tokenizers = new Map<EncodingName, EncodingTokenizer>();

function encodingTokenizer(name: EncodingName, caller: string): EncodingTokenizer {
  let tokenizer = tokenizers.get(name);
  if (tokenizer) return tokenizer;
  if (!ENCODINGS.includes(name)) throw new RangeError(`${caller}: unknown encoding "${String(name)}" (expected ${ENCODINGS.join(' or ')})`);
  tokenizer = new EncodingTokenizer(name);
  tokenizers.set(name, tokenizer);
  return tokenizer;
}

/**
 * An exact tokenizer for an OpenAI encoding. Its counts equal gpt-tokenizer's `countTokens`, with
 * special-token strings in the text counted as the ordinary text they are (like tiktoken's
 * `encode_ordinary`): a chat message may well contain `<|endoftext|>`.
 *
 * Each call returns the same instance for the same name, so operators of one chain share its work.
 * Counting is tokenbatch's own: a counting-only byte-pair merge over gpt-tokenizer's rank tables and
 * pre-tokenizer patterns (no token arrays, no strings per merge, long pieces merged through a heap),
 * several times faster than gpt-tokenizer itself, and a bounded memo of recent counts
 * (4,096 texts of up to 1,024 code units) for streams that repeat texts.
 *
 * Getting the tokenizer costs nothing: the encoding's rank table (1–2 MB of JavaScript) loads on the
 * first count. In Node that first count loads it synchronously and blocks the event loop for about
 * 100–300 ms; {@link preloadTokenizer} loads it in the background instead, and in a browser it is
 * required (a browser cannot load the table synchronously, so a count before it throws).
 * One count runs to its end: about 1 MB of CJK text or 4 MB of English per 100 ms on one core.
 *
 * @example
 * ```ts
 * const tokenizer = getTokenizer('o200k_base');
 * tokenizer.count('Hello, world!'); // 4
 * ```
 */
export function getTokenizer(name: EncodingName): Tokenizer {
  return encodingTokenizer(name, 'tokenizer');
}

/**
 * Loads an encoding's rank table in the background and resolves to its tokenizer (the instance
 * {@link getTokenizer} returns), so a live app warms up before its first event and no subscription
 * blocks the event loop. The table is imported on demand (bundlers put each encoding in its own
 * chunk) and indexed in steps of a few milliseconds; only the import's evaluation is one block.
 * Needed before counting in a browser; optional in Node, where the first count otherwise loads it.
 *
 * @example
 * ```ts
 * const tokenizer = await preloadTokenizer('o200k_base');
 * tokenizer.count('warm already'); // exact, no load on the event loop now
 * ```
 */
export async function preloadTokenizer(name: EncodingName): Promise<Tokenizer> {
  const tokenizer = encodingTokenizer(name, 'preloadTokenizer');
  await tokenizer.load();
  return tokenizer;
}

/** The exact counter behind an encoding's tokenizer, for tokenbatch's own chunking; undefined for other tokenizers. */
export function exactCounterOf(tokenizer: Tokenizer): ExactCounter | undefined {
  return tokenizer instanceof EncodingTokenizer ? tokenizer.counter() : undefined;
}

/**
 * Turns the `tokenizer` option of an operator into a {@link Tokenizer}.
 *
 * @param spec - a Tokenizer, a `(text) => number` function, or an encoding name
 * @param option - the option's name, for the error message
 *
 * @example
 * ```ts
 * resolveTokenizer('cl100k_base').count('hi'); // 1
 * resolveTokenizer((text) => text.length).count('hi'); // 2
 * ```
 */
export function resolveTokenizer(spec: TokenizerSpec | undefined, option = 'tokenizer'): Tokenizer {
  if (spec === undefined) return getTokenizer('o200k_base');
  if (typeof spec === 'string') {
    return encodingTokenizer(spec, option);
  }
  if (typeof spec === 'function') return { name: spec.name || 'custom', count: spec };
  if (spec && typeof spec === 'object' && typeof spec.count === 'function') return spec;
  throw new TypeError(`${option}: expected a Tokenizer, a (text) => number function or an encoding name`);
}
