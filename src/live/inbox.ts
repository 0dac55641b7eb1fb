import { isDatabaseUnavailable } from '../db/client.js';
import { jittered } from '../duration.js';
import { AppError } from '../errors.js';

/**
 * One subscription's queue: the process-wide feed pushes into it, the subscription takes everything waiting at
 * once, so a subscriber that falls behind catches up in bigger batches (one load per batch). A subscriber that
 * falls more than `limit` items behind (its client stopped reading) is ended with an error instead of holding
 * memory without bound.
 */
export class Inbox<T> {
  private items: T[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private overflowed = false;

  constructor(
    private readonly field: string,
    private readonly limit: number,
  ) {}

  push(items: readonly T[]): void {
    if (this.closed || items.length === 0) return;
    this.items.push(...items);
    if (this.items.length > this.limit) {
      this.overflowed = true;
      this.close();
    }
    this.notify();
  }

  /** Everything waiting (at most `max`), after waiting for something if nothing is; null once closed. */
  async take(max: number): Promise<T[] | null> {
    while (this.items.length === 0 && !this.closed) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.overflowed) {
      this.items = [];
      throw new AppError(
        'SERVICE_UNAVAILABLE',
        `${this.field}: this subscription fell more than ${this.limit} updates behind and was ended; subscribe again`,
      );
    }
    if (this.closed) return null;
    return this.items.splice(0, max);
  }

  close(): void {
    this.closed = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/**
 * The async iterator a subscription field returns: each batch taken from the inbox is turned into values by
 * `expand` (which may load them), and the values are handed out one by one. `return()` (client unsubscribed or
 * disconnected) ends it at once, even while it waits, and runs `onEnd`. While the database is unavailable a batch
 * is loaded again (capped, jittered backoff) instead of ending the subscription: the subscriber waits for it.
 */
export function inboxIterator<T, R>(
  inbox: Inbox<T>,
  maxBatch: number,
  expand: (batch: T[]) => Promise<R[]>,
  onEnd: () => void,
): AsyncIterableIterator<R> {
  let ready: R[] = [];
  let ended = false;
  const end = (): IteratorReturnResult<undefined> => {
    if (!ended) {
      ended = true;
      inbox.close();
      onEnd();
    }
    ready = [];
    return { done: true, value: undefined };
  };
  const expandOnceReachable = async (batch: T[]): Promise<R[]> => {
    for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        return await expand(batch);
      } catch (err) {
        if (ended || !isDatabaseUnavailable(err)) throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, jittered(delay)));
      if (ended) return [];
    }
  };
  return {
    async next() {
      try {
        while (ready.length === 0) {
          const batch = await inbox.take(maxBatch);
          if (batch === null || ended) return end();
          ready = await expandOnceReachable(batch);
          if (ended) return end();
        }
      } catch (err) {
        end();
        throw err;
      }
      return { done: false, value: ready.shift()! };
    },
    async return() {
      return end();
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
