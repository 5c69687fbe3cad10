import { PieceCounter } from './bpe.js';
import type { RankTable } from './rank-table.js';

/**
 * Exact token counts for one encoding: the encoding's pre-tokenizer cuts the text into pieces, and
 * each piece is counted by byte-pair merging ({@link PieceCounter}). Counts equal gpt-tokenizer's
 * `countTokens` with special tokens read as ordinary text.
 */
export class ExactCounter {
  readonly #pieces: PieceCounter;
  readonly #split: RegExp;

  constructor(table: RankTable, split: RegExp) {
    this.#pieces = new PieceCounter(table);
    // A private copy: the pattern is stateful (lastIndex) and gpt-tokenizer's own is shared.
    this.#split = new RegExp(split.source, split.flags.includes('g') ? split.flags : `${split.flags}g`);
  }

  /** The token count of `text`. */
  count(text: string): number {
    const split = this.#split;
    const pieces = this.#pieces;
    split.lastIndex = 0;
    let total = 0;
    let match: RegExpExecArray | null;
    while ((match = split.exec(text)) !== null) total += pieces.count(text, match.index, split.lastIndex);
    return total;
  }

  /**
   * Walks the pieces of `text` from `from` (a piece boundary), calling `visit(end, tokens)` for each
   * until it returns false or `until` code units are passed. Returns where the walk stopped.
   */
  walk(text: string, from: number, until: number, visit: (end: number, tokens: number) => boolean): number {
    const split = this.#split;
    const pieces = this.#pieces;
    split.lastIndex = from;
    let at = from;
    let match: RegExpExecArray | null;
    while (at < until && (match = split.exec(text)) !== null) {
      const end = split.lastIndex;
      const tokens = pieces.count(text, match.index, end);
      at = end;
      if (!visit(end, tokens)) break;
    }
    return at;
  }
}
