/**
 * Exact token counting: tokenbatch's counter (getTokenizer) against gpt-tokenizer with its merge
 * cache off (what tokenbatch used before) and on (gpt-tokenizer's default), per kind of text, on the
 * mixed bench corpus (plain counting and bufferByTokens with a token-only budget), exactness on both
 * encodings, and chunking of 1, 4 and 10 MB items (total time against one count, longest step).
 *
 * Every contender counts the same texts. Each round uses a fresh corpus (another seed), so no text
 * repeats between rounds and no count memo replays a previous round; caches of pieces (gpt-tokenizer's
 * merge cache, tokenbatch's piece memo) warm up on a corpus of their own first, as in a long-lived stream.
 */
import { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import cl100kRanks from 'gpt-tokenizer/bpeRanks/cl100k_base';
import o200kRanks from 'gpt-tokenizer/bpeRanks/o200k_base';
import { from } from 'rxjs';
import { bufferByTokens, getTokenizer, utf8Length, type Tokenizer } from '../../src/index.js';
import { chunkTextLazily } from '../../src/internal/splitting.js';
import type { EncodingName } from '../../src/types.js';
import { corpusMegabytes, createRandom, makeCorpus, TEXT_KINDS, type TextKind } from '../corpus.js';
import type { BenchOptions, BenchResult, BenchRow, Scenario } from '../harness.js';

/** Options of this scenario beyond the harness's: the test suite shrinks the input further. */
export interface CountingBenchOptions extends BenchOptions {
  /** Items per kind and round. Default 2,000, or 200 with `quick`. */
  items?: number;
  /** Rounds (each on a fresh corpus; the best counts). Default 5, or 1 with `quick`. */
  rounds?: number;
  /** Chunked item sizes in MB. Default [1, 4, 10], or [0.05] with `quick`. */
  chunkMegabytes?: readonly number[];
}

const ORDINARY = { disallowedSpecial: new Set<string>() };

/**
 * CPU time of this process in milliseconds: on a shared machine, wall time also counts the time
 * other processes held the cores, and the contenders would be timed under different loads.
 */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** gpt-tokenizer as a Tokenizer, its merge cache on or off (a private instance each). */
function gptTokenizer(name: EncodingName, cache: boolean): Tokenizer {
  const api = GptEncoding.getEncodingApi(name, () => (name === 'o200k_base' ? o200kRanks : cl100kRanks));
  if (!cache) api.setMergeCacheSize(0);
  return { name: `gpt-tokenizer ${name} (merge cache ${cache ? 'on' : 'off'})`, count: (text) => api.countTokens(text, ORDINARY), upperBound: utf8Length };
}

/** Word-repetitive English: half common short words, half longer words that take several tokens. */
const COMMON =
  'the of and to in is it you that was for on are with as be at one have this from or had by not word but what some we can out other were all there when up use your how said an each she which do their time if will way about many then them write would like so these her long make thing see him two has look more day could go come did number sound no most people my over know water than call first who may down side been now find'.split(
    ' ',
  );
const LONG =
  'infrastructure reconciliation idempotency throughput serialization backpressure heuristics misconfiguration observability reimbursement subscription authentication authorization deduplication orchestration throttling provisioning acknowledgement interoperability extraordinary simultaneously approximately circumstances unprecedented discrepancy questionnaire vulnerability accessibility'.split(
    ' ',
  );

function wordsCorpus(seed: number, items: number): string[] {
  const random = createRandom(seed);
  return Array.from({ length: items }, () => {
    const words: string[] = [];
    for (let n = random.int(10, 80); n > 0; n--) words.push(random.chance(0.5) ? random.pick(COMMON) : random.pick(LONG));
    return `${words.join(' ')}.`;
  });
}

type Kind = TextKind | 'words' | 'mixed';
const KINDS: readonly Kind[] = ['words', ...TEXT_KINDS, 'mixed'];
const KIND_LABELS: Record<Kind, string> = {
  words: 'word-repetitive English',
  prose: 'English prose',
  code: 'code',
  log: 'JSON logs',
  cjk: 'CJK',
  chat: 'emoji chat',
  mixed: 'bench corpus (default mix)',
};

/** Texts as they arrive from JSON (flat strings), so no contender pays for another's string flattening. */
function corpusOf(kind: Kind, seed: number, items: number): string[] {
  const texts = kind === 'words' ? wordsCorpus(seed, items) : makeCorpus(kind === 'mixed' ? { seed, items } : { seed, items, mix: { [kind]: 1 } });
  return JSON.parse(JSON.stringify(texts)) as string[];
}

function countAll(tokenizer: Tokenizer, texts: readonly string[]): number {
  let total = 0;
  for (const text of texts) total += tokenizer.count(text);
  return total;
}

function batchAll(tokenizer: Tokenizer, texts: readonly string[]): number {
  let batches = 0;
  from(texts)
    .pipe(bufferByTokens<string>({ maxTokens: 8000, tokenizer }))
    .subscribe(() => batches++);
  return batches;
}

/** Runs the scenario. Exported with its extra options for the test suite. */
export async function runCounting(options: CountingBenchOptions): Promise<BenchResult> {
  const items = options.items ?? (options.quick ? 200 : 2000);
  const rounds = options.rounds ?? (options.quick ? 1 : 5);
  const chunkSizes = options.chunkMegabytes ?? (options.quick ? [0.05] : [1, 4, 10]);
  const ours = getTokenizer('o200k_base');
  const off = gptTokenizer('o200k_base', false);
  const on = gptTokenizer('o200k_base', true);
  const rows: BenchRow[] = [];
  const notes: string[] = [];

  // Warm-up: loads the tables, compiles, and fills the piece caches on a corpus of its own.
  for (const kind of KINDS) {
    const warm = corpusOf(kind, 1000, Math.min(items, 300));
    for (const tokenizer of [ours, off, on]) countAll(tokenizer, warm);
  }

  for (const [k, kind] of KINDS.entries()) {
    const contenders: { name: string; run: (texts: readonly string[]) => number; ms: number }[] = [
      { name: 'gpt-tokenizer, merge cache off', run: (texts) => countAll(off, texts), ms: Number.POSITIVE_INFINITY },
      { name: 'gpt-tokenizer, merge cache on', run: (texts) => countAll(on, texts), ms: Number.POSITIVE_INFINITY },
      { name: 'tokenbatch getTokenizer', run: (texts) => countAll(ours, texts), ms: Number.POSITIVE_INFINITY },
    ];
    if (kind === 'mixed') {
      contenders.push(
        { name: 'bufferByTokens 8000 tok, gpt-tokenizer (cache off)', run: (texts) => batchAll(off, texts), ms: Number.POSITIVE_INFINITY },
        { name: 'bufferByTokens 8000 tok, tokenbatch', run: (texts) => batchAll(ours, texts), ms: Number.POSITIVE_INFINITY },
      );
    }
    let megabytes = 0;
    // Rounds use corpora of the same size and mix; the best round of each contender counts.
    for (let round = 0; round < rounds; round++) {
      // Each contender gets its own copy of the round's corpus: equal texts, no shared strings.
      const seed = 100 * (k + 1) + round;
      for (let c = 0; c < contenders.length; c++) {
        // Rotate the order from round to round, so drift (GC, heat) spreads over all contenders.
        const contender = contenders[(c + round) % contenders.length] as (typeof contenders)[number];
        // The bufferByTokens rows count texts of their own: the two tokenbatch rows share one
        // tokenizer, whose memo would otherwise replay the other row's counts.
        const batching = contender.name.startsWith('bufferByTokens');
        const texts = corpusOf(kind, batching ? seed + 50 : seed, items);
        if (!batching && round === 0) megabytes = corpusMegabytes(texts);
        const start = cpuMs();
        contender.run(texts);
        contender.ms = Math.min(contender.ms, cpuMs() - start);
      }
    }
    const [offRow, onRow] = contenders as [(typeof contenders)[number], (typeof contenders)[number]];
    const fasterGpt = Math.min(offRow.ms, onRow.ms);
    for (const contender of contenders) {
      const batching = contender.name.startsWith('bufferByTokens');
      rows.push({
        name: contender.name,
        text: KIND_LABELS[kind],
        'items/s': Math.round(items / (contender.ms / 1000)),
        'MB/s': megabytes / (contender.ms / 1000),
        'vs cache off': batching ? (contenders[3] as (typeof contenders)[number]).ms / contender.ms : offRow.ms / contender.ms,
        'vs faster gpt': batching ? null : fasterGpt / contender.ms,
        goal:
          contender.name === 'tokenbatch getTokenizer'
            ? kind === 'mixed'
              ? '>= 5x off, >= 2x faster'
              : '>= 2x faster'
            : contender.name === 'bufferByTokens 8000 tok, tokenbatch'
              ? '>= 5x off'
              : '',
      });
    }
  }

  // Exactness on both encodings: the mixed corpus and every kind, against gpt-tokenizer.
  for (const name of ['o200k_base', 'cl100k_base'] as const) {
    const reference = gptTokenizer(name, false);
    const tokenizer = getTokenizer(name);
    let compared = 0;
    let mismatches = 0;
    for (const kind of KINDS) {
      for (const text of corpusOf(kind, 77, items)) {
        compared++;
        if (tokenizer.count(text) !== reference.count(text)) mismatches++;
      }
    }
    notes.push(`exactness ${name}: ${compared.toLocaleString('en-US')} texts compared with gpt-tokenizer, ${mismatches} mismatches`);
    if (mismatches > 0) throw new Error(`counting: ${mismatches} counts differ from gpt-tokenizer's (${name})`);
  }

  // Chunking: one long item of mixed text, budget 4,000 tokens, overlap 100, consumed chunk by chunk.
  for (const size of chunkSizes) {
    const parts: string[] = [];
    let length = 0;
    for (let seed = 500; length < size * 1e6; seed++) {
      for (const text of makeCorpus({ seed, items: 200 })) {
        parts.push(text);
        length += utf8Length(text) + 1;
      }
    }
    const text = parts.join('\n');
    const start = cpuMs();
    const once = countAll(ours, [text]);
    const countMs = cpuMs() - start;
    let chunks = 0;
    let longestStep = 0;
    const chunking = cpuMs();
    const lazy = chunkTextLazily(text, 4000, 100, ours);
    for (;;) {
      const stepStart = cpuMs();
      const next = lazy.next();
      longestStep = Math.max(longestStep, cpuMs() - stepStart);
      if (next.done) break;
      chunks++;
    }
    const chunkMs = cpuMs() - chunking;
    rows.push({
      name: `chunkText ${size} MB item (4,000-token chunks, overlap 100)`,
      text: `${(utf8Length(text) / 1e6).toFixed(2)} MB, ${once.toLocaleString('en-US')} tokens`,
      'chunk ms': chunkMs,
      'count ms': countMs,
      'chunk / count': chunkMs / countMs,
      chunks,
      'longest step ms': longestStep,
      goal: 'linear, steps < 50 ms',
    });
  }

  notes.push(
    `${items.toLocaleString('en-US')} items per kind and round, ${rounds} round(s), each on a fresh corpus; o200k_base; times are this process's CPU time (user + system), best round of each contender`,
    '"vs faster gpt": against the faster of gpt-tokenizer with its merge cache on or off for that kind of text',
    'bufferByTokens rows: token-only budget (maxTokens 8,000), both with the UTF-8 length as upper bound',
    'chunk rows: the item is chunked with chunkTextLazily (one chunk per next()); "longest step" is the longest next() call',
  );
  return { scenario: 'counting', title: 'Exact token counting against gpt-tokenizer', rows, notes };
}

/**
 * The scenario as the harness runs it.
 *
 * @example
 * ```ts
 * const result = await counting.run({ quick: true, items: 50, chunkMegabytes: [0.01] });
 * ```
 */
export const counting: Scenario & { run(options: CountingBenchOptions): Promise<BenchResult> } = {
  name: 'counting',
  run: runCounting,
};
