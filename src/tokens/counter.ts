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

  /** The longest token in bytes. */
  readonly maxTokenBytes: number;

  constructor(table: RankTable, pieceEnd: PieceEnd) {
    this.#pieces = new PieceCounter(table);
    this.#pieceEnd = pieceEnd;
    this.maxTokenBytes = table.maxLength;
  }

  /** Where the piece that starts at `start` (< text.length, a piece boundary) ends. */
  pieceEnd(text: string, start: number): number {
    return this.#pieceEnd(text, start);
  }

  /** The tokens of the piece text[start, end). */
  countPiece(text: string, start: number, end: number): number {
    return this.#pieces.count(text, start, end);
  }

  /** The token count of `text`. */
  count(text: string): number {
    const pieceEnd = this.#pieceEnd;
    const pieces = this.#pieces;
    const length = text.length;
    let total = 0;
    for (let start = 0; start < length;) {
      const end = pieceEnd(text, start);
      total += pieces.count(text, start, end);
      start = end;
    }
    return total;
  }
}
