/**
 * dedupe: quality and speed of the near-duplicate index behind `dedupeSimilar`.
 *
 * A seeded stream of support-ticket-like and chat-like texts, some of them planted near-duplicates
 * of an earlier text (character edits, a swapped pair of words, whitespace and case changes; no
 * paraphrases), runs through the dedupe loop (match; if no match, add as a representative) with a
 * window of 1,000 and 10,000 representatives.
 *
 * Quality, measured against exact ground truth: at every item, the exact Jaccard similarity of its
 * shingle set with every representative in the window (the same shingling as the index), computed
 * by an exact inverted-index scan. A positive pair is (item, representative) with Jaccard >=
 * threshold. Pair recall = positive pairs the index reports / positive pairs; item recall = items
 * with at least one positive pair that the index matches / such items; precision = reported pairs
 * that are positive / reported pairs. Planted recall (informative, not an aim) = planted
 * near-duplicates whose original is still a representative and that match some representative /
 * such near-duplicates: it shows how many planted edits fall below the threshold.
 *
 * Speed: items per second through the same loop, once the window is full, for the MinHash index, an
 * exact inverted-index scan (ScanCount) and the all-pairs baseline (exact Jaccard against every
 * representative), with ratios against the baseline.
 */
import type { BenchOptions, BenchResult, BenchRow, Scenario } from '../harness.js';
import { seededUint32 } from '../../src/internal/similarity/hash.js';
import { normalizeText } from '../../src/internal/similarity/normalize.js';
import { jaccard, shingleSet } from '../../src/internal/similarity/shingles.js';
import {
  createSimilarityIndex,
  DEFAULT_NUM_PERM,
  DEFAULT_SEED,
  DEFAULT_SHINGLE_SIZE,
  DEFAULT_THRESHOLD,
  type SimilarityIndex,
  type SimilarityIndexOptions,
  type SimilarityMatch,
} from '../../src/internal/similarity/text-index.js';
import { RepresentativeWindow } from '../../src/internal/similarity/window.js';
import { createEmbeddingIndex } from '../../src/internal/similarity/embedding-index.js';

/** One item of the generated stream. */
export interface StreamItem {
  text: string;
  /** The index of the base text this item was made from (its own index for a base text). */
  family: number;
  /** Whether this item is a planted near-duplicate of an earlier item. */
  planted: boolean;
}

/** A seeded source of uniform numbers and picks. */
export class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = seededUint32(seed);
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 0x1_0000_0000;
  }
  /** Uniform whole number in [0, n). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
}

const NAMES = [
  'Alice',
  'Bob',
  'Chen',
  'Dana',
  'Emeka',
  'Fatima',
  'Gustavo',
  'Hana',
  'Ivan',
  'Jules',
  'Kofi',
  'Lena',
  'Mateo',
  'Noor',
  'Olga',
  'Priya',
  'Quentin',
  'Rosa',
  'Sven',
  'Tariq',
  'Uma',
  'Viktor',
  'Wen',
  'Yusuf',
  'Zoe',
];
const PRODUCTS = [
  'router',
  'laptop',
  'headset',
  'smart watch',
  'printer',
  'tablet',
  'phone',
  'monitor',
  'keyboard',
  'speaker',
  'camera',
  'thermostat',
  'e-reader',
  'charger',
  'docking station',
  'webcam',
  'mouse',
  'hard drive',
  'projector',
  'scanner',
];
const FEATURES = [
  'billing',
  'checkout',
  'settings',
  'profile',
  'dashboard',
  'search',
  'export',
  'notifications',
  'invoices',
  'reports',
  'calendar',
  'sharing',
  'login',
  'upload',
  'payments',
  'admin',
];
const ACTIONS = [
  'upload a photo',
  'open the settings',
  'switch accounts',
  'export a report',
  'add a new user',
  'reset my password',
  'sync my contacts',
  'change the language',
  'print a receipt',
  'update my card',
  'join a meeting',
  'share a folder',
  'rename a project',
  'download my data',
  'invite a colleague',
  'merge two accounts',
];
const GREETINGS = ['Hi team,', 'Hello,', 'Hey support,', 'Good morning,', 'Dear support team,', 'Hi there,', 'Hi,', ''];
const CLOSINGS = ['Thanks,', 'Regards,', 'Cheers,', 'Thank you in advance,', 'Best,', 'Kind regards,', ''];
const REQUESTS = [
  'look into this',
  'send me a replacement',
  'refund the duplicate charge',
  'reset my account',
  'escalate this to an engineer',
  'call me back',
  'cancel my subscription',
  'extend my trial',
  'check the order status',
  'fix my billing address',
  'tell me what to do next',
  'close the old ticket',
];
// A clause is subject + verb + (qualifier +) object + a when/where phrase + a how phrase: billions
// of combinations, so two unrelated texts rarely share most of one. Short texts still collide
// lexically now and then ("who moved the spare key again" vs "who lost the spare key again"), as
// real ones do.
const SUBJECTS = [
  'the courier',
  'my manager',
  'the new intern',
  'our accountant',
  'my neighbour',
  'the night shift',
  'the vendor',
  'the landlord',
  'my daughter',
  'the other team',
  'our designer',
  'the bank',
  'the sales rep',
  'the technician',
  'my flatmate',
  'the cleaner',
  'our CTO',
  'the auditor',
  'the hotel',
  'the school',
  'the pharmacy',
  'my old laptop',
  'the backup job',
  'the nightly build',
  'the office printer',
  'the phone app',
  'the web portal',
  'the chatbot',
  'the delivery van',
  'the elevator',
];
const VERBS = [
  'cancelled',
  'moved',
  'rejected',
  'approved',
  'lost',
  'found',
  'broke',
  'repaired',
  'deleted',
  'duplicated',
  'ignored',
  'forwarded',
  'printed',
  'scanned',
  'returned',
  'delayed',
  'signed',
  'returned late',
  'charged for',
  'locked',
  'unlocked',
  'overwrote',
  'mislabeled',
  'shipped',
  'recalled',
  'rescheduled',
  'flagged',
  'archived',
  'misplaced',
  'double-booked',
  'refused',
  'shredded',
  'reset',
  'upgraded',
  'downgraded',
  'copied',
  'emailed',
  'photographed',
  'measured',
  'renamed',
];
const OBJECTS = [
  'the quarterly report',
  'my parcel',
  'the spare key',
  'the blue folder',
  'the warranty card',
  'our lease',
  'the team calendar',
  'the coffee order',
  'my passport copy',
  'the old invoices',
  'the demo laptop',
  'the visitor badge',
  'the shared drive',
  'the holiday schedule',
  'my insurance form',
  'the gift card',
  'the conference room',
  'the firmware update',
  'the backup tapes',
  'the tax receipts',
  'the signed contract',
  'the welcome pack',
  'the training video',
  'the price list',
  'the parking permit',
  'the server rack',
  'the test results',
  'the customer list',
  'the floor plan',
  'the spare charger',
  'my order history',
  'the payroll file',
  'the meeting notes',
  'the sample kit',
  'the shipping label',
  'the budget draft',
  'the onboarding checklist',
  'the product photos',
  'the access codes',
  'the survey results',
  'the lab samples',
  'the pallet of paper',
  'the returns box',
  'the travel voucher',
  'the wedding photos',
  'the repair quote',
  'the login tokens',
  'the press release',
  'the sales deck',
  'the phone bill',
  'the car keys',
  'the seating chart',
  'the recycling bins',
  'the audit trail',
  'the incident log',
  'the design mockups',
  'the menu cards',
  'the bike rack',
  'the loyalty points',
  'the safety manual',
];
const WHENS = [
  'last Tuesday',
  'this morning',
  'twice this week',
  'right before the deadline',
  'over the weekend',
  'during the storm',
  'at the airport',
  'in the basement',
  'before lunch',
  'after the audit',
  'on my birthday',
  'at three in the morning',
  'while I was on leave',
  'in front of the client',
  'at the front desk',
  'yesterday evening',
  'on the first of the month',
  'during the fire drill',
  'in the parking lot',
  'after hours',
  'without telling anyone',
  'in the middle of the demo',
  'two hours ago',
  'at the end of the sprint',
  'on the train',
  'during the migration',
  'at the warehouse',
  'by the main entrance',
  'right after payday',
  'on a public holiday',
];
const QUALIFIERS = [
  'new',
  'old',
  'second',
  'printed',
  'shared',
  'urgent',
  'backup',
  'original',
  'missing',
  'updated',
  'spare',
  'damaged',
  'draft',
  'final',
  'Berlin',
  'Tokyo',
  'Lagos',
  'Lima',
  'green',
  'red',
  'March',
  'April',
  'weekly',
  'yearly',
];
const HOWS = [
  'by mistake',
  'on purpose',
  'for no clear reason',
  'again',
  'for the third time',
  'without a receipt',
  'with no warning',
  'in a hurry',
  'very politely',
  'without asking',
  'while on the phone',
  'and then left',
  'and blamed the system',
  'as a test',
  'to save money',
  'to be safe',
  'after a long argument',
  'as agreed',
  'against the rules',
  'all at once',
  'one by one',
  'in the wrong order',
  'with the wrong name',
  'in red ink',
  'using my account',
  'from home',
  'twice',
  'quietly',
  'in a panic',
  'with great care',
];

const num = (rng: Rng, digits: number): string => String(10 ** (digits - 1) + rng.below(9 * 10 ** (digits - 1)));

/** An object, qualified two times out of three: "the Tokyo floor plan", "my updated parcel". */
function object(rng: Rng): string {
  const plain = rng.pick(OBJECTS);
  if (rng.chance(1 / 3)) return plain;
  const space = plain.indexOf(' ');
  return `${plain.slice(0, space)} ${rng.pick(QUALIFIERS)}${plain.slice(space)}`;
}

function clause(rng: Rng): string {
  return `${rng.pick(SUBJECTS)} ${rng.pick(VERBS)} ${object(rng)} ${rng.pick(WHENS)} ${rng.pick(HOWS)}`;
}

const TICKET_PROBLEMS: ((rng: Rng) => string)[] = [
  (r) => `my order #${num(r, 6)} has not arrived.`,
  () => `I can't log in to my account, it says my password is wrong.`,
  (r) => `the ${r.pick(FEATURES)} page shows error ${num(r, 3)} when I try to ${r.pick(ACTIONS)}.`,
  (r) => `I was charged twice on invoice ${num(r, 7)}.`,
  (r) => `the app crashes every time I ${r.pick(ACTIONS)} on my ${r.pick(PRODUCTS)}.`,
  (r) => `I need to change the shipping address for order #${num(r, 6)}.`,
  (r) => `my ${r.pick(PRODUCTS)} won't connect to the ${r.pick(['wifi', 'bluetooth', 'VPN', 'hotspot'])}.`,
  (r) => `the refund for return ${num(r, 5)} still hasn't shown up on my card.`,
  (r) => `the ${r.pick(PRODUCTS)} I bought makes a loud ${r.pick(['buzzing', 'clicking', 'whining', 'rattling'])} noise.`,
  (r) => `I don't get any ${r.pick(FEATURES)} emails anymore.`,
];

function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A support ticket of 120 to 300 characters: boilerplate around one or two specific clauses. */
function ticket(rng: Rng): string {
  const parts = [
    rng.pick(GREETINGS),
    sentence(rng.pick(TICKET_PROBLEMS)(rng)),
    `${sentence(rng.pick(['also, ', 'apparently ', 'I think ', 'somehow ', '']) + clause(rng))}.`,
    rng.chance(0.4) ? `${sentence(clause(rng))}.` : '',
    `Can you please ${rng.pick(REQUESTS)}?`,
    `${rng.pick(CLOSINGS)} ${rng.pick(NAMES)}`.trim(),
  ];
  return parts.filter((part) => part !== '').join(' ');
}

/** A chat line of 50 to 120 characters: one clause, sometimes with an opener or a question. */
function chat(rng: Rng): string {
  const line = clause(rng);
  const opener = rng.chance(0.4) ? `${rng.pick(['hey', 'btw', 'fyi', 'quick q:', 'sorry,', 'lol', 'ugh', 'heads up:', 'omg', 'so'])} ` : '';
  return `${opener}${line}${rng.pick(['', '', '?', '!', ' :(', ' lol', '...'])}`;
}

/** A short chat line of 20 to 60 characters: a verb, an object and how. */
function shortChat(rng: Rng): string {
  const opener = rng.chance(0.5) ? `${rng.pick(['who', 'why', 'ok who', 'someone', 'pls dont', 'i', 'we', 'they'])} ` : '';
  return `${opener}${rng.pick(VERBS)} ${object(rng)} ${rng.pick(HOWS)}${rng.pick(['', '?', '!', ' :(', ' lol', '??'])}`;
}

/** A new base text: 40% support tickets, 40% chat lines, 20% short chat lines. */
export function baseText(rng: Rng): string {
  const u = rng.float();
  return u < 0.4 ? ticket(rng) : u < 0.8 ? chat(rng) : shortChat(rng);
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** One typo at a random position: insert, delete, substitute, or swap two neighbours. */
function typo(rng: Rng, text: string): string {
  if (text.length < 2) return text + rng.pick([...LETTERS]);
  const at = rng.below(text.length - 1);
  switch (rng.below(4)) {
    case 0:
      return text.slice(0, at) + rng.pick([...LETTERS]) + text.slice(at);
    case 1:
      return text.slice(0, at) + text.slice(at + 1);
    case 2:
      return text.slice(0, at) + rng.pick([...LETTERS]) + text.slice(at + 1);
    default:
      return text.slice(0, at) + text.charAt(at + 1) + text.charAt(at) + text.slice(at + 2);
  }
}

/**
 * A near-duplicate of a text, as a person or a retrying client would make it: 0 to 3 typos (10%,
 * 40%, 30%, 20%), a swapped pair of neighbouring words (30%), and whitespace and case changes
 * (which normalization undoes). No paraphrases.
 */
export function nearDuplicate(rng: Rng, text: string): string {
  let out = text;
  if (rng.chance(0.3)) {
    const words = out.split(' ');
    if (words.length >= 2) {
      const at = rng.below(words.length - 1);
      [words[at], words[at + 1]] = [words[at + 1] as string, words[at] as string];
      out = words.join(' ');
    }
  }
  const u = rng.float();
  const typos = u < 0.1 ? 0 : u < 0.5 ? 1 : u < 0.8 ? 2 : 3;
  for (let i = 0; i < typos; i++) out = typo(rng, out);
  if (rng.chance(0.3)) out = rng.chance(0.5) ? out.toUpperCase() : out.toLowerCase();
  if (rng.chance(0.3)) out = out.replace(/ /g, () => (rng.chance(0.15) ? rng.pick(['  ', '\t', ' \n']) : ' '));
  if (rng.chance(0.2)) out = `${rng.pick(['', ' ', '\n'])}${out}${rng.pick([' ', '\n', '  '])}`;
  return out;
}

/**
 * The stream: each item is, with probability `duplicateRate`, a near-duplicate of one of the last
 * `recent` base texts (so its original is usually still in the window), else a new base text.
 */
export function generateStream(count: number, seed: number, duplicateRate = 0.3, recent = 200): StreamItem[] {
  const rng = new Rng(seed);
  const items: StreamItem[] = [];
  const bases: number[] = [];
  for (let i = 0; i < count; i++) {
    if (bases.length > 0 && rng.chance(duplicateRate)) {
      const family = bases[bases.length - 1 - rng.below(Math.min(recent, bases.length))] as number;
      items.push({ text: nearDuplicate(rng, (items[family] as StreamItem).text), family, planted: true });
    } else {
      items.push({ text: baseText(rng), family: i, planted: false });
      bases.push(i);
    }
  }
  return items;
}

/** What the dedupe loop needs of an index. */
export interface DedupeIndex {
  matches(text: string, now: number): SimilarityMatch[];
  add(id: number, text: string, now: number): void;
  /** One step of the dedupe loop, preparing the text once: true if it matched, else it was added. */
  step(id: number, text: string, now: number): boolean;
}

interface Shingled {
  readonly id: number;
  readonly addedAt: number;
  readonly shingles: Uint32Array;
  /** ScanCount's per-query scratch: the query that last counted this entry, and its count. */
  seen: number;
  common: number;
}

function shinglesOf(text: string): Uint32Array {
  return shingleSet(normalizeText(text), DEFAULT_SHINGLE_SIZE, DEFAULT_SEED);
}

function byDecreasingSimilarity(x: SimilarityMatch, y: SimilarityMatch): number {
  return y.similarity - x.similarity || x.id - y.id;
}

/** The dedupe loop of the exact baselines, which shingle each text once. */
abstract class ShingledIndex implements DedupeIndex {
  protected abstract search(shingles: Uint32Array, now: number): SimilarityMatch[];
  protected abstract insert(id: number, shingles: Uint32Array, now: number): void;
  step(id: number, text: string, now: number): boolean {
    const shingles = shinglesOf(text);
    if (this.search(shingles, now).length > 0) return true;
    this.insert(id, shingles, now);
    return false;
  }
  matches(text: string, now: number): SimilarityMatch[] {
    return this.search(shinglesOf(text), now);
  }
  add(id: number, text: string, now: number): void {
    this.insert(id, shinglesOf(text), now);
  }
}

/**
 * The all-pairs baseline: the exact Jaccard similarity with every representative in the window
 * (skipping those whose set sizes alone rule the threshold out).
 */
export class AllPairsIndex extends ShingledIndex {
  private readonly window: RepresentativeWindow<Shingled>;
  constructor(
    private readonly threshold: number,
    maxEntries: number,
  ) {
    super();
    this.window = new RepresentativeWindow<Shingled>(maxEntries, undefined, () => {}, 'AllPairsIndex');
  }
  protected search(query: Uint32Array, now: number): SimilarityMatch[] {
    this.window.advance(now);
    const found: SimilarityMatch[] = [];
    for (const entry of this.window.values()) {
      const small = Math.min(query.length, entry.shingles.length);
      const large = Math.max(query.length, entry.shingles.length);
      if (small < this.threshold * large) continue;
      const similarity = jaccard(query, entry.shingles);
      if (similarity >= this.threshold) found.push({ id: entry.id, similarity });
    }
    return found.sort(byDecreasingSimilarity);
  }
  protected insert(id: number, shingles: Uint32Array, now: number): void {
    this.window.admit({ id, addedAt: this.window.advance(now), shingles, seen: 0, common: 0 });
  }
}

/**
 * An exact inverted index (ScanCount): each query counts, through the posting list of each of its
 * shingles, how many shingles it shares with every representative, which gives every Jaccard
 * similarity exactly, computed independently of the merge in `jaccard`. The ground truth of the
 * quality figures, and a second exact contender for speed.
 */
export class ScanCountIndex extends ShingledIndex {
  private readonly window: RepresentativeWindow<Shingled>;
  private readonly postings = new Map<number, Set<Shingled>>();
  private query = 0;
  constructor(
    private readonly threshold: number,
    maxEntries: number,
  ) {
    super();
    this.window = new RepresentativeWindow<Shingled>(maxEntries, undefined, (entry) => this.unindex(entry), 'ScanCountIndex');
  }
  protected search(shingles: Uint32Array, now: number): SimilarityMatch[] {
    this.window.advance(now);
    const query = ++this.query;
    const touched: Shingled[] = [];
    for (const shingle of shingles) {
      for (const entry of this.postings.get(shingle) ?? []) {
        if (entry.seen !== query) {
          entry.seen = query;
          entry.common = 0;
          touched.push(entry);
        }
        entry.common++;
      }
    }
    const found: SimilarityMatch[] = [];
    for (const entry of touched) {
      const similarity = entry.common / (shingles.length + entry.shingles.length - entry.common);
      if (similarity >= this.threshold) found.push({ id: entry.id, similarity });
    }
    return found.sort(byDecreasingSimilarity);
  }
  protected insert(id: number, shingles: Uint32Array, now: number): void {
    const entry: Shingled = { id, addedAt: this.window.advance(now), shingles, seen: 0, common: 0 };
    this.window.admit(entry);
    for (const shingle of entry.shingles) {
      const list = this.postings.get(shingle);
      if (list === undefined) this.postings.set(shingle, new Set([entry]));
      else list.add(entry);
    }
  }
  private unindex(entry: Shingled): void {
    for (const shingle of entry.shingles) {
      const list = this.postings.get(shingle) as Set<Shingled>;
      list.delete(entry);
      if (list.size === 0) this.postings.delete(shingle);
    }
  }
}

/** The MinHash index behind the loop's interface. */
function minhashIndex(options: SimilarityIndexOptions): DedupeIndex & { index: SimilarityIndex } {
  const index = createSimilarityIndex(options);
  return {
    index,
    matches: (text, now) => index.matches(text, now),
    add: (id, text, now) => index.add(id, text, now),
    step: (id, text, now) => {
      const prepared = index.prepare(text);
      if (index.match(prepared, now) !== undefined) return true;
      index.add(id, prepared, now);
      return false;
    },
  };
}

/** Quality figures of one lockstep run; see the file comment for the definitions. */
export interface Quality {
  items: number;
  positivePairs: number;
  reportedPairs: number;
  truePositivePairs: number;
  /** Reported similarities that differ from the ScanCount ground truth (must be 0). */
  similarityMismatches: number;
  positiveItems: number;
  matchedPositiveItems: number;
  plantedEligible: number;
  plantedMatched: number;
  matchedItems: number;
  matchedSameFamily: number;
  candidatesPerQuery: number;
  representatives: number;
}

/**
 * Runs the dedupe loop with the MinHash index, asking the ScanCount ground truth at every item with
 * the same representatives (the MinHash index's decisions drive both windows).
 */
export function measureQuality(stream: readonly StreamItem[], options: SimilarityIndexOptions & { threshold: number; maxEntries: number }): Quality {
  const minhash = minhashIndex(options);
  const truth = new ScanCountIndex(options.threshold, options.maxEntries);
  const q: Quality = {
    items: stream.length,
    positivePairs: 0,
    reportedPairs: 0,
    truePositivePairs: 0,
    similarityMismatches: 0,
    positiveItems: 0,
    matchedPositiveItems: 0,
    plantedEligible: 0,
    plantedMatched: 0,
    matchedItems: 0,
    matchedSameFamily: 0,
    candidatesPerQuery: 0,
    representatives: 0,
  };
  stream.forEach((item, now) => {
    const expected = new Map(truth.matches(item.text, now).map((m) => [m.id, m.similarity]));
    const prepared = minhash.index.prepare(item.text);
    const reported = minhash.index.matches(prepared, now);
    const best = minhash.index.match(prepared, now);
    q.positivePairs += expected.size;
    q.reportedPairs += reported.length;
    for (const { id, similarity } of reported) {
      const exact = expected.get(id);
      if (exact === undefined) continue;
      q.truePositivePairs++;
      if (Math.abs(exact - similarity) > 1e-12) q.similarityMismatches++;
    }
    if (expected.size > 0) {
      q.positiveItems++;
      if (best !== undefined) q.matchedPositiveItems++;
    }
    if (item.planted && minhash.index.has(item.family)) {
      q.plantedEligible++;
      if (best !== undefined) q.plantedMatched++;
    }
    if (best === undefined) {
      minhash.index.add(now, prepared, now);
      truth.add(now, item.text, now);
    } else {
      q.matchedItems++;
      if ((stream[best.id] as StreamItem).family === item.family) q.matchedSameFamily++;
    }
  });
  const stats = minhash.index.stats();
  // Two queries per item (matches, then match): count the candidates of one.
  q.candidatesPerQuery = stats.candidates / stats.queries;
  q.representatives = stats.representatives;
  return q;
}

/**
 * Items per second through the dedupe loop with a full window: the window is first filled by adding
 * `window` items (not timed), then `measured` further items are matched and, if new, added. The best
 * of `repeats` runs, each on a fresh index (the machine may be shared).
 */
export function measureThroughput(make: () => DedupeIndex, stream: readonly StreamItem[], window: number, measured: number, repeats: number): number {
  let best = 0;
  for (let run = 0; run < repeats; run++) {
    const index = make();
    for (let i = 0; i < window; i++) index.add(i, (stream[i] as StreamItem).text, i);
    const start = performance.now();
    for (let i = window; i < window + measured; i++) index.step(i, (stream[i] as StreamItem).text, i);
    best = Math.max(best, measured / ((performance.now() - start) / 1000));
  }
  return best;
}

/**
 * Queries per second of the embedding index's linear scan with a full window of random unit vectors
 * (random queries match nothing, so each scans the whole window: the worst case).
 */
export function measureEmbeddingScan(window: number, dimensions: number, measured: number, repeats: number): number {
  const rng = new Rng(dimensions + window);
  const vector = () => Float32Array.from({ length: dimensions }, () => rng.float() - 0.5);
  const queries = Array.from({ length: measured }, vector);
  let best = 0;
  for (let run = 0; run < repeats; run++) {
    const index = createEmbeddingIndex({ threshold: 0.9, maxEntries: window });
    for (let i = 0; i < window; i++) index.add(i, vector(), 0);
    const start = performance.now();
    for (const query of queries) index.match(query, 0);
    best = Math.max(best, measured / ((performance.now() - start) / 1000));
  }
  return best;
}

const count = (n: number): string => n.toLocaleString('en-US');

export const dedupe: Scenario = {
  name: 'dedupe',
  async run({ quick }: BenchOptions): Promise<BenchResult> {
    const windows = quick ? [1_000] : [1_000, 10_000];
    const threshold = DEFAULT_THRESHOLD;
    const numPerm = DEFAULT_NUM_PERM;
    const repeats = quick ? 1 : 3;
    const rows: BenchRow[] = [];
    const notes: string[] = [];
    for (const window of windows) {
      const length = window + (quick ? 2_000 : 10_000);
      const quality = measureQuality(generateStream(length, 20_240_601 + window), { threshold, maxEntries: window, numPerm });
      const measured = quick ? 300 : 1_000;
      const speedStream = generateStream(window + measured, 7 + window);
      const allPairs = measureThroughput(() => new AllPairsIndex(threshold, window), speedStream, window, measured, repeats);
      const scanCount = measureThroughput(() => new ScanCountIndex(threshold, window), speedStream, window, measured, repeats);
      const minhash = measureThroughput(() => minhashIndex({ threshold, maxEntries: window, numPerm }), speedStream, window, measured, repeats);
      rows.push(
        {
          name: 'all-pairs exact Jaccard (baseline)',
          window,
          'items/s': allPairs,
          'x baseline': 1,
          'pair recall': 'exact',
          'item recall': 'exact',
          precision: 'exact',
          'cand/query': window,
        },
        {
          name: 'ScanCount inverted index (exact)',
          window,
          'items/s': scanCount,
          'x baseline': scanCount / allPairs,
          'pair recall': 'exact',
          'item recall': 'exact',
          precision: 'exact',
        },
        {
          name: `minhash LSH + verification`,
          window,
          'items/s': minhash,
          'x baseline': minhash / allPairs,
          'pair recall': quality.truePositivePairs / quality.positivePairs,
          'item recall': quality.matchedPositiveItems / quality.positiveItems,
          precision: quality.reportedPairs === 0 ? 1 : quality.truePositivePairs / quality.reportedPairs,
          'planted recall': quality.plantedMatched / quality.plantedEligible,
          'same family': quality.matchedSameFamily / quality.matchedItems,
          'cand/query': quality.candidatesPerQuery,
        },
      );
      notes.push(
        `window ${count(window)}: quality over ${count(length)} items: ${count(quality.positivePairs)} positive pairs (${count(quality.positiveItems)} items), ` +
          `${count(quality.plantedEligible)} planted near-duplicates with their original in the window, ${quality.similarityMismatches} similarity mismatches vs ground truth; ` +
          `speed: best of ${repeats} over ${count(measured)} items after filling the window`,
      );
    }
    const dimensions = 1_536;
    for (const window of windows) {
      const scan = measureEmbeddingScan(window, dimensions, quick ? 50 : 200, repeats);
      rows.push({ name: `embedding linear scan, ${count(dimensions)} dims`, window, 'items/s': scan });
    }
    const params = createSimilarityIndex({ threshold, numPerm });
    notes.push(
      `minhash: threshold ${threshold} (Jaccard of character ${DEFAULT_SHINGLE_SIZE}-gram sets of normalized text), ${numPerm} permutations, LSH ${params.bands} bands x ${params.rows} rows`,
      'pair recall: (item, representative in the window) pairs with exact Jaccard >= threshold that the index reports; precision: reported pairs that are at or above it',
      'item recall: items with such a pair that the index matches; cand/query: LSH candidates checked per query',
      'planted recall: planted near-duplicates (original still a representative) that match, whatever their Jaccard (informative: edits can fall below the threshold)',
      'same family: matches whose representative is the text the item was made from (the rest are unrelated texts that are as alike; informative)',
      'embedding: queries/s with random vectors that match nothing (each scans the whole window)',
    );
    return { scenario: 'dedupe', title: 'Near-duplicate index: quality and throughput', rows, notes };
  },
};
