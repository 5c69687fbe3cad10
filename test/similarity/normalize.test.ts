import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeText } from '../../src/internal/similarity/normalize.js';

describe('normalizeText', () => {
  it('applies NFKC: compatibility forms fold to plain letters, and composed equals decomposed', () => {
    expect(normalizeText('Ｆｕｌｌ－ｗｉｄｔｈ')).toBe('full-width');
    expect(normalizeText('ﬁne ﬀ')).toBe('fine ff');
    expect(normalizeText('① ²')).toBe('1 2');
    expect(normalizeText('cafe\u0301')).toBe(normalizeText('café'));
    expect(normalizeText('ｶﾀｶﾅ')).toBe('カタカナ');
  });

  it('folds case as Unicode full case folding does for equality', () => {
    expect(normalizeText('Straße')).toBe('strasse');
    expect(normalizeText('STRASSE')).toBe('strasse');
    expect(normalizeText('ẞ')).toBe('ss');
    expect(normalizeText('ΟΔΟΣ')).toBe(normalizeText('οδοσ'));
    expect(normalizeText('ſ')).toBe('s');
    expect(normalizeText('ǅ')).toBe(normalizeText('ǆ'));
    expect(normalizeText('Ꭰ')).toBe(normalizeText('ꭰ'));
    expect(normalizeText('ПРИВЕТ Мир')).toBe('привет мир');
  });

  it('collapses every kind of whitespace run to one space and trims', () => {
    expect(normalizeText('  a \t\n b\r\n\nc  ')).toBe('a b c');
    expect(normalizeText('a\u00a0b\u3000c\u2003d\u0085e\u2028f')).toBe('a b c d e f');
    expect(normalizeText('\t\n ')).toBe('');
  });

  it('removes default-ignorable characters (zero-width space, soft hyphen, joiners)', () => {
    expect(normalizeText('zero\u200bwidth soft\u00adhyphen')).toBe('zerowidth softhyphen');
    expect(normalizeText('\ufeffbom')).toBe('bom');
  });

  it('does not merge texts that differ in a letter', () => {
    expect(normalizeText('héllo')).not.toBe(normalizeText('hello'));
    expect(normalizeText('日本')).not.toBe(normalizeText('日木'));
  });

  it('is idempotent (property, any Unicode)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => {
        const once = normalizeText(text);
        expect(normalizeText(once)).toBe(once);
      }),
      { seed: 1, numRuns: 2000 },
    );
  });

  it('ignores case and spacing changes of ASCII text (property)', () => {
    const word = fc.stringMatching(/^[a-z]{1,8}$/);
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 8 }), fc.array(fc.constantFrom(' ', '  ', '\t', '\n'), { minLength: 8, maxLength: 8 }), (words, gaps) => {
        const plain = words.join(' ');
        const noisy = ` ${words.map((w, i) => (i % 2 === 0 ? w.toUpperCase() : w)).reduce((acc, w, i) => acc + (gaps[i] as string) + w)}\n`;
        expect(normalizeText(noisy)).toBe(normalizeText(plain));
        expect(normalizeText(plain)).toBe(plain);
      }),
      { seed: 2, numRuns: 500 },
    );
  });
});
