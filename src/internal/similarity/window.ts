/**
 * The bounded window of representatives shared by the text and embedding indexes: at most
 * `maxEntries` of them, each for at most `ttlMs` after it was added. Time is a number the caller
 * passes in (no timers here).
 */

/**
 * What the window needs of an entry.
 */
export interface WindowEntry {
  readonly id: number;
  readonly addedAt: number;
}

/**
 * Representatives by id, and in insertion order, which is also time order because the clock never
 * goes back. Policy when full: the oldest representative is evicted to make room. Expiry is lazy:
 * whenever the caller passes a time, representatives whose age has reached `ttlMs` are evicted
 * first.
 *
 * The order is an array queue with a head index rather than a `Map`'s own order: V8 leaves deleted
 * `Map` entries as holes that iteration walks over, so finding the oldest of a `Map` after many
 * evictions costs O(window) (measured: 4 µs an eviction at 10,000). An entry removed out of order is
 * only dropped from the id map; the queue skips it later and is rebuilt once mostly stale.
 */
export class RepresentativeWindow<E extends WindowEntry> {
  readonly maxEntries: number;
  readonly ttlMs: number | undefined;
  private readonly entries = new Map<number, E>();
  private queue: E[] = [];
  private head = 0;
  private readonly onEvict: (entry: E) => void;
  private readonly owner: string;
  private clock = Number.NEGATIVE_INFINITY;

  /**
   * @param onEvict - called for each entry leaving the window (evicted, expired or removed) so the
   *   owner can drop it from its lookup structures
   * @param owner - names the index in error messages
   */
  constructor(maxEntries: number, ttlMs: number | undefined, onEvict: (entry: E) => void, owner: string) {
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
    this.onEvict = onEvict;
    this.owner = owner;
  }

  /**
   * Moves the clock to `now` and evicts what has expired; returns the time to use. A `now` earlier
   * than one seen before is taken as the latest seen (a clock that steps back never revives
   * expired representatives nor breaks the time order of the window).
   */
  advance(now: number): number {
    if (typeof now !== 'number' || !Number.isFinite(now)) throw new TypeError(`${this.owner}: now: expected a finite number, got ${String(now)}`);
    if (now > this.clock) this.clock = now;
    if (this.ttlMs !== undefined) {
      const cutoff = this.clock - this.ttlMs;
      for (let oldest = this.oldest(); oldest !== undefined && oldest.addedAt <= cutoff; oldest = this.oldest()) this.evict(oldest);
    }
    return this.clock;
  }

  /**
   * Adds an entry (its `addedAt` must come from {@link RepresentativeWindow.advance}), first evicting
   * the oldest entries while the window is full. Throws if the id is already held.
   */
  admit(entry: E): void {
    if (this.entries.has(entry.id)) throw new RangeError(`${this.owner}: add: id ${entry.id} is already a representative`);
    while (this.entries.size >= this.maxEntries) this.evict(this.oldest() as E);
    this.entries.set(entry.id, entry);
    this.queue.push(entry);
  }

  /**
   * Removes the entry with this id; returns it, or undefined if it was not held.
   */
  remove(id: number): E | undefined {
    const entry = this.entries.get(id);
    if (entry !== undefined) this.evict(entry);
    return entry;
  }

  /**
   * The entry with this id, if held.
   */
  get(id: number): E | undefined {
    return this.entries.get(id);
  }

  /** How many entries are held. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The entries, oldest first.
   */
  *values(): IterableIterator<E> {
    for (let i = this.head; i < this.queue.length; i++) {
      const entry = this.queue[i] as E;
      if (this.entries.get(entry.id) === entry) yield entry;
    }
  }

  /** The oldest live entry: skips (and drops) queue slots of entries removed out of order. */
  private oldest(): E | undefined {
    while (this.head < this.queue.length) {
      const entry = this.queue[this.head] as E;
      if (this.entries.get(entry.id) === entry) return entry;
      this.head++;
    }
    return undefined;
  }

  private evict(entry: E): void {
    this.entries.delete(entry.id);
    this.onEvict(entry);
    // Slots of evicted or removed entries stay in the queue until this rebuild, which runs once they
    // outnumber the live entries (plus slack): memory stays within twice the window, in amortized O(1).
    if (this.queue.length - this.entries.size > this.entries.size + 32) {
      this.queue = this.queue.slice(this.head).filter((held) => this.entries.get(held.id) === held);
      this.head = 0;
    }
  }
}
