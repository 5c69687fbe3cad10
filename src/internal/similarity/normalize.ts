/**
 * Text normalization for near-duplicate detection: two texts that differ only in Unicode form,
 * letter case, invisible format characters or spacing normalize to the same string.
 */

const IGNORABLE = /\p{Default_Ignorable_Code_Point}+/gu;
// JS `\s` is ECMAScript whitespace; U+0085 (NEXT LINE) is Unicode White_Space but not in `\s`.
const WHITESPACE = /[\s\u0085]+/gu;

/**
 * Normalizes a text for comparison: Unicode NFKC (compatibility forms such as full-width letters
 * and ligatures fold to their plain letters), default-ignorable code points removed (zero-width
 * spaces, joiners, soft hyphens, variation selectors), case folded, runs of whitespace collapsed to
 * one space, and leading and trailing whitespace trimmed.
 *
 * Case folding is lower, upper, then lower case again (locale-independent in JS): it folds as
 * Unicode full case folding does for equality, so `ß`, `ẞ` and `SS`, `ſ` and `s`, final `ς` and `σ`
 * all compare equal (the first lowering is for `ẞ`, whose upper case is itself). A second NFKC pass
 * re-composes what the case mappings decompose, which keeps the function idempotent. The steps
 * mirror Unicode's NFKC_Casefold.
 */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').replace(IGNORABLE, '').toLowerCase().toUpperCase().toLowerCase().normalize('NFKC').replace(WHITESPACE, ' ').trim();
}
