import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { RateLimiter } from '../../src/security/rate-limit.js';

/** The token buckets on a fake clock: refill over time is what the integration tests cannot wait for. */
function limiter(count: number, perMs: number) {
  let now = 0;
  const rate = { count, perMs, text: `${count}/${perMs}ms` };
  return {
    limiter: new RateLimiter({ mutations: rate, publish: rate }, () => now),
    advance: (ms: number) => (now += ms),
  };
}

describe('RateLimiter', () => {
  it('allows a full bucket at once, then the steady rate', () => {
    const { limiter: l, advance } = limiter(10, 1000);
    for (let i = 0; i < 10; i++) expect(l.take('a', { mutations: 1 })).toEqual({ ok: true });
    expect(l.take('a', { mutations: 1 })).toEqual({ ok: false, kind: 'mutations', retryAfterMs: 100 });
    advance(99);
    expect(l.take('a', { mutations: 1 }).ok).toBe(false);
    advance(1);
    expect(l.take('a', { mutations: 1 }).ok).toBe(true);
    // A long pause refills to the capacity, no further.
    advance(60_000);
    for (let i = 0; i < 10; i++) expect(l.take('a', { mutations: 1 }).ok).toBe(true);
    expect(l.take('a', { mutations: 1 }).ok).toBe(false);
  });

  it('keeps tokens and kinds apart, and spends nothing from any bucket when one of them refuses', () => {
    const { limiter: l } = limiter(3, 1000);
    expect(l.take('a', { mutations: 3 }).ok).toBe(true);
    expect(l.take('b', { mutations: 3 }).ok).toBe(true);
    expect(l.take('a', { mutations: 1, publish: 2 })).toMatchObject({ ok: false, kind: 'mutations' });
    // The refused request took nothing from 'publish'.
    expect(l.take('a', { publish: 3 }).ok).toBe(true);
  });

  it('lets a cost larger than the bucket through when full, and the debt is paid at the steady rate', () => {
    const { limiter: l, advance } = limiter(10, 1000);
    expect(l.take('a', { publish: 25 }).ok).toBe(true);
    // 15 in debt, and 1 needed: 16 tokens at 10 a second.
    expect(l.take('a', { publish: 1 })).toEqual({ ok: false, kind: 'publish', retryAfterMs: 1600 });
    advance(1600);
    expect(l.take('a', { publish: 1 }).ok).toBe(true);
  });

  it('forgets buckets once they have refilled, so guessed keys do not pile up in memory', () => {
    const { limiter: l, advance } = limiter(10, 1000);
    for (let i = 0; i < 100; i++) l.take(`guess ${i}`, { publish: 1 });
    expect(l.size).toBe(100);
    advance(10_000);
    l.take('a', { mutations: 10 });
    expect(l.size).toBe(1);
    // The one left is empty: it was not forgotten.
    expect(l.take('a', { mutations: 1 }).ok).toBe(false);
  });

  it('does not limit a kind configured off (null)', () => {
    const l = new RateLimiter({ mutations: null, publish: null });
    for (let i = 0; i < 1000; i++) expect(l.take('a', { mutations: 1, publish: 1000 }).ok).toBe(true);
  });
});

describe('rate settings', () => {
  it('reads <n>/s, <n>/m and <n>/h, 0 or off for no limit, and has generous defaults', () => {
    const config = parseConfig({ HOOKLINE_RATE_LIMIT_MUTATIONS: '10/m', HOOKLINE_RATE_LIMIT_PUBLISH: '0' });
    expect(config.HOOKLINE_RATE_LIMIT_MUTATIONS).toEqual({ count: 10, perMs: 60_000, text: '10/m' });
    expect(config.HOOKLINE_RATE_LIMIT_PUBLISH).toBeNull();
    expect(parseConfig({ HOOKLINE_RATE_LIMIT_PUBLISH: 'off' }).HOOKLINE_RATE_LIMIT_PUBLISH).toBeNull();
    expect(parseConfig({ HOOKLINE_RATE_LIMIT_MUTATIONS: '3/h' }).HOOKLINE_RATE_LIMIT_MUTATIONS?.perMs).toBe(3_600_000);
    const defaults = parseConfig({});
    expect(defaults.HOOKLINE_RATE_LIMIT_MUTATIONS).toMatchObject({ count: 100, perMs: 1000 });
    expect(defaults.HOOKLINE_RATE_LIMIT_PUBLISH).toMatchObject({ count: 50_000, perMs: 1000 });
  });

  it('refuses anything else at start, naming the variable', () => {
    for (const bad of ['fast', '10', '10/d', '-1/s', '0/s']) {
      expect(() => parseConfig({ HOOKLINE_RATE_LIMIT_MUTATIONS: bad })).toThrow(
        /HOOKLINE_RATE_LIMIT_MUTATIONS: must be <n>\/s, <n>\/m or <n>\/h/,
      );
    }
  });
});
