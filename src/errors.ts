/**
 * The error taxonomy. Every failure tokenbatch reports is one of these classes, each with a stable
 * `name`, so that code can branch on `error.name` or `instanceof` alike. The provider's original
 * error, when there is one, is kept as `cause`.
 */

/**
 * Base class of every tokenbatch error.
 *
 * @example
 * ```ts
 * import { TokenbatchError } from 'tokenbatch';
 * if (outcome.ok === false && outcome.error instanceof TokenbatchError) console.log(outcome.error.name);
 * ```
 */
export class TokenbatchError extends Error {
  override name = 'TokenbatchError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The provider asked us to slow down (HTTP 429 `rate_limit_exceeded`). Retried after `retryAfterMs`
 * when the provider said how long to wait, otherwise after the usual backoff.
 *
 * @example
 * ```ts
 * throw new RateLimitError('slow down', { retryAfterMs: 1200 });
 * ```
 */
export class RateLimitError extends TokenbatchError {
  override name = 'RateLimitError';
  /** How long the provider asked us to wait, in milliseconds, if it said. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The account is out of credit or quota (HTTP 429 `insufficient_quota`). Never retried: waiting
 * does not help.
 *
 * @example
 * ```ts
 * if (error instanceof QuotaExhaustedError) process.exitCode = 2;
 * ```
 */
export class QuotaExhaustedError extends TokenbatchError {
  override name = 'QuotaExhaustedError';
}

/**
 * The request was longer than the model's context window. Never retried as it is: `splitOnOverflow`
 * splits the batch and retries the halves.
 *
 * @example
 * ```ts
 * throw new ContextOverflowError('maximum context length is 8192 tokens');
 * ```
 */
export class ContextOverflowError extends TokenbatchError {
  override name = 'ContextOverflowError';
}

/**
 * An attempt took longer than `timeoutMs`; its handler's `signal` was aborted. Retryable.
 *
 * @example
 * ```ts
 * if (error instanceof TimeoutError) console.warn('slow model');
 * ```
 */
export class TimeoutError extends TokenbatchError {
  override name = 'TimeoutError';
}

/**
 * A failure that may pass if tried again: HTTP 5xx, a dropped connection. Retryable.
 *
 * @example
 * ```ts
 * throw new TransientError('502 from upstream', { cause: response });
 * ```
 */
export class TransientError extends TokenbatchError {
  override name = 'TransientError';
}

/**
 * A handler returned a different number of results than the batch had items, so results could not
 * be matched to items safely. The batch's items fail with it rather than being misaligned.
 *
 * @example
 * ```ts
 * if (error instanceof BatchResultMismatchError) console.log(error.expected, error.received);
 * ```
 */
export class BatchResultMismatchError extends TokenbatchError {
  override name = 'BatchResultMismatchError';
  constructor(
    message: string,
    /** How many results the batch needed. */
    readonly expected: number,
    /** How many results came back. */
    readonly received: number,
    options?: { cause?: unknown; itemIndex?: number },
  ) {
    super(message, options);
    this.itemIndex = options?.itemIndex;
  }
  /** For a single item's missing result: that item's position in the chain's input. */
  readonly itemIndex: number | undefined;
}

/**
 * The model refused a whole call because of what some item in it says (an invalid request, a content
 * rejection, an answer that cannot be parsed). Throw it from a handler to ask `mergeBatches` to
 * isolate the offending items: the batch is bisected, and only the items that still fail alone get
 * this error as their outcome. Errors no item can cause (401, quota, rate limits, timeouts, 5xx)
 * never start a bisection.
 *
 * @example
 * ```ts
 * import { BatchRejectedError } from 'tokenbatch';
 * const handler = async (batch) => {
 *   const answer = await callModel(batch.items);
 *   if (answer.refused) throw new BatchRejectedError('the model refused the request');
 *   return answer.results;
 * };
 * ```
 */
export class BatchRejectedError extends TokenbatchError {
  override name = 'BatchRejectedError';
}

/**
 * An item does not fit in a batch even alone: its tokens plus the batch and item overheads exceed
 * `maxTokens`.
 *
 * @example
 * ```ts
 * if (error instanceof OversizeItemError) console.log(`item ${error.itemIndex} has ${error.tokens} tokens`);
 * ```
 */
export class OversizeItemError extends TokenbatchError {
  override name = 'OversizeItemError';
  constructor(
    /** The item's 0-based position in the input. */
    readonly itemIndex: number,
    /** The item's token count, overheads included. */
    readonly tokens: number,
    /** The budget it exceeded. */
    readonly maxTokens: number,
  ) {
    super(`item ${itemIndex} needs ${tokens} tokens, more than maxTokens (${maxTokens}) even alone`);
  }
}

/**
 * An item could not be turned into text or counted (the `text` function threw or returned a
 * non-string, or the tokenizer threw). In a chain it becomes that item's failed outcome.
 *
 * @example
 * ```ts
 * if (error instanceof InvalidItemError) console.log(`bad item at ${error.itemIndex}`);
 * ```
 */
export class InvalidItemError extends TokenbatchError {
  override name = 'InvalidItemError';
  constructor(
    message: string,
    /** The item's 0-based position in the input. */
    readonly itemIndex: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Work was cancelled: the subscriber unsubscribed, the `for await` loop broke, or a caller's signal
 * fired. Its `name` is `'AbortError'`, as with DOM aborts, so existing checks keep working.
 *
 * @example
 * ```ts
 * signal.addEventListener('abort', () => console.log(signal.reason instanceof AbortError));
 * ```
 */
export class AbortError extends TokenbatchError {
  override name = 'AbortError';
}

/**
 * `mergeBatches` received more than `maxQueuedItems` items from an asynchronous push source while all
 * its slots were busy (a hot source faster than the model). With `overflow: 'fail'` the arriving
 * batch's items fail with it (one error object per burst); with `overflow: 'error'` the stream does.
 *
 * @example
 * ```ts
 * if (outcome.ok === false && outcome.error instanceof QueueOverflowError) shedLoad();
 * ```
 */
export class QueueOverflowError extends TokenbatchError {
  override name = 'QueueOverflowError';
}

/**
 * `orderedResults` found the outcome stream out of step with the input: an item's outcome is
 * missing at the end, or two outcomes share one index. It names the item and the likely cause (an
 * operator between tokenbatch operators dropped or replaced values, or a stream was split without
 * `indexItems()` first).
 *
 * @example
 * ```ts
 * if (error instanceof OutcomeOrderError) console.error(`item ${error.itemIndex}: ${error.message}`);
 * ```
 */
export class OutcomeOrderError extends TokenbatchError {
  override name = 'OutcomeOrderError';
  constructor(
    message: string,
    /** The item whose outcome is missing or repeated. */
    readonly itemIndex: number,
  ) {
    super(message);
  }
}

/**
 * A `mergeBatches` budget (tokens or money, per run or per window) is spent: the batch was not
 * sent. Not retried. With `budget.onExceeded: 'pause'` batches wait instead.
 *
 * @example
 * ```ts
 * if (!outcome.ok && outcome.error instanceof BudgetExceededError) console.log('over budget:', outcome.error.message);
 * ```
 */
export class BudgetExceededError extends TokenbatchError {
  override name = 'BudgetExceededError';
}
