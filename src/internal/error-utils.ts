import { TokenbatchError } from '../errors.js';

/** Any thrown value as an Error: an Error as it is, anything else wrapped with the value as `cause`. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new TokenbatchError(typeof error === 'string' ? error : 'a non-Error value was thrown', { cause: error });
}

/** The message of any thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
