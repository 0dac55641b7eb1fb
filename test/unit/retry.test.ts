import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, nextRetry, parseRetryAfter } from '../../src/delivery/retry.js';

const schedule = [5_000, 300_000, 1_800_000];
const now = new Date('2030-01-01T00:00:00Z');

describe('nextRetry', () => {
  it('waits schedule[n-1] after failed attempt n, without jitter at random = 0.5', () => {
    expect(nextRetry(schedule, { attemptNumber: 1 }, 0.5, now)).toEqual({ retry: true, delayMs: 5_000 });
    expect(nextRetry(schedule, { attemptNumber: 2 }, 0.5, now)).toEqual({ retry: true, delayMs: 300_000 });
    expect(nextRetry(schedule, { attemptNumber: 3 }, 0.5, now)).toEqual({ retry: true, delayMs: 1_800_000 });
  });

  it('gives up (FAILED) after the attempt that used the last delay', () => {
    expect(nextRetry(schedule, { attemptNumber: 4 }, 0.5, now)).toEqual({ retry: false });
    expect(nextRetry([], { attemptNumber: 1 }, 0.5, now)).toEqual({ retry: false });
  });

  it('jitters by at most ±20 %', () => {
    expect(nextRetry(schedule, { attemptNumber: 2 }, 0, now)).toEqual({ retry: true, delayMs: 240_000 });
    const high = nextRetry(schedule, { attemptNumber: 2 }, 0.999999, now);
    expect(high.retry && high.delayMs).toBeGreaterThan(359_999);
    expect(high.retry && high.delayMs).toBeLessThanOrEqual(360_000);
  });

  it('keeps a 0ms delay at 0', () => {
    expect(nextRetry([0, 50], { attemptNumber: 1 }, 0.9, now)).toEqual({ retry: true, delayMs: 0 });
  });

  it('honours Retry-After on 429 and 503 when it asks for longer than the schedule', () => {
    expect(nextRetry(schedule, { attemptNumber: 1, status: 429, retryAfter: '120' }, 0.5, now)).toEqual({
      retry: true,
      delayMs: 120_000,
    });
    const date = new Date(now.getTime() + 90_000).toUTCString();
    expect(nextRetry(schedule, { attemptNumber: 1, status: 503, retryAfter: date }, 0.5, now)).toEqual({
      retry: true,
      delayMs: 90_000,
    });
  });

  it('ignores Retry-After that is shorter than the schedule, on other statuses, or unreadable', () => {
    expect(nextRetry(schedule, { attemptNumber: 2, status: 429, retryAfter: '1' }, 0.5, now)).toEqual({
      retry: true,
      delayMs: 300_000,
    });
    expect(nextRetry(schedule, { attemptNumber: 1, status: 500, retryAfter: '120' }, 0.5, now)).toEqual({
      retry: true,
      delayMs: 5_000,
    });
    expect(nextRetry(schedule, { attemptNumber: 1, status: 429, retryAfter: 'soon' }, 0.5, now)).toEqual({
      retry: true,
      delayMs: 5_000,
    });
  });

  it('does not retry beyond the schedule even when Retry-After asks for it', () => {
    expect(nextRetry(schedule, { attemptNumber: 4, status: 429, retryAfter: '5' }, 0.5, now)).toEqual({ retry: false });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, never negative, capped', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 30 ', now)).toBe(30_000);
    expect(parseRetryAfter(new Date(now.getTime() - 5_000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter('999999999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});
