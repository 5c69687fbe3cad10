import { OptionReader } from '../options.js';

/**
 * Safety guards for near-duplicate merging: cheap, explainable vetoes on a pair of texts that a
 * similarity score alone would merge. Character shingles and embeddings both score "refund order
 * 123456" and "refund order 123457", or "I can log in" and "I can't log in", as near-identical,
 * yet handing one's answer to the other is a wrong answer that looks right. A guard compares only
 * the tokens that carry such meaning, and a pair whose tokens differ is never merged.
 *
 * Every guard is an equality test on a multiset taken from each text, so it never rejects a pair of
 * texts that are the same after normalization, and it rejects in the safe direction when unsure
 * (a resend that reformats "$1,000" as "$1000" is sent again rather than merged).
 */

/**
 * Which guards apply (each defaults to the value shown), or `false` for none.
 */
export interface GuardOptions {
  /** Digit runs (amounts, ids, versions, dates, times), signs, currency symbols, `%` and number words must agree. Default true. */
  numbers?: boolean;
  /** The count of negation words (English, French, German, Spanish, Italian, Portuguese) must agree. Default true. */
  negations?: boolean;
  /** Weekday and month names and relative days ("tomorrow", "tonight") must agree. Default true. */
  calendar?: boolean;
  /**
   * Capitalized words inside a sentence (names of people, places, products; also after a title
   * such as "Dr.") must appear in both texts, compared without case. Default true. It also blocks
   * resends whose only change is a greeting or a signature with a name ("Hi Alice,", "Thanks,
   * Bob"), or a typo in a name: strip those with a `key` normalizer rather than switch it off.
   */
  names?: boolean;
  /**
   * Words of opposite meaning must agree: enable/disable, increase/decrease, on/off, before/after,
   * add/remove, accept/reject… (English). Default true.
   */
  opposites?: boolean;
}

/**
 * A user-supplied veto: true when the two texts may be merged.
 */
export type CustomGuard = (a: string, b: string) => boolean;

/**
 * A resolved guard: true when a pair may be merged, false when it must not be.
 */
export type PairGuard = (a: string, b: string) => boolean;

const GUARD_KEYS = ['numbers', 'negations', 'calendar', 'names', 'opposites'] as const;
const DEFAULTS: Required<GuardOptions> = { numbers: true, negations: true, calendar: true, names: true, opposites: true };

// Apostrophes as people type them (straight, curly, modifier letter, prime, grave, acute).
const APOSTROPHES = /[\u2019\u2018\u02bc\u2032`\u00b4]/g;
// A word: letters and marks, with inner apostrophes (can't, n'est, l'heure).
const WORD = /[\p{L}\p{M}]+(?:'[\p{L}\p{M}]+)*/gu;

function words(text: string): string[] {
  return text.normalize('NFKC').replace(APOSTROPHES, "'").toLowerCase().match(WORD) ?? [];
}

/** Equal as multisets. */
function sameMultiset(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((value, i) => value === y[i]);
}

// ---- numbers --------------------------------------------------------------------------------

// A number as written: an optional sign, digit runs joined by separators (1,000.50 · 1.2.3 ·
// 2024-03-01 · 03/01/2024 · 10:30), any script's decimal digits. Kept as written: two spellings of
// one value count as different numbers, which only ever blocks a merge.
const NUMBER = /(?:(?<![\p{L}\p{N}])[-+])?\p{Nd}+(?:[-.,:/]\p{Nd}+)*/gu;
const CURRENCY_OR_PERCENT = /[\p{Sc}%‰]/gu;
const NUMBER_WORDS = new Set(
  (
    'zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen ' +
    'twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion trillion dozen half twice thrice once ' +
    'first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth ' +
    'un une deux trois quatre cinq six sept huit neuf dix cent mille million milliard premier première ' +
    'eins zwei drei vier fünf sechs sieben acht neun zehn hundert tausend ' +
    'uno dos tres cuatro cinco seis siete ocho nueve diez cien mil'
  ).split(' '),
);

/**
 * The numbers of a text as written, in order: digit runs with their separators and sign (`-5`,
 * `1,000.50`, `1.2.3`, `2024-03-01`, `10:30`), then currency symbols and `%`, then number words
 * ("three", "twice", "dix"), each as its own token.
 */
export function numberTokens(text: string): string[] {
  const folded = text.normalize('NFKC').replace(/−/g, '-');
  const digits = (folded.match(NUMBER) ?? []).map((token) => token.replace(/^\+/, ''));
  const symbols = folded.match(CURRENCY_OR_PERCENT) ?? [];
  const named = words(folded).filter((word) => NUMBER_WORDS.has(word));
  return [...digits, ...symbols, ...named];
}

/**
 * Whether two texts carry the same numbers (see {@link numberTokens}), as multisets.
 */
export function numbersAgree(a: string, b: string): boolean {
  return sameMultiset(numberTokens(a), numberTokens(b));
}

// ---- negations ------------------------------------------------------------------------------

const NEGATION_WORDS = new Set(
  // English (with contractions typed without their apostrophe)
  (
    'not no never cannot without nor none nobody nothing nowhere neither ' +
    'cant dont doesnt didnt isnt arent wasnt werent wont wouldnt couldnt shouldnt hasnt havent hadnt mustnt neednt aint ' +
    // French: ne/n' ... pas, jamais, rien, aucun, sans, ni
    'ne pas jamais rien aucun aucune sans ni guère ' +
    // German
    'nicht kein keine keinen keinem keiner keines nie niemals nichts ohne weder niemand nirgends ' +
    // Spanish
    'nunca jamás nada ninguno ninguna ningún sin tampoco nadie ' +
    // Italian and Portuguese
    'non mai senza nessuno nessuna niente nulla não nem nenhum nenhuma sem'
  ).split(' '),
);

/** Whether one word is or holds a negation (English n't, French n'). */
function isNegation(word: string): boolean {
  return NEGATION_WORDS.has(word) || word.endsWith("n't") || word.startsWith("n'");
}

/**
 * How many negations a text holds: English not, no, never, n't, cannot, without, nor, none…;
 * French ne/n', pas, jamais, rien, aucun, sans; German nicht, kein…, nie, nichts, ohne; Spanish no,
 * nunca, nada, ninguno, sin; Italian non, mai, senza; Portuguese não, nunca, sem. Counted, not
 * matched: "cannot" and "can't" both count one, so such a rewording still agrees.
 */
export function negationCount(text: string): number {
  let count = 0;
  for (const word of words(text)) if (isNegation(word)) count++;
  return count;
}

/**
 * Whether two texts hold as many negations each (see {@link negationCount}).
 */
export function negationsAgree(a: string, b: string): boolean {
  return negationCount(a) === negationCount(b);
}

// ---- calendar -------------------------------------------------------------------------------

const CALENDAR_WORDS = new Set(
  (
    'monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun ' +
    'january february march april may june july august september october november december jan feb mar apr jun jul aug sep sept oct nov dec ' +
    'today tomorrow yesterday tonight weekend morning afternoon evening night noon midnight am pm ' +
    'lundi mardi mercredi jeudi vendredi samedi dimanche janvier février mars avril mai juin juillet août septembre octobre novembre décembre aujourd demain hier ' +
    'montag dienstag mittwoch donnerstag freitag samstag sonntag januar februar märz juni juli oktober dezember heute morgen gestern ' +
    'lunes martes miércoles jueves viernes sábado domingo enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre hoy mañana ayer'
  ).split(' '),
);

/**
 * The calendar words of a text, in order: weekday and month names (and their short forms) in
 * English, French, German and Spanish, relative days and parts of the day.
 */
export function calendarTokens(text: string): string[] {
  return words(text)
    .map((word) => word.split("'")[0] as string)
    .filter((word) => CALENDAR_WORDS.has(word));
}

/**
 * Whether two texts name the same days, months and times of day, as multisets.
 */
export function calendarAgree(a: string, b: string): boolean {
  return sameMultiset(calendarTokens(a), calendarTokens(b));
}

// ---- names ----------------------------------------------------------------------------------

// A capitalized word (not all capitals), not the first word of a sentence or line.
const SENTENCE_START = /(?:^|[.!?:;\n]\s*|["“(]\s*)$/u;
// A title's full stop does not end a sentence: "Dr. Hana" is a name.
const HONORIFIC = /(?:^|[^\p{L}])(?:dr|mr|mrs|ms|mx|prof|sr|jr|st|mme|mlle|hr|fr|sra|srta)\.\s*$/iu;

/**
 * The capitalized words of a text that do not start a sentence (lower-cased): names of people,
 * places and products, in the texts where people capitalize them.
 */
export function nameTokens(text: string): string[] {
  const folded = text.normalize('NFKC').replace(APOSTROPHES, "'");
  const names: string[] = [];
  for (const match of folded.matchAll(WORD)) {
    const word = match[0];
    if (!/^\p{Lu}\p{Ll}/u.test(word)) continue;
    const before = folded.slice(Math.max(0, match.index - 8), match.index);
    if (SENTENCE_START.test(before.slice(-3)) && !HONORIFIC.test(before)) continue;
    names.push(word.toLowerCase());
  }
  return names;
}

/**
 * Whether every name of each text (see {@link nameTokens}) is a word of the other. Texts in all
 * capitals or all lower case still agree with their normal-case resends, as words are compared
 * without case.
 */
export function namesAgree(a: string, b: string): boolean {
  const wordsA = new Set(words(a));
  const wordsB = new Set(words(b));
  return nameTokens(a).every((name) => wordsB.has(name)) && nameTokens(b).every((name) => wordsA.has(name));
}

// ---- opposites ------------------------------------------------------------------------------

const OPPOSITE_PAIRS = [
  'enable disable',
  'enabled disabled',
  'activate deactivate',
  'allow deny',
  'allow block',
  'accept reject',
  'approve reject',
  'approved rejected',
  'increase decrease',
  'increased decreased',
  'raise lower',
  'more less',
  'higher lower',
  'maximum minimum',
  'max min',
  'up down',
  'upgrade downgrade',
  'on off',
  'open close',
  'opened closed',
  'start stop',
  'started stopped',
  'lock unlock',
  'locked unlocked',
  'include exclude',
  'add remove',
  'added removed',
  'before after',
  'above below',
  'inside outside',
  'input output',
  'import export',
  'upload download',
  'buy sell',
  'subscribe unsubscribe',
  'login logout',
  'true false',
  'yes no',
  'valid invalid',
  'success failure',
  'succeeded failed',
  'passed failed',
  'win lose',
  'won lost',
  'first last',
  'early late',
  'earlier later',
  'left right',
  'north south',
  'east west',
  'positive negative',
  'credit debit',
  'refund charge',
  'plus minus',
];
const OPPOSITE_WORDS = new Set(OPPOSITE_PAIRS.flatMap((pair) => pair.split(' ')));

/**
 * The words of a text that have an opposite in the guard's list (enable, disable, increase, on, off,
 * before, after, add, remove…), in order.
 */
export function oppositeTokens(text: string): string[] {
  return words(text).filter((word) => OPPOSITE_WORDS.has(word));
}

const PAIRS = OPPOSITE_PAIRS.map((pair) => pair.split(' ') as [string, string]);

/**
 * Whether two texts lean the same way on every pair of opposites that both of them mention: for
 * each pair (enable/disable…), the count of one word minus the other must be the same in both.
 * "enable dark mode" and "disable dark mode" do not agree; a text that mentions neither word of a
 * pair (a typo in "before", say) is not held to it, so a resend with a typo still agrees.
 */
export function oppositesAgree(a: string, b: string): boolean {
  const x = oppositeTokens(a);
  const y = oppositeTokens(b);
  if (x.length === 0 || y.length === 0) return true;
  const count = (tokens: string[], word: string) => tokens.reduce((n, t) => n + (t === word ? 1 : 0), 0);
  for (const [first, second] of PAIRS) {
    const inX = count(x, first) - count(x, second);
    const inY = count(y, first) - count(y, second);
    const mentioned = (tokens: string[]) => tokens.includes(first) || tokens.includes(second);
    if (inX !== inY && mentioned(x) && mentioned(y)) return false;
  }
  return true;
}

// ---- composition ----------------------------------------------------------------------------

const CHECKS: Record<(typeof GUARD_KEYS)[number], PairGuard> = {
  numbers: numbersAgree,
  negations: negationsAgree,
  calendar: calendarAgree,
  names: namesAgree,
  opposites: oppositesAgree,
};

/**
 * Checks a `guards` option: `undefined` or `true` (the defaults), `false` (none) or an object of
 * booleans with known keys. Throws a TypeError naming `owner` and the option.
 */
export function resolveGuardOptions(value: unknown, owner: string): Required<GuardOptions> | false {
  if (value === undefined || value === true) return { ...DEFAULTS };
  if (value === false) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `${owner}: guards: expected false or an object such as { numbers: true, negations: true }, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  const options = new OptionReader(owner, value, GUARD_KEYS, 'guards');
  const resolved = { ...DEFAULTS };
  for (const key of GUARD_KEYS) resolved[key] = options.bool(key, DEFAULTS[key]);
  return resolved;
}

/**
 * The guard of a `guards` option and an optional custom guard, as one predicate (true: may merge),
 * or undefined when nothing is guarded. Checks the options at once (see {@link resolveGuardOptions}).
 * The built-in guards run first; the custom one only on pairs they let through.
 */
export function createPairGuard(guards: unknown, custom: unknown, owner: string): PairGuard | undefined {
  const resolved = resolveGuardOptions(guards, owner);
  if (custom !== undefined && typeof custom !== 'function')
    throw new TypeError(`${owner}: guard: expected a function (a, b) => boolean, got ${custom === null ? 'null' : typeof custom}`);
  const checks = resolved === false ? [] : GUARD_KEYS.filter((key) => resolved[key]).map((key) => CHECKS[key]);
  const extra = custom as CustomGuard | undefined;
  if (checks.length === 0 && extra === undefined) return undefined;
  return (a, b) => {
    if (a === b) return extra === undefined ? true : extra(a, b) === true;
    for (const check of checks) if (!check(a, b)) return false;
    return extra === undefined || extra(a, b) === true;
  };
}
