/**
 * A first-in first-out queue with O(1) push and shift (`Array.prototype.shift` is O(n), which made
 * delivery quadratic on long queues). A ring buffer that doubles when full.
 */
export class Deque<T> {
  #items: (T | undefined)[] = new Array<T | undefined>(16);
  #head = 0;
  #size = 0;

  get length(): number {
    return this.#size;
  }

  push(value: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) & (this.#items.length - 1)] = value;
    this.#size++;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const value = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#size--;
    return value;
  }

  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  clear(): void {
    this.#items = new Array<T | undefined>(16);
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): void {
    const items = new Array<T | undefined>(this.#items.length * 2);
    for (let i = 0; i < this.#size; i++) items[i] = this.#items[(this.#head + i) & (this.#items.length - 1)];
    this.#items = items;
    this.#head = 0;
  }
}
