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
