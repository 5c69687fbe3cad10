/**
 * The labelled pairs of the dedupe bench: pairs of texts that should be merged (the same request
 * sent again with other case, white space, typos, a greeting or a signature) and pairs that must
 * not be (the same wording with another number, negation, name, date, day or an opposite word), so that each method
 * of `dedupeSimilar` can be scored for precision (merged pairs that should be) and recall (pairs
 * that should be merged that are).
 *
 * Built by a seeded generator (the same pairs on every run) over hand-written templates, plus
 * hand-written pairs, including the five quoted in issue 13. Typos go into plain words only (not
 * into digits, negations, names or day names): a typo in an order number makes another order.
 */
import { seededUint32 } from '../../src/internal/similarity/hash.js';

/** One labelled pair. */
export interface LabelledPair {
  readonly a: string;
  readonly b: string;
  /** True: the same request (reusing the answer is right). False: reusing it would be wrong. */
  readonly merge: boolean;
  /** What makes the pair: 'case', 'typo', 'signature'… or 'number', 'negation', 'name', 'opposite'… */
  readonly kind: string;
}

/** The slots a template is filled from. */
interface Slots {
  id: string;
  amount: string;
  name: string;
  day: string;
  month: string;
  date: string;
  time: string;
  version: string;
  count: string;
  neg: boolean;
}

type Template = (s: Slots) => string;

const not = (s: Slots, yes: string, no: string): string => (s.neg ? no : yes);

/** Templates: each uses several slots, so one base text can be varied in many ways. */
const TEMPLATES: Template[] = [
  (s) => `Please refund order ${s.id}, the package from ${s.name} arrived broken on ${s.day}.`,
  (s) => `I ${not(s, 'can', "can't")} log in to my account since the update to version ${s.version}.`,
  (s) => `The payment of $${s.amount} for invoice ${s.id} ${not(s, 'went through', 'did not go through')} on ${s.date}.`,
  (s) => `Translate to French: The meeting with ${s.name} is on ${s.day} at ${s.time}.`,
  (s) => `Can you move my appointment with Dr. ${s.name} to ${s.day} ${s.month} ${s.count}?`,
  (s) => `Our team ${not(s, 'is', 'is not')} able to export the ${s.month} report since release ${s.version}.`,
  (s) => `Ticket ${s.id}: the app ${not(s, 'crashes', 'never crashes')} when I upload ${s.count} photos.`,
  (s) => `Summarize this email from ${s.name}: the shipment of ${s.count} boxes leaves on ${s.date}.`,
  (s) => `My subscription ${not(s, 'renewed', "didn't renew")} on ${s.date} and I was charged $${s.amount}.`,
  (s) => `Please book a table for ${s.count} people on ${s.day} at ${s.time}, under the name ${s.name}.`,
  (s) => `Is the ${s.month} invoice ${s.id} ${not(s, 'already paid', 'still not paid')}? It was $${s.amount}.`,
  (s) => `The server ${not(s, 'restarted', 'did not restart')} after the patch ${s.version} was applied at ${s.time}.`,
  (s) => `Remind ${s.name} that the rent of $${s.amount} is due on ${s.day}, the ${s.count}th.`,
  (s) => `Classify this review: the blender ${not(s, 'works', "doesn't work")} after ${s.count} weeks, order ${s.id}.`,
  (s) => `Flight ${s.id} to Lisbon ${not(s, 'is', 'is no longer')} leaving on ${s.date} at ${s.time}; tell ${s.name}.`,
  (s) => `Write a reply to ${s.name}: we ${not(s, 'can', 'cannot')} ship order ${s.id} before ${s.day}.`,
  (s) => `The dashboard shows ${s.count} errors since version ${s.version} ${not(s, 'with', 'without')} the cache enabled.`,
  (s) => `Please cancel the ${s.month} delivery for customer ${s.id}, ${s.name} ${not(s, 'has moved', 'has not moved')} away.`,
  (s) => `Extract the total from this receipt: ${s.count} items, $${s.amount}, paid on ${s.date} by ${s.name}.`,
  (s) => `The invoice from ${s.name} for $${s.amount} ${not(s, 'matches', 'does not match')} purchase order ${s.id}.`,
];

const NAMES = ['Alice', 'Bob', 'Chen', 'Dana', 'Emeka', 'Fatima', 'Gustavo', 'Hana', 'Ivan', 'Jules', 'Kofi', 'Lena', 'Mateo', 'Noor', 'Olga', 'Priya'];
const LOOKALIKE_NAMES: Record<string, string> = { Alice: 'Alina', Bob: 'Rob', Chen: 'Chan', Dana: 'Diana', Emeka: 'Emeke', Fatima: 'Fatma', Gustavo: 'Gustav', Hana: 'Hanna', Ivan: 'Iwan', Jules: 'Julie', Kofi: 'Kodjo', Lena: 'Lina', Mateo: 'Matteo', Noor: 'Nora', Olga: 'Olya', Priya: 'Priyanka' };
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['January', 'February', 'March', 'April', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const GREETINGS = ['Hi team,', 'Hello,', 'Hey support,', 'Good morning,', 'Dear support team,', 'Hi there,'];
const SIGNATURES = ['Thanks!', 'Thank you in advance.', 'Best regards', 'Sent from my iPhone', 'Cheers', 'Kind regards, the billing office', '--\nSent from my phone'];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
// Words whose typo would change meaning or that a guard reads: never touched by `typo`.
const PROTECTED = /^(?:not|no|never|cannot|without|can't|didn't|doesn't|don't|is|can|\p{Lu}.*|.*\d.*)$/u;

class Rng {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = seededUint32(seed);
  }
  below(n: number): number {
    return Math.floor((this.#next() / 0x1_0000_0000) * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.#next() / 0x1_0000_0000 < p;
  }
}

function digits(rng: Rng, n: number): string {
  let out = String(1 + rng.below(9));
  while (out.length < n) out += String(rng.below(10));
  return out;
}

function slots(rng: Rng): Slots {
  const thousands = 1 + rng.below(9);
  return {
    id: digits(rng, 6),
    amount: rng.chance(0.5) ? `${thousands},${digits(rng, 3).replace(/^./, '0')}` : `${digits(rng, 3)}.${digits(rng, 2)}`,
    name: rng.pick(NAMES),
    day: rng.pick(DAYS),
    month: rng.pick(MONTHS),
    date: `2026-${String(1 + rng.below(12)).padStart(2, '0')}-${String(1 + rng.below(28)).padStart(2, '0')}`,
    time: `${1 + rng.below(12)}:${rng.pick(['00', '15', '30', '45'])}`,
    version: `${1 + rng.below(4)}.${rng.below(10)}.${rng.below(10)}`,
    count: String(2 + rng.below(20)),
    neg: rng.chance(0.5),
  };
}

/** Another digit at one position (never the leading digit to zero): an id, amount or date that is off by a keystroke. */
function nudgeDigit(rng: Rng, value: string): string {
  const positions = [...value].map((c, i) => (/\d/.test(c) ? i : -1)).filter((i) => i >= 0);
  const at = rng.pick(positions);
  const old = Number(value[at]);
  const next = (old + 1 + rng.below(8)) % 10;
  return value.slice(0, at) + String(at === 0 && next === 0 ? 1 : next) + value.slice(at + 1);
}

/** One typo in a plain word of four letters or more: insert, delete, substitute or swap. */
function typo(rng: Rng, text: string): string {
  const words = text.split(' ');
  const candidates = words.map((w, i) => (/^[a-z]{4,}[.,?!:;]?$/.test(w) && !PROTECTED.test(w.replace(/[.,?!:;]$/, '')) ? i : -1)).filter((i) => i >= 0);
  if (candidates.length === 0) return text;
  const wi = rng.pick(candidates);
  const word = words[wi] as string;
  const core = word.replace(/[.,?!:;]$/, '');
  const tail = word.slice(core.length);
  const at = 1 + rng.below(core.length - 2);
  let edited: string;
  switch (rng.below(4)) {
    case 0:
      edited = core.slice(0, at) + rng.pick([...LETTERS]) + core.slice(at);
      break;
    case 1:
      edited = core.slice(0, at) + core.slice(at + 1);
      break;
    case 2:
      edited = core.slice(0, at) + rng.pick([...LETTERS.replace(core.charAt(at), '')]) + core.slice(at + 1);
      break;
    default:
      edited = core.slice(0, at) + core.charAt(at + 1) + core.charAt(at) + core.slice(at + 2);
  }
  words[wi] = edited + tail;
  return words.join(' ');
}

function respace(rng: Rng, text: string): string {
  const spaced = text.replace(/ /g, () => rng.pick([' ', ' ', '  ', '\t', ' \n']));
  return `${rng.pick(['', ' ', '\n'])}${spaced}${rng.pick(['', ' ', '\n', '  '])}`;
}

/** Should-merge variants: what a retrying client or a person resending does. */
const RESENDS: Record<string, (rng: Rng, text: string) => string> = {
  case: (rng, text) => (rng.chance(0.5) ? text.toUpperCase() : text.toLowerCase()),
  whitespace: respace,
  typo: (rng, text) => typo(rng, text),
  typos: (rng, text) => typo(rng, typo(rng, text)),
  greeting: (rng, text) => `${rng.pick(GREETINGS)} ${text}`,
  signature: (rng, text) => `${text}\n${rng.pick(SIGNATURES)}`,
  mixed: (rng, text) => {
    const typed = typo(rng, text);
    return respace(rng, rng.chance(0.5) ? typed.toLowerCase() : typed);
  },
};

/** Must-not-merge variants: one fact changed, the wording kept. */
const CHANGES: Record<string, (rng: Rng, s: Slots) => Slots> = {
  id: (rng, s) => ({ ...s, id: nudgeDigit(rng, s.id) }),
  amount: (rng, s) => ({ ...s, amount: nudgeDigit(rng, s.amount) }),
  version: (rng, s) => ({ ...s, version: nudgeDigit(rng, s.version) }),
  date: (rng, s) => ({ ...s, date: s.date.slice(0, 8) + String(((Number(s.date.slice(8)) + rng.below(5)) % 28) + 1).padStart(2, '0') }),
  time: (_rng, s) => ({ ...s, time: s.time.replace(/^\d+/, (h) => String((Number(h) % 12) + 1)) }),
  count: (_rng, s) => ({ ...s, count: String(Number(s.count) + 1) }),
  negation: (_rng, s) => ({ ...s, neg: !s.neg }),
  name: (rng, s) => ({ ...s, name: rng.chance(0.5) ? (LOOKALIKE_NAMES[s.name] as string) : rng.pick(NAMES.filter((n) => n !== s.name)) }),
  day: (rng, s) => ({ ...s, day: rng.pick(DAYS.filter((d) => d !== s.day)) }),
  month: (rng, s) => ({ ...s, month: rng.pick(MONTHS.filter((m) => m !== s.month)) }),
};

/** The slot a change touches, as written by a template (a change to a slot the template lacks is no change). */
const SLOT_OF: Record<string, keyof Slots> = { id: 'id', amount: 'amount', version: 'version', date: 'date', time: 'time', count: 'count', negation: 'neg', name: 'name', day: 'day', month: 'month' };

/** The five pairs quoted in issue 13 (the old default merged them all). */
export const ISSUE_PAIRS: readonly LabelledPair[] = [
  { a: 'I can log in to my account after the update.', b: "I can't log in to my account after the update.", merge: false, kind: 'negation' },
  { a: 'Please refund order 123456, the parcel arrived damaged.', b: 'Please refund order 123457, the parcel arrived damaged.', merge: false, kind: 'id' },
  { a: 'The payment of $1,000 failed', b: 'The payment of $9,000 failed', merge: false, kind: 'amount' },
  { a: 'Translate to French: The meeting is on Monday.', b: 'Translate to French: The meeting is on Tuesday.', merge: false, kind: 'day' },
  { a: 'ticket 0: app crashes on start 0', b: 'ticket 2: app crashes on start 62', merge: false, kind: 'id' },
];

/** Hand-written pairs: other languages, other phrasing, and cases the generator does not make. */
export const HAND_PAIRS: readonly LabelledPair[] = [
  { a: 'Je ne peux pas me connecter à mon compte.', b: 'Je peux me connecter à mon compte.', merge: false, kind: 'negation' },
  { a: 'Ich kann mich nicht anmelden.', b: 'Ich kann mich anmelden.', merge: false, kind: 'negation' },
  { a: 'No puedo pagar la factura 5521.', b: 'Puedo pagar la factura 5521.', merge: false, kind: 'negation' },
  { a: 'The refund has never arrived.', b: 'The refund has arrived.', merge: false, kind: 'negation' },
  { a: 'Ship it without the charger.', b: 'Ship it with the charger.', merge: false, kind: 'negation' },
  { a: 'Upgrade the cluster to 1.28.3 tonight.', b: 'Upgrade the cluster to 1.28.4 tonight.', merge: false, kind: 'version' },
  { a: 'Set the alarm for 06:30 tomorrow.', b: 'Set the alarm for 07:30 tomorrow.', merge: false, kind: 'time' },
  { a: 'Transfer €250 to savings.', b: 'Transfer $250 to savings.', merge: false, kind: 'amount' },
  { a: 'The temperature dropped to -5 degrees.', b: 'The temperature dropped to 5 degrees.', merge: false, kind: 'number' },
  { a: 'Add three seats to the plan.', b: 'Add four seats to the plan.', merge: false, kind: 'number' },
  { a: 'The deadline is 2026-03-14.', b: 'The deadline is 2026-03-15.', merge: false, kind: 'date' },
  { a: 'Deliver the parcel today, please.', b: 'Deliver the parcel tomorrow, please.', merge: false, kind: 'day' },
  { a: 'The report is due at the end of March.', b: 'The report is due at the end of April.', merge: false, kind: 'month' },
  { a: 'Please send the contract to Alice Martin.', b: 'Please send the contract to Alina Martin.', merge: false, kind: 'name' },
  { a: 'Please enable two-factor login on my account.', b: 'Please disable two-factor login on my account.', merge: false, kind: 'opposite' },
  { a: 'Increase the credit limit on my card, please.', b: 'Decrease the credit limit on my card, please.', merge: false, kind: 'opposite' },
  { a: 'Turn the lights on in the lab at night.', b: 'Turn the lights off in the lab at night.', merge: false, kind: 'opposite' },
  { a: 'Is the shop open before the holiday?', b: 'Is the shop open after the holiday?', merge: false, kind: 'opposite' },
  { a: 'Please add the guest account to the admin group.', b: 'Please remove the guest account from the admin group.', merge: false, kind: 'opposite' },
  { a: 'Hello, I want to cancel order 77812.', b: 'Hello, I want to cancel order 77812.', merge: true, kind: 'identical' },
  { a: 'My order 77812 has not arrived yet.', b: 'my order 77812 has not arrived yet!!', merge: true, kind: 'punctuation' },
  { a: 'Can you reset my password? I cannot log in.', b: "Can you reset my password? I can't log in.", merge: true, kind: 'contraction' },
  { a: 'Ｒｅｆｕｎｄ ｏｒｄｅｒ １２３４', b: 'Refund order 1234', merge: true, kind: 'unicode' },
  { a: 'The printer on floor 3 is jammed again.', b: 'The printer on floor 3 is jamed again.', merge: true, kind: 'typo' },
  { a: 'Why was I charged twice for my March bill?', b: 'why was i charged twice for my march bill', merge: true, kind: 'case' },
  { a: 'Where is my refund for order 4410?', b: 'Hi team, where is my refund for order 4410? Thanks!', merge: true, kind: 'greeting' },
  { a: 'Please update the billing address on account 99172.', b: 'Please update the billing address on account 99172.\n\nSent from my iPhone', merge: true, kind: 'signature' },
];

/**
 * Every labelled pair: `perKind` generated pairs of each resend kind (should merge) and of each
 * change kind (must not merge), then the issue's and the hand-written pairs. Deterministic for a seed.
 *
 * @example
 * ```ts
 * const pairs = labelledPairs(); // 20 × 7 resends + 14 × 10 changes + 5 + 27 = 312
 * ```
 */
export function labelledPairs(seed = 13, perKind = { resend: 20, change: 14 }): LabelledPair[] {
  const rng = new Rng(seed);
  const pairs: LabelledPair[] = [];
  for (const [kind, resend] of Object.entries(RESENDS)) {
    for (let i = 0; i < perKind.resend; i++) {
      const a = rng.pick(TEMPLATES)(slots(rng));
      const b = resend(rng, a);
      if (b !== a) pairs.push({ a, b, merge: true, kind });
      else i--;
    }
  }
  for (const [kind, change] of Object.entries(CHANGES)) {
    for (let made = 0; made < perKind.change; ) {
      const template = rng.pick(TEMPLATES);
      const s = slots(rng);
      const a = template(s);
      const b = template(change(rng, s));
      const slot = SLOT_OF[kind] as keyof Slots;
      if (b === a || template({ ...s, [slot]: slot === 'neg' ? !s.neg : `\u0000` }) === a) continue;
      pairs.push({ a, b, merge: false, kind });
      made++;
    }
  }
  return [...pairs, ...ISSUE_PAIRS, ...HAND_PAIRS];
}
