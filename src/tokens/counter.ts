import { PieceCounter } from './bpe.js';
import type { RankTable } from './rank-table.js';

/** Where the pre-tokenizer piece that starts at `start` (< text.length) ends. */
export type PieceEnd = (text: string, start: number) => number;

/**
 * Exact token counts for one encoding: the encoding's pre-tokenizer cuts the text into pieces, and
 * each piece is counted by byte-pair merging ({@link PieceCounter}). Counts equal gpt-tokenizer's
 * `countTokens` with special tokens read as ordinary text.
 */
export class ExactCounter {
  readonly #pieces: PieceCounter;
  readonly #pieceEnd: PieceEnd;

  constructor(table: RankTable, pieceEnd: PieceEnd) {
    this.#pieces = new PieceCounter(table);
    this.#pieceEnd = pieceEnd;
  }

  /** The token count of `text`. */
  count(text: string): number {
    const pieceEnd = this.#pieceEnd;
    const pieces = this.#pieces;
    const length = text.length;
    let total = 0;
    for (let start = 0; start < length; ) {
      const end = pieceEnd(text, start);
      total += pieces.count(text, start, end);
      start = end;
    }
    return total;
  }

  /**
   * Walks the pieces of `text` from `from` (a piece boundary), calling `visit(end, tokens)` for each
   * until it returns false or the walk passes `until`. Returns where the walk stopped.
   */
  walk(text: string, from: number, until: number, visit: (end: number, tokens: number) => boolean): number {
    const pieceEnd = this.#pieceEnd;
    const pieces = this.#pieces;
    const length = text.length;
    let at = from;
    while (at < until && at < length) {
      const end = pieceEnd(text, at);
      const tokens = pieces.count(text, at, end);
      at = end;
      if (!visit(end, tokens)) break;
    }
    return at;
  }
}
