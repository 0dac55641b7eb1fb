import type { IncomingMessage, ServerResponse } from 'node:http';
import { hashToken } from '../auth/tokens.js';
import type { Config } from '../config.js';
import { AppError, badInput } from '../errors.js';
import type { Services } from '../graphql/context.js';
import { sendJsonError } from '../http/routes.js';
import { rateLimiterFor } from '../security/rate-limit.js';
import { readFeed, webhookOfFeedToken } from './queries.js';

const FEED_PATH = '/feed/';

/** The URL a feed token is used at. */
export function feedUrl(config: Config, token: string): string {
  const base = config.HOOKLINE_PUBLIC_URL ?? `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${config.PORT}`;
  return `${base.replace(/\/$/, '')}${FEED_PATH}${token}`;
}

/** A feed cursor is an event id (`evt_` + 26 characters); anything else is refused, naming `field`. */
export function feedCursor(value: string | null, field: string): string | null {
  if (value === null || value === '') return null;
  if (!/^evt_[0-9a-z]{26}$/.test(value)) throw badInput(field, 'is not a feed cursor (the `next` of a previous page)');
  return value;
}

/**
 * GET /feed/<token>?after=<cursor>&limit=<n>: `{ items, next, hasMore }`, the webhook's matching events as the
 * envelopes a push receiver gets. The token is the credential (no signature). Requests are limited per token
 * (HOOKLINE_RATE_LIMIT_FEED), counted by the token's hash before it is looked up, so guessing costs a guesser too.
 */
export function feedHandler(services: Services) {
  const limiter = rateLimiterFor(services.config);
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJsonError(res, 405, 'METHOD_NOT_ALLOWED', 'the feed answers GET only');
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const token = url.pathname.slice(FEED_PATH.length);
    const tokenHash = hashToken(token);
    const verdict = limiter.take(tokenHash, { feed: 1 });
    if (!verdict.ok) {
      const refusal = limiter.refusal(verdict);
      res.setHeader('retry-after', String(refusal.extensions.retryAfterSeconds));
      return sendJsonError(res, 429, refusal.code, refusal.message);
    }
    const webhook = await webhookOfFeedToken(services.db, tokenHash);
    if (!webhook) return sendJsonError(res, 401, 'UNAUTHENTICATED', 'unknown or revoked feed token');
    let after: string | null;
    let limit: number;
    try {
      after = feedCursor(url.searchParams.get('after'), 'after');
      limit = pageLimit(url.searchParams.get('limit'), services.config.HOOKLINE_MAX_PAGE_SIZE);
    } catch (err) {
      if (err instanceof AppError) return sendJsonError(res, 400, err.code, err.message);
      throw err;
    }
    const page = await readFeed(services.db, webhook, after, limit);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify(page));
  };
}

function pageLimit(value: string | null, max: number): number {
  if (value === null || value === '') return Math.min(50, max);
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw badInput('limit', `must be a whole number from 1 to ${max}`);
  return n;
}
