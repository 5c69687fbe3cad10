import { Subscription } from 'rxjs';

/**
 * What tokenbatch subscribes to a source Observable with: both a Subscription and an observer, so
 * RxJS hands it to the source as the subscriber itself (RxJS does so for any value that is both).
 * A synchronous source (`from(array)`, `range`) checks `closed` between values, and so stops the
 * moment we unsubscribe, even in the middle of the subscribe call, as under RxJS's own operators.
 */
export class Inlet<T> extends Subscription {
  constructor(
    readonly next: (value: T) => void,
    readonly error: (error: unknown) => void,
    readonly complete: () => void,
  ) {
    super();
  }
}
