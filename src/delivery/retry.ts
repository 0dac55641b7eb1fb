/**
 * When to try a delivery again. Pure: no clock or randomness of its own, so it is tested exactly.
 *
 * The first attempt is immediate. After failed attempt n (1-based) the delivery waits schedule[n-1], ±20 %
 * jitter so that many deliveries that failed together do not retry together; after the last delay is used up the
 * delivery is FAILED. A `Retry-After` on 429 or 503 replaces the scheduled delay when it asks for more time.
 */

export const JITTER = 0.2;

/** A receiver may ask for a pause, but not for one longer than this (a typo must not park a delivery for a year). */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

export interface FailedAttempt {
  /** The number of the attempt that just failed, from 1. */
  attemptNumber: number;
  /** HTTP status of the answer, if there was one. */
  status?: number | null;
  /** The answer's Retry-After header, if any. */
  retryAfter?: string | null;
}

/**
 * @param random a number in [0, 1), e.g. Math.random(): 0.5 means no jitter.
 * @param now the time the attempt finished (to read a Retry-After given as an HTTP date).
 */
export function nextRetry(schedule: readonly number[], failed: FailedAttempt, random: number, now: Date): RetryDecision {
  if (failed.attemptNumber > schedule.length) return { retry: false };
  const base = schedule[failed.attemptNumber - 1];
  let delayMs = Math.round(base * (1 + JITTER * (2 * random - 1)));
  if (failed.status === 429 || failed.status === 503) {
    const asked = parseRetryAfter(failed.retryAfter, now);
    if (asked !== undefined && asked > delayMs) delayMs = asked;
  }
  return { retry: true, delayMs };
}

/** `Retry-After: <seconds>` or `Retry-After: <HTTP date>` as milliseconds from `now` (capped); undefined if unusable. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else if (/^[A-Za-z]{3}, /.test(text)) {
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    ms = date - now.getTime();
  } else {
    return undefined;
  }
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}
