/**
 * A deterministic corpus of realistic stream items for the benchmarks: English prose, source code,
 * JSON log lines, CJK text and emoji-heavy chat, with log-normal lengths.
 *
 * Every item is assembled from word lists and templates with random choices, so items do not repeat
 * and a tokenizer's caches cannot make a run look faster than real traffic would. The same options
 * always give the same corpus, and a shorter corpus is a prefix of a longer one with the same seed.
 */

/** The kinds of text the corpus mixes. */
export type TextKind = 'prose' | 'code' | 'log' | 'cjk' | 'chat';

/** Every {@link TextKind}, in a fixed order. */
export const TEXT_KINDS: readonly TextKind[] = ['prose', 'code', 'log', 'cjk', 'chat'];

/**
 * The default share of each kind: mostly Latin-script text, with a fifth of multi-byte scripts.
 *
 * @example
 * ```ts
 * makeCorpus({ seed: 1, items: 100, mix: { ...DEFAULT_MIX, cjk: 0 } }); // the default mix without CJK
 * ```
 */
export const DEFAULT_MIX: Readonly<Record<TextKind, number>> = { prose: 0.3, code: 0.2, log: 0.2, cjk: 0.15, chat: 0.15 };

/**
 * Item lengths in UTF-16 code units: log-normal around `median`, clamped to `[min, max]`.
 *
 * @example
 * ```ts
 * const short: LengthOptions = { median: 80, sigma: 0.5, min: 20, max: 400 };
 * ```
 */
export interface LengthOptions {
  /** Median length before clamping. Default 200. */
  median?: number;
  /** Standard deviation of the length's natural logarithm. Default 1. */
  sigma?: number;
  /** Shortest item. Default 20. */
  min?: number;
  /** Longest item. Default 8,000. */
  max?: number;
}

/**
 * Options of {@link makeCorpus} and {@link makeCorpusItems}.
 *
 * @example
 * ```ts
 * const options: CorpusOptions = { seed: 7, items: 20_000, mix: { prose: 1, chat: 1 }, nearDuplicates: 0.1 };
 * ```
 */
export interface CorpusOptions {
  /** Seed of the generator: equal seeds give equal corpora. Any integer. */
  seed: number;
  /** Number of items, >= 0. */
  items: number;
  /**
   * Relative weight of each kind; kinds left out get weight 0. Default {@link DEFAULT_MIX}.
   * Weights need not sum to 1, but at least one must be > 0.
   */
  mix?: Partial<Record<TextKind, number>>;
  /** Item lengths. Default: median 200, sigma 1, clamped to 20..8,000. */
  length?: LengthOptions;
  /**
   * Share of items (0 to < 1) that are a lightly edited copy of an earlier item: a changed digit,
   * word, letter case or spacing, as when the same event is reported twice. For dedupe scenarios;
   * default 0.
   */
  nearDuplicates?: number;
}

/**
 * One corpus item with how it was made, for scenarios that need the ground truth (for example
 * which items are near-duplicates of which).
 *
 * @example
 * ```ts
 * const [first] = makeCorpusItems({ seed: 1, items: 1 });
 * console.log(first.kind, first.text.length, first.duplicateOf); // e.g. 'prose' 231 undefined
 * ```
 */
export interface CorpusItem {
  readonly text: string;
  readonly kind: TextKind;
  /** For a near-duplicate: the index of the item it was copied from (never itself a copy). */
  readonly duplicateOf?: number;
}

/**
 * A small seeded pseudo-random generator (mulberry32): fast, good enough for test data, and the
 * same sequence on every platform.
 *
 * @example
 * ```ts
 * const random = createRandom(42);
 * random.int(1, 6); // a die roll, the same one for every run with seed 42
 * ```
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** A uniformly chosen element of a non-empty list. */
  pick<T>(list: readonly T[]): T;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** Standard normal (mean 0, deviation 1). */
  normal(): number;
}

/**
 * Creates a {@link Random} from a seed.
 *
 * @example
 * ```ts
 * const a = createRandom(1), b = createRandom(1);
 * a.next() === b.next(); // true
 * ```
 */
export function createRandom(seed: number): Random {
  if (!Number.isInteger(seed)) throw new RangeError(`seed: expected an integer, got ${seed}`);
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(list: readonly T[]): T => {
      if (list.length === 0) throw new RangeError('pick: empty list');
      return list[Math.floor(next() * list.length)] as T;
    },
    chance: (p) => next() < p,
    normal: () => {
      // Box-Muller; 1 - next() keeps the logarithm's argument in (0, 1].
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
  };
}

/**
 * Generates a corpus of texts. Deterministic: the same options give the same texts, and the first
 * `k` items do not depend on `items` (a 2,000-item corpus is a prefix of the 20,000-item one).
 *
 * @example
 * ```ts
 * const items = makeCorpus({ seed: 42, items: 20_000 });
 * console.log(items.length, corpusMegabytes(items).toFixed(1), 'MB');
 * ```
 */
export function makeCorpus(options: CorpusOptions): string[] {
  return makeCorpusItems(options).map((item) => item.text);
}

/**
 * Like {@link makeCorpus}, with each item's kind and, for near-duplicates, its original.
 *
 * @example
 * ```ts
 * const items = makeCorpusItems({ seed: 3, items: 1000, nearDuplicates: 0.2 });
 * const copies = items.filter((item) => item.duplicateOf !== undefined).length; // about 200
 * ```
 */
export function makeCorpusItems(options: CorpusOptions): CorpusItem[] {
  const { seed, count, kinds, weights, length, nearDuplicates } = parseOptions(options);
  const random = createRandom(seed);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const out: CorpusItem[] = [];
  for (let i = 0; i < count; i++) {
    if (nearDuplicates > 0 && i > 0 && random.chance(nearDuplicates)) {
      let original = random.int(0, i - 1);
      original = out[original]?.duplicateOf ?? original;
      const source = out[original] as CorpusItem;
      out.push({ text: nearCopy(random, source.text, length), kind: source.kind, duplicateOf: original });
      continue;
    }
    let roll = random.next() * total;
    let kind = kinds[kinds.length - 1] as TextKind;
    for (let k = 0; k < kinds.length; k++) {
      roll -= weights[k] as number;
      if (roll < 0) {
        kind = kinds[k] as TextKind;
        break;
      }
    }
    const target = Math.round(Math.min(length.max, Math.max(length.min, Math.exp(Math.log(length.median) + length.sigma * random.normal()))));
    out.push({ text: build(target, length.min, GENERATORS[kind](random)), kind });
  }
  return out;
}

/**
 * Total UTF-8 size of a corpus in bytes.
 *
 * @example
 * ```ts
 * corpusBytes(['héllo', 'ok']); // 8
 * ```
 */
export function corpusBytes(items: readonly string[]): number {
  let bytes = 0;
  for (const item of items) bytes += Buffer.byteLength(item, 'utf8');
  return bytes;
}

/**
 * Total UTF-8 size of a corpus in megabytes (10^6 bytes), for MB/s figures.
 *
 * @example
 * ```ts
 * const mbPerSecond = corpusMegabytes(items) / (elapsedMs / 1000);
 * ```
 */
export function corpusMegabytes(items: readonly string[]): number {
  return corpusBytes(items) / 1e6;
}

interface ParsedOptions {
  seed: number;
  count: number;
  kinds: TextKind[];
  weights: number[];
  length: Required<LengthOptions>;
  nearDuplicates: number;
}

function parseOptions(options: CorpusOptions): ParsedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('makeCorpus: expected an options object');
  const { seed, items, mix = DEFAULT_MIX, length = {}, nearDuplicates = 0 } = options;
  if (!Number.isInteger(seed)) throw new RangeError(`seed: expected an integer, got ${String(seed)}`);
  if (!Number.isInteger(items) || items < 0) throw new RangeError(`items: expected a whole number >= 0, got ${String(items)}`);
  const kinds: TextKind[] = [];
  const weights: number[] = [];
  for (const [kind, weight] of Object.entries(mix)) {
    if (!(TEXT_KINDS as readonly string[]).includes(kind)) throw new RangeError(`mix: unknown kind "${kind}" (expected ${TEXT_KINDS.join(', ')})`);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) throw new RangeError(`mix.${kind}: expected a number >= 0, got ${String(weight)}`);
    if (weight > 0) {
      kinds.push(kind as TextKind);
      weights.push(weight);
    }
  }
  if (kinds.length === 0) throw new RangeError('mix: at least one kind needs a weight > 0');
  const min = length.min ?? 20;
  const max = length.max ?? 8000;
  const median = length.median ?? 200;
  const sigma = length.sigma ?? 1;
  if (!Number.isInteger(min) || min < 1) throw new RangeError(`length.min: expected a whole number >= 1, got ${min}`);
  if (!Number.isInteger(max) || max < min) throw new RangeError(`length.max: expected a whole number >= length.min (${min}), got ${max}`);
  if (!(median > 0) || !Number.isFinite(median)) throw new RangeError(`length.median: expected a number > 0, got ${median}`);
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new RangeError(`length.sigma: expected a number >= 0, got ${sigma}`);
  if (typeof nearDuplicates !== 'number' || !(nearDuplicates >= 0 && nearDuplicates < 1)) {
    throw new RangeError(`nearDuplicates: expected a number in [0, 1), got ${String(nearDuplicates)}`);
  }
  return { seed, count: items, kinds, weights, length: { min, max, median, sigma }, nearDuplicates };
}

/**
 * Appends pieces until the text reaches `target`, then cuts it back: at the last piece boundary
 * when that keeps most of the text (items end on whole sentences, lines or messages), else at
 * `target` itself, never inside a surrogate pair.
 */
function build(target: number, min: number, piece: () => string): string {
  let text = '';
  let boundary = 0;
  while (text.length < target) {
    boundary = text.length;
    text += piece();
  }
  if (text.length === target) return text;
  if (boundary >= Math.max(min, target * 0.75)) {
    const whole = text.slice(0, boundary).trimEnd();
    if (whole.length >= min) return whole;
  }
  return cut(text, target, min);
}

/** `text` cut to `end` code units, never leaving half a surrogate pair, and never below `min`. */
function cut(text: string, end: number, min: number): string {
  const last = text.charCodeAt(end - 1);
  if (!isHighSurrogate(last)) return text.slice(0, end);
  if (end - 1 >= min) return text.slice(0, end - 1);
  return `${text.slice(0, end - 1)}?`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code < 0xdc00;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code < 0xe000;
}

/** A lightly edited copy of `text`, within the length bounds and never equal to it. */
function nearCopy(random: Random, text: string, length: Required<LengthOptions>): string {
  let copy = text;
  // Edits can cancel out, or fall past `max` and be cut off: edit again until the copy differs.
  for (let edits = random.int(1, 3); edits > 0 || copy === text; edits--) {
    copy = edit(random, copy);
    if (copy.length > length.max) copy = cut(copy, length.max, length.min);
  }
  return copy;
}

function edit(random: Random, text: string): string {
  let at = random.int(0, text.length - 1);
  // Never edit between the halves of a surrogate pair.
  if (isLowSurrogate(text.charCodeAt(at))) at--;
  const char = text[at] as string;
  switch (random.int(0, 3)) {
    case 0: {
      // Change or insert a digit (a counter, a timestamp, an id).
      const digit = String(random.int(0, 9));
      return /[0-9]/.test(char) ? text.slice(0, at) + digit + text.slice(at + 1) : text.slice(0, at) + digit + text.slice(at);
    }
    case 1:
      // Flip the case of a letter, else widen a space, else add one.
      if (/[a-z]/i.test(char)) return text.slice(0, at) + (char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase()) + text.slice(at + 1);
      if (text.includes(' ')) return text.replace(' ', '  ');
      return `${text.slice(0, at)} ${text.slice(at)}`;
    case 2:
      return `${random.pick(['Re: ', 'Fwd: ', '[retry] ', 'UPDATE: ', '> '])}${text}`;
    default:
      return `${text}${random.pick([' (edited)', '!', ' thanks', ' again', '.', ' 🙏'])}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Word lists and templates.

const COMMON = `the of and to in is that for it as was with be by on not he this are or his from at which but have an they
you were her she there been one all we their has would when if so what no more out up into do will about than them can only
other new some could time these two may first then any like now my such make over our even most me state after also made
many did must before back see through way where get much go well your know should down work year because come people just
say each those take day good how long own too little use us very great still men here life both between old under last
never place same another think house while high right might came off find states since used give against three himself
look few general hand school part small american home during number again mrs point government something united however
world system often set order around every public case early group early report market result service customer account
payment order delivery issue request support team update release version feature problem question answer message data`.split(/\s+/);

const RARE = `infrastructure reconciliation idempotency throughput latency serialization backpressure heuristics
misconfiguration observability quarterly reimbursement subscription authentication authorization deduplication
orchestration throttling migration provisioning acknowledgement interoperability extraordinary nevertheless
simultaneously approximately circumstances photosynthesis kaleidoscope bureaucracy entrepreneurial
hypothetically unprecedented discrepancy questionnaire vulnerability accessibility pseudonymous`.split(/\s+/);

const NAMES = `Alice Bob Carol Dmitri Emeka Fatima Guillermo Hana Ingrid Jamal Keiko Lars Mei Nikolai Olga Priya Quentin
Rosa Sven Tomasz Uma Viktor Wen Ximena Yusuf Zara Acme Globex Initech Umbrella Hooli Stark Wayne Contoso Fabrikam Northwind
Berlin Lagos Osaka Lima Toronto Nairobi Mumbai Oslo Austin Seoul Dublin Monday Tuesday Friday January March October`.split(/\s+/);

const OPENERS = ['However,', 'In practice,', 'Meanwhile,', 'As expected,', 'Surprisingly,', 'According to the report,', 'Last week,', 'For now,'];

function word(random: Random): string {
  const roll = random.next();
  if (roll < 0.78) return random.pick(COMMON);
  if (roll < 0.88) return random.pick(RARE);
  if (roll < 0.95) return random.pick(NAMES);
  if (roll < 0.98) return String(random.int(0, roll < 0.965 ? 100 : 1_000_000));
  return `${random.int(1, 28)}/${random.int(1, 12)}/${random.int(1990, 2030)}`;
}

function sentence(random: Random): string {
  const words: string[] = [];
  const count = random.int(4, 24);
  if (random.chance(0.15)) words.push(random.pick(OPENERS));
  for (let i = 0; i < count; i++) {
    let next = word(random);
    if (i > 2 && i < count - 2 && random.chance(0.08)) next += ',';
    if (random.chance(0.03)) next = `"${next}"`;
    words.push(next);
  }
  const first = words[0] as string;
  words[0] = first.charAt(0).toUpperCase() + first.slice(1);
  return `${words.join(' ')}${random.pick(['.', '.', '.', '.', '?', '!', '...'])}`;
}

/** English sentences in paragraphs. */
function prose(random: Random): () => string {
  return () => `${sentence(random)}${random.chance(0.2) ? '\n\n' : ' '}`;
}

const IDENT_PARTS = `user order item cache key value count total index buffer batch token limit queue retry timeout
config request response handler result error state next prev node tree list map set stream event payload id name
start end size offset page cursor client server worker job task schedule lock`.split(/\s+/);

function identifier(random: Random, style: 'camel' | 'snake'): string {
  const parts = Array.from({ length: random.int(1, 3) }, () => random.pick(IDENT_PARTS));
  if (style === 'snake') return parts.join('_');
  return parts.map((part, i) => (i === 0 ? part : part.charAt(0).toUpperCase() + part.slice(1))).join('');
}

function literal(random: Random): string {
  const roll = random.int(0, 5);
  if (roll === 0) return String(random.int(0, 10_000));
  if (roll === 1) return `'${sentence(random).slice(0, random.int(5, 40))}'`;
  if (roll === 2) return random.pick(['true', 'false', 'null', 'undefined', 'None', '[]', '{}']);
  if (roll === 3) return (random.next() * 100).toFixed(random.int(1, 4));
  return identifier(random, random.chance(0.5) ? 'camel' : 'snake');
}

function codeLine(random: Random, python: boolean): string {
  const style = python ? 'snake' : 'camel';
  const a = identifier(random, style);
  const b = identifier(random, style);
  const templates = python
    ? [
        () => `${a} = ${literal(random)}`,
        () => `if ${a} ${random.pick(['==', '>', '<=', 'is not', 'in'])} ${literal(random)}:`,
        () => `for ${a} in ${b}:`,
        () => `return ${b}(${a}, ${literal(random)})`,
        () => `# ${sentence(random)}`,
        () => `${a}.append(${b}[${random.int(0, 9)}])`,
        () => `raise ValueError(f"bad ${a}: {${b}!r}")`,
        () => `def ${a}(${b}, ${identifier(random, style)}=${literal(random)}):`,
      ]
    : [
        () => `const ${a} = ${literal(random)};`,
        () => `if (${a} ${random.pick(['===', '>', '<=', '!==', '&&'])} ${literal(random)}) {`,
        () => `for (const ${a} of ${b}) {`,
        () => `return ${b}(${a}, ${literal(random)});`,
        () => `// ${sentence(random)}`,
        () => `${a}.push(${b}[${random.int(0, 9)}]);`,
        () => `throw new Error(\`bad ${a}: \${${b}}\`);`,
        () => `export async function ${a}(${b}: ${random.pick(['string', 'number', 'Item[]', 'Map<string, number>', 'unknown'])}) {`,
      ];
  return random.pick(templates)();
}

/** Source code in a TypeScript-like or Python-like style, with nesting that opens and closes. */
function code(random: Random): () => string {
  const python = random.chance(0.4);
  const unit = python ? '    ' : '  ';
  let depth = 0;
  return () => {
    if (depth > 0 && random.chance(python ? 0.2 : 0.25)) {
      depth--;
      return python ? '\n' : `${unit.repeat(depth)}}\n`;
    }
    const line = codeLine(random, python);
    const out = `${unit.repeat(depth)}${line}\n`;
    if (/[{:]$/.test(line) && depth < 5) depth++;
    return out;
  };
}

const SERVICES = ['checkout', 'auth', 'search', 'billing', 'gateway', 'notifier', 'ingest', 'scheduler', 'inventory'];
const LEVELS = ['debug', 'info', 'info', 'info', 'warn', 'error'];
const HTTP_PATHS = ['/v1/orders', '/v1/users/{id}', '/api/search', '/healthz', '/v2/payments/refund', '/graphql', '/v1/batches'];
const HEX = '0123456789abcdef';

function hex(random: Random, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += HEX[random.int(0, 15)];
  return out;
}

/** JSON log lines, one record a line. */
function log(random: Random): () => string {
  return () => logLine(random);
}

function logLine(random: Random): string {
  const record: Record<string, unknown> = {
    ts: new Date(Date.UTC(2025, random.int(0, 11), random.int(1, 28), random.int(0, 23), random.int(0, 59), random.int(0, 59), random.int(0, 999))).toISOString(),
    level: random.pick(LEVELS),
    service: random.pick(SERVICES),
    msg: sentence(random).slice(0, random.int(12, 90)),
    trace_id: hex(random, 32),
  };
  if (random.chance(0.6)) {
    record.http = { method: random.pick(['GET', 'POST', 'PUT', 'DELETE']), path: random.pick(HTTP_PATHS), status: random.pick([200, 200, 201, 204, 400, 404, 429, 500, 503]) };
  }
  if (random.chance(0.7)) record.latency_ms = Math.round(random.next() * 250_000) / 100;
  if (random.chance(0.5)) record.user_id = random.int(1, 9_999_999);
  if (random.chance(0.2)) record.tags = Array.from({ length: random.int(1, 4) }, () => random.pick(IDENT_PARTS));
  if (random.chance(0.1)) record.error = { type: random.pick(['TimeoutError', 'ECONNRESET', 'ValidationError']), retries: random.int(0, 5) };
  return `${JSON.stringify(record)}\n`;
}

// Common hanzi (roughly by frequency), kana and hangul jamo for CJK text.
const HANZI = `的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好
都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明
其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产
入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界
及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队`.replace(/\s+/g, '');
const HIRAGANA = 'あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんがぎぐげござじずぜぞだでどばびぶべぼ';
const KATAKANA_WORDS = ['データ', 'サーバー', 'ユーザー', 'メッセージ', 'テスト', 'システム', 'エラー', 'バッチ', 'トークン', 'リクエスト', 'コード', 'ネットワーク'];
const CJK_PUNCT = ['，', '、', '。', '！', '？', '：', '「', '」'];

function cjkWord(random: Random, script: 'zh' | 'ja' | 'ko'): string {
  if (script === 'ko') {
    // A Hangul syllable block is composed arithmetically: 19 initials x 21 medials x 28 finals.
    let syllables = '';
    for (let i = random.int(1, 4); i > 0; i--) {
      syllables += String.fromCharCode(0xac00 + (random.int(0, 18) * 21 + random.int(0, 20)) * 28 + (random.chance(0.5) ? 0 : random.int(1, 27)));
    }
    return syllables;
  }
  if (script === 'ja' && random.chance(0.5)) {
    if (random.chance(0.25)) return random.pick(KATAKANA_WORDS);
    let kana = '';
    for (let i = random.int(1, 4); i > 0; i--) kana += HIRAGANA[random.int(0, HIRAGANA.length - 1)];
    return kana;
  }
  let hanzi = '';
  for (let i = random.int(1, 3); i > 0; i--) hanzi += HANZI[random.int(0, HANZI.length - 1)];
  return hanzi;
}

/** Chinese, Japanese or Korean sentences (one script per item), with a few Latin words and digits. */
function cjk(random: Random): () => string {
  const script = random.pick(['zh', 'zh', 'ja', 'ko'] as const);
  return () => cjkSentence(random, script);
}

function cjkSentence(random: Random, script: 'zh' | 'ja' | 'ko'): string {
  const parts: string[] = [];
  for (let i = random.int(4, 20); i > 0; i--) {
    const roll = random.next();
    if (roll < 0.04) parts.push(String(random.int(1, 2030)));
    else if (roll < 0.06) parts.push(` ${random.pick([...NAMES, ...IDENT_PARTS])} `);
    else parts.push(cjkWord(random, script));
    if (script === 'ko' && i > 1) parts.push(' ');
    else if (random.chance(0.2)) parts.push(random.pick(CJK_PUNCT));
  }
  return `${parts.join('')}${script === 'ko' ? '. ' : random.pick(['。', '！', '？'])}`;
}

const EMOJI = [
  '😂',
  '🤣',
  '😭',
  '🥲',
  '😅',
  '🙏',
  '🔥',
  '💯',
  '✨',
  '🎉',
  '❤️',
  '👍',
  '👀',
  '🤔',
  '😍',
  '🥹',
  '🫠',
  '💀',
  '🚀',
  '✅',
  '❌',
  '🙌',
  '😎',
  '🤯',
  '😤',
  '🍕',
  '☕',
  '🌧️',
  '🐛',
  '📦',
  '⚠️',
  '🤝',
  '👋🏽',
  '👍🏿',
  '🤷‍♀️',
  '🧑‍💻',
  '👨‍👩‍👧‍👦',
  '🏳️‍🌈',
  '🇯🇵',
  '🇧🇷',
  '🇳🇬',
  '🇩🇪',
];
const SLANG = ['lol', 'lmao', 'omg', 'ngl', 'tbh', 'fr', 'idk', 'btw', 'brb', 'ikr', 'nvm', 'pls', 'thx', 'yesss', 'nooo', 'wait', 'ok so'];
const HANDLES = ['alice', 'bob_dev', 'k8s_kate', 'dmitri', 'priya.s', 'xX_gamer_Xx', 'mei', 'ops-bot', 'jamal99', 'zara'];

/** Chat lines heavy on emoji (ZWJ sequences, skin tones, flags), slang, mentions and links. */
function chat(random: Random): () => string {
  return () => chatLine(random);
}

function chatLine(random: Random): string {
  const parts: string[] = [];
  if (random.chance(0.2)) parts.push(`@${random.pick(HANDLES)}`);
  for (let i = random.int(2, 12); i > 0; i--) {
    const roll = random.next();
    if (roll < 0.35) {
      let run = '';
      for (let e = random.int(1, 4); e > 0; e--) run += random.pick(EMOJI);
      parts.push(run);
    } else if (roll < 0.55) parts.push(random.pick(SLANG));
    else if (roll < 0.6) parts.push(`https://example.com/${random.pick(IDENT_PARTS)}/${hex(random, 8)}`);
    else parts.push(word(random).toLowerCase());
  }
  const time = `${String(random.int(0, 23)).padStart(2, '0')}:${String(random.int(0, 59)).padStart(2, '0')}`;
  return `[${time}] ${random.pick(HANDLES)}: ${parts.join(' ')}\n`;
}

/** Per kind: set up one item (its language, script...) and return a maker of its pieces. */
const GENERATORS: Record<TextKind, (random: Random) => () => string> = { prose, code, log, cjk, chat };
