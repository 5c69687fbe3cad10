import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  calendarAgree,
  calendarTokens,
  createPairGuard,
  namesAgree,
  nameTokens,
  negationCount,
  negationsAgree,
  numbersAgree,
  numberTokens,
  oppositesAgree,
  oppositeTokens,
  resolveGuardOptions,
} from '../../src/internal/similarity/guards.js';
import { normalizeText } from '../../src/internal/similarity/normalize.js';

/** The five pairs quoted in issue 13: the old default merged each of them. */
const ISSUE_PAIRS: [string, string][] = [
  ['I can log in to my account after the update.', "I can't log in to my account after the update."],
  ['Please refund order 123456, it arrived broken.', 'Please refund order 123457, it arrived broken.'],
  ['The payment of $1,000 failed', 'The payment of $9,000 failed'],
  ['Translate to French: The meeting is on Monday.', 'Translate to French: The meeting is on Tuesday.'],
  ['ticket 0: app crashes on start 0', 'ticket 2: app crashes on start 62'],
];

describe('numberTokens / numbersAgree', () => {
  it('takes digit runs with separators and signs, currency symbols, % and number words', () => {
    expect(numberTokens('Refund $1,000 on order 123456 by March 3rd, three times')).toEqual(['1,000', '123456', '3', '$', 'three']);
    expect(numberTokens('v1.2.3 at 10:30 on 2024-03-01 or 03/01/2024, -5 °C, +3, −7, 50%')).toEqual(['1.2.3', '10:30', '2024-03-01', '03/01/2024', '-5', '3', '-7', '50', '%']);
    expect(numberTokens('order-123')).toEqual(['123']);
    expect(numberTokens('ｏｒｄｅｒ １２３')).toEqual(['123']);
    expect(numberTokens('no numbers here')).toEqual([]);
  });

  it('tells amounts, ids, versions, dates, times, signs and currencies apart', () => {
    expect(numbersAgree('The payment of $1,000 failed', 'The payment of $9,000 failed')).toBe(false);
    expect(numbersAgree('refund order 123456', 'refund order 123457')).toBe(false);
    expect(numbersAgree('upgrade to 1.2.3 broke it', 'upgrade to 1.2.4 broke it')).toBe(false);
    expect(numbersAgree('due 2024-03-01', 'due 2024-03-02')).toBe(false);
    expect(numbersAgree('meet at 10:30', 'meet at 11:30')).toBe(false);
    expect(numbersAgree('it is -5 outside', 'it is 5 outside')).toBe(false);
    expect(numbersAgree('pay $100', 'pay €100')).toBe(false);
    expect(numbersAgree('add three users', 'add four users')).toBe(false);
    expect(numbersAgree('order 12 and 3', 'order 1 and 23')).toBe(false);
    expect(numbersAgree('ticket 0: app crashes on start 0', 'ticket 2: app crashes on start 62')).toBe(false);
  });

  it('lets the same numbers through, in any order and around any edit of the words', () => {
    expect(numbersAgree('The payment of $1,000 failed', 'the PAYMENT  of $1,000 faild!')).toBe(true);
    expect(numbersAgree('items 4 and 5', 'items 5 and 4')).toBe(true);
    expect(numbersAgree('no digits', 'none at all')).toBe(true);
  });

  it('rejects in the safe direction when a value is spelled two ways', () => {
    expect(numbersAgree('pay $1,000', 'pay $1000')).toBe(false);
  });
});

describe('negationCount / negationsAgree', () => {
  it('counts English negations, with and without apostrophes', () => {
    expect(negationCount("I can't log in")).toBe(1);
    expect(negationCount('I can’t log in')).toBe(1);
    expect(negationCount('I cant log in')).toBe(1);
    expect(negationCount('I cannot log in')).toBe(1);
    expect(negationCount('It is not broken, no, never without a reason')).toBe(4);
    expect(negationCount("doesn't, won't, isn't")).toBe(3);
    expect(negationCount('I can log in, nothing to report')).toBe(1);
    expect(negationCount('I can log in')).toBe(0);
  });

  it('counts French, German, Spanish, Italian and Portuguese negations', () => {
    expect(negationCount('Je ne peux pas me connecter')).toBe(2);
    expect(negationCount("Ça n'a jamais marché")).toBe(2);
    expect(negationCount('Ich kann mich nicht anmelden')).toBe(1);
    expect(negationCount('Ich habe keine Rechnung bekommen')).toBe(1);
    expect(negationCount('No puedo iniciar sesión, nunca funciona')).toBe(2);
    expect(negationCount('Non riesco ad accedere')).toBe(1);
    expect(negationCount('Não consigo entrar')).toBe(1);
  });

  it('tells a statement from its negation, and lets rewordings of one negation through', () => {
    expect(negationsAgree('I can log in to my account after the update.', "I can't log in to my account after the update.")).toBe(false);
    expect(negationsAgree('Ich kann mich anmelden', 'Ich kann mich nicht anmelden')).toBe(false);
    expect(negationsAgree('Je peux me connecter', 'Je ne peux pas me connecter')).toBe(false);
    expect(negationsAgree('Puedo entrar', 'No puedo entrar')).toBe(false);
    expect(negationsAgree("I can't log in", 'I cannot log in')).toBe(true);
  });

  it('rejects a typo inside a negation (the safe direction)', () => {
    expect(negationsAgree('My order has not arrived', 'My order has nto arrived')).toBe(false);
  });
});

describe('calendarTokens / calendarAgree', () => {
  it('takes weekdays, months and relative days in four languages', () => {
    expect(calendarTokens('The meeting is on Monday morning')).toEqual(['monday', 'morning']);
    expect(calendarTokens("Réunion lundi, pas aujourd'hui")).toEqual(['lundi', 'aujourd']);
    expect(calendarTokens('Termin am Dienstag')).toEqual(['am', 'dienstag']); // am: also English a.m., counted alike on both sides
    expect(calendarTokens('La reunión es el martes')).toEqual(['martes']);
  });

  it('tells days and months apart', () => {
    expect(calendarAgree('Translate to French: The meeting is on Monday.', 'Translate to French: The meeting is on Tuesday.')).toBe(false);
    expect(calendarAgree('due in March', 'due in April')).toBe(false);
    expect(calendarAgree('ship it today', 'ship it tomorrow')).toBe(false);
    expect(calendarAgree('ship it on Friday', 'SHIP IT ON FRIDAY!!')).toBe(true);
  });
});

describe('nameTokens / namesAgree', () => {
  it('takes capitalized words that do not start a sentence', () => {
    expect(nameTokens('Please call Alice about the Berlin office. Thanks')).toEqual(['alice', 'berlin']);
    expect(nameTokens('"Hello" said Bob')).toEqual(['bob']);
    expect(nameTokens('Move my appointment with Dr. Hana. Mrs. Olga too')).toEqual(['dr', 'hana', 'olga']);
    expect(nameTokens('ALL CAPS TEXT')).toEqual([]);
  });

  it('tells names apart and lets case changes through', () => {
    expect(namesAgree('Please refund Alice for the order', 'Please refund Alina for the order')).toBe(false);
    expect(namesAgree('Please refund Alice for the order', 'PLEASE REFUND ALICE FOR THE ORDER')).toBe(true);
    expect(namesAgree('Please refund Alice for the order', 'please refund alice for the order')).toBe(true);
  });
});

describe('oppositeTokens / oppositesAgree', () => {
  it('takes words of opposite meaning and tells a request from its opposite', () => {
    expect(oppositeTokens('Please enable dark mode before Friday')).toEqual(['enable', 'before']);
    expect(oppositesAgree('Please enable two-factor login', 'Please disable two-factor login')).toBe(false);
    expect(oppositesAgree('Turn the lights on in the lab', 'Turn the lights off in the lab')).toBe(false);
    expect(oppositesAgree('Increase my credit limit', 'increase  my credit limit!')).toBe(true);
    expect(oppositesAgree('Open the shop before noon', 'Open the shop befroe noon')).toBe(true); // a typo is not an opposite
    expect(oppositesAgree('Add Bob, then remove Eve', 'Remove Bob, then add Eve')).toBe(true); // same counts: the names guard's job
    expect(oppositesAgree('Add the guest account to the group', 'Remove the guest account from the group')).toBe(false);
  });
});

describe('createPairGuard', () => {
  it('by default, rejects each pair quoted in issue 13', () => {
    const guard = createPairGuard(undefined, undefined, 'dedupeSimilar');
    for (const [a, b] of ISSUE_PAIRS) expect(guard?.(a, b), `${a} / ${b}`).toBe(false);
  });

  it('by default, lets resends with case, white space, typos and punctuation through', () => {
    const guard = createPairGuard(undefined, undefined, 'dedupeSimilar') as (a: string, b: string) => boolean;
    expect(guard('My order #123456 has not arrived.', 'my  order #123456 has not arived')).toBe(true);
    expect(guard("I can't log in since Monday", "I CAN'T LOG IN SINCE MONDAY!!!")).toBe(true);
  });

  it('never rejects two texts that are the same after normalization (property)', () => {
    const guard = createPairGuard({ names: true }, undefined, 'dedupeSimilar') as (a: string, b: string) => boolean;
    const chunk = fc.constantFrom('order', '123', '$1,000', "can't", 'not', 'Monday', 'Alice', 'le', 'ne', 'pas', 'Ｆｕｌｌ', '１２', ' ', '  ', '\t', '.', 'ß', 'SS');
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 12 }), fc.array(fc.boolean(), { maxLength: 12 }), (chunks, upper) => {
        const a = chunks.join(' ');
        const b = chunks.map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join('  ');
        fc.pre(normalizeText(a) === normalizeText(b));
        return guard(a, b) && guard(b, a);
      }),
    );
  });

  it('is symmetric (property)', () => {
    const guard = createPairGuard({ names: true }, undefined, 'dedupeSimilar') as (a: string, b: string) => boolean;
    const text = fc.array(fc.constantFrom('order', '12', '3', 'not', 'no', 'Monday', 'may', 'Alice', 'bob', 'pas', '$', '.', ' '), { maxLength: 10 }).map((w) => w.join(' '));
    fc.assert(fc.property(text, text, (a, b) => guard(a, b) === guard(b, a)));
  });

  it('can be switched off whole or guard by guard', () => {
    expect(createPairGuard(false, undefined, 'dedupeSimilar')).toBeUndefined();
    const noNumbers = createPairGuard({ numbers: false }, undefined, 'dedupeSimilar') as (a: string, b: string) => boolean;
    expect(noNumbers('refund order 123456', 'refund order 123457')).toBe(true);
    expect(noNumbers('I can log in', "I can't log in")).toBe(false);
    const noNegations = createPairGuard({ negations: false }, undefined, 'dedupeSimilar') as (a: string, b: string) => boolean;
    expect(noNegations('I can log in', "I can't log in")).toBe(true);
    expect(createPairGuard({ numbers: false, negations: false, calendar: false, names: false, opposites: false }, undefined, 'x')).toBeUndefined();
    const noNames = createPairGuard({ names: false }, undefined, 'x') as (a: string, b: string) => boolean;
    expect(noNames('Please refund Alice now', 'Please refund Alina now')).toBe(true);
  });

  it('runs a custom guard after the built-in ones, also alone', () => {
    const calls: [string, string][] = [];
    const custom = (a: string, b: string) => {
      calls.push([a, b]);
      return !a.includes('VIP') && !b.includes('VIP');
    };
    const guard = createPairGuard(undefined, custom, 'dedupeSimilar') as (a: string, b: string) => boolean;
    expect(guard('refund 1', 'refund 2')).toBe(false);
    expect(calls).toEqual([]);
    expect(guard('refund VIP 1', 'refund vip 1')).toBe(false);
    expect(guard('refund 1', 'Refund 1')).toBe(true);
    expect(guard('same', 'same')).toBe(true);
    const alone = createPairGuard(false, () => false, 'x') as (a: string, b: string) => boolean;
    expect(alone('same', 'same')).toBe(false);
  });

  it('throws naming the function and the option', () => {
    expect(() => createPairGuard('yes', undefined, 'dedupeSimilar')).toThrow(
      new TypeError('dedupeSimilar: guards: expected false or an object such as { numbers: true, negations: true }, got string'),
    );
    expect(() => createPairGuard(null, undefined, 'dedupeSimilar')).toThrow(TypeError);
    expect(() => createPairGuard({ digits: true }, undefined, 'dedupeSimilar')).toThrow(
      new TypeError("dedupeSimilar: unknown option 'guards.digits' (known: numbers, negations, calendar, names, opposites)"),
    );
    expect(() => createPairGuard({ negation: true }, undefined, 'dedupeSimilar')).toThrow(
      new TypeError("dedupeSimilar: unknown option 'guards.negation' (did you mean 'negations'?)"),
    );
    expect(() => createPairGuard({ numbers: 1 }, undefined, 'dedupeSimilar')).toThrow(new TypeError('dedupeSimilar: guards.numbers: expected true or false, got 1'));
    expect(() => createPairGuard(undefined, 'no', 'dedupeSimilar')).toThrow(new TypeError('dedupeSimilar: guard: expected a function (a, b) => boolean, got string'));
    expect(resolveGuardOptions(true, 'x')).toEqual({ numbers: true, negations: true, calendar: true, names: true, opposites: true });
    expect(resolveGuardOptions(undefined, 'x')).toEqual({ numbers: true, negations: true, calendar: true, names: true, opposites: true });
  });
});
