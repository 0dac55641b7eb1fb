import { GraphQLError } from 'graphql';
import type { z } from 'zod';

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'SERVICE_UNAVAILABLE'
  | 'RATE_LIMITED';

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { UNAUTHENTICATED: 401, SERVICE_UNAVAILABLE: 503, RATE_LIMITED: 429 };

/**
 * An expected failure: reaches the client unmasked, with `extensions.code` (and `field` where one is to blame;
 * `retryAfterSeconds` when trying again later will work, also sent over HTTP as Retry-After).
 */
export class AppError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    extra: { field?: string; retryAfterSeconds?: number } = {},
  ) {
    const status = HTTP_STATUS[code];
    const headers = extra.retryAfterSeconds === undefined ? {} : { headers: { 'retry-after': String(extra.retryAfterSeconds) } };
    super(message, { extensions: { code, ...extra, ...(status ? { http: { status, ...headers } } : {}) } });
  }
}

export const badInput = (field: string, message: string) =>
  new AppError('BAD_USER_INPUT', `${field}: ${message}`, { field });

export const notFound = (field: string, id: string) =>
  new AppError('NOT_FOUND', `${field}: no object with id "${id}"`, { field });

/** Validates with a zod schema; the first issue becomes a BAD_USER_INPUT naming the field's path. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, root: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [root, ...issue.path]
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
    .join('');
  throw badInput(path, issue.message);
}
