import { asyncScheduler, type SchedulerLike } from 'rxjs';

/** Option checks that throw at operator creation, naming the option, as native operators do. */

export function requireObject(options: unknown, operator: string): Record<string, unknown> {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${operator}: expected an options object`);
  return options as Record<string, unknown>;
}

export function positiveNumber(value: unknown, name: string, options: { integer?: boolean; min?: number } = {}): number {
  const min = options.min ?? 0;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${name}: expected a number, got ${describe(value)}`);
  const inRange = min === 0 ? value > 0 : value >= min;
  if (!Number.isFinite(value) || !inRange) {
    throw new RangeError(`${name}: expected ${min === 0 ? 'a number > 0' : `a number >= ${min}`}, got ${value}`);
  }
  if (options.integer && !Number.isInteger(value)) throw new RangeError(`${name}: expected a whole number, got ${value}`);
  return value;
}

export function optionalPositive(value: unknown, name: string, options: { integer?: boolean; min?: number } = {}): number | undefined {
  return value === undefined ? undefined : positiveNumber(value, name, options);
}

export function nonNegative(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${name}: expected a number, got ${describe(value)}`);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name}: expected a number >= 0, got ${value}`);
  return value;
}

export function oneOf<const V extends string>(value: unknown, name: string, allowed: readonly V[], fallback: V): V {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw new TypeError(`${name}: expected one of ${allowed.map((v) => `'${v}'`).join(', ')}`);
  if (!(allowed as readonly string[]).includes(value)) {
    throw new RangeError(`${name}: expected one of ${allowed.map((v) => `'${v}'`).join(', ')}, got '${value}'`);
  }
  return value as V;
}

export function optionalFunction<F extends (...args: never[]) => unknown>(value: unknown, name: string): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new TypeError(`${name}: expected a function, got ${describe(value)}`);
  return value as F;
}

export function scheduler(value: unknown, name: string): SchedulerLike {
  if (value === undefined) return asyncScheduler;
  if (!isSchedulerLike(value)) {
    throw new TypeError(`${name}: expected an RxJS SchedulerLike (with now() and schedule())`);
  }
  return value;
}

function isSchedulerLike(value: unknown): value is SchedulerLike {
  if (typeof value !== 'object' || value === null) return false;
  const { now, schedule } = value as Record<string, unknown>;
  return typeof now === 'function' && typeof schedule === 'function';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return typeof value;
}

/**
 * Reads one operator's options: every key must be known (a typo such as `maxWait` is rejected with
 * a suggestion rather than silently ignored), and every message names the operator and the option.
 */
export class OptionReader {
  readonly raw: Record<string, unknown>;
  constructor(
    readonly operator: string,
    raw: unknown,
    keys: readonly string[],
    /** The path of these options inside the operator's, for nested objects (`'retry'`). */
    readonly path = '',
  ) {
    const label = path === '' ? operator : `${operator}: ${path}`;
    if (raw === undefined) raw = {};
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError(`${label}: expected an options object, got ${describe(raw)}`);
    this.raw = raw as Record<string, unknown>;
    for (const key of Object.keys(this.raw)) {
      if (keys.includes(key)) continue;
      const near = closest(key, keys);
      const name = path === '' ? key : `${path}.${key}`;
      throw new TypeError(`${operator}: unknown option '${name}'${near ? ` (did you mean '${near}'?)` : ` (known: ${keys.join(', ')})`}`);
    }
  }

  /** `operator: path.key`, the name an error message gives an option. */
  name(key: string): string {
    return `${this.operator}: ${this.path === '' ? key : `${this.path}.${key}`}`;
  }
  positive(key: string, options?: { integer?: boolean; min?: number }): number {
    if (this.raw[key] === undefined) throw new TypeError(`${this.name(key)} is required`);
    return positiveNumber(this.raw[key], this.name(key), options);
  }
  optionalPositive(key: string, options?: { integer?: boolean; min?: number }): number | undefined {
    return optionalPositive(this.raw[key], this.name(key), options);
  }
  nonNegative(key: string, fallback: number): number {
    return nonNegative(this.raw[key], this.name(key), fallback);
  }
  oneOf<const V extends string>(key: string, allowed: readonly V[], fallback: V): V {
    return oneOf(this.raw[key], this.name(key), allowed, fallback);
  }
  fn<F extends (...args: never[]) => unknown>(key: string): F | undefined {
    return optionalFunction<F>(this.raw[key], this.name(key));
  }
  bool(key: string, fallback: boolean): boolean {
    const value = this.raw[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') throw new TypeError(`${this.name(key)}: expected true or false, got ${describe(value)}`);
    return value;
  }
  scheduler(key = 'scheduler'): SchedulerLike {
    return scheduler(this.raw[key], this.name(key));
  }
  /** A nested options object, read with the same rules. */
  nested(key: string, keys: readonly string[]): OptionReader {
    return new OptionReader(this.operator, this.raw[key], keys, this.path === '' ? key : `${this.path}.${key}`);
  }
}

/** The known key nearest to a mistyped one, if any is near enough to suggest. */
function closest(key: string, keys: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const words = wordsOf(key);
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.ceil(key.length / 3)) + 1;
  for (const candidate of keys) {
    const other = candidate.toLowerCase();
    if (other === lower) return candidate;
    // 'attempts' for 'maxAttempts', 'maxDepth' for 'maxSplitDepth': the typed words are all there.
    const otherWords = wordsOf(candidate);
    const distance = other.includes(lower) || words.every((word) => otherWords.includes(word)) ? 1 : editDistance(lower, other);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function wordsOf(key: string): string[] {
  return key
    .split(/(?=[A-Z])|[_.-]/)
    .map((word) => word.toLowerCase())
    .filter(Boolean);
}

/** Levenshtein distance, two rows. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/**
 * Runs a function's option parsing so that every RangeError or TypeError it throws names the
 * function (`simulatedModel: contextWindow: ...`), for parsers written with the plain checks above.
 */
export function parseOptionsOf<R>(operator: string, parse: () => R): R {
  try {
    return parse();
  } catch (error) {
    if ((error instanceof TypeError || error instanceof RangeError) && !error.message.startsWith(`${operator}:`)) error.message = `${operator}: ${error.message}`;
    throw error;
  }
}
