import { z } from 'zod';
import { headerList } from '../graphql/common.js';

/**
 * Input checks shared by webhooks, endpoints and triggers. Each message completes a sentence that starts with the
 * field's path (`input.endpoints[0].headers[1].key: ...`).
 */

/** An optional input: `null` and a missing value both give `fallback`. */
export const orDefault = <S extends z.ZodType, D>(schema: S, fallback: D) =>
  schema.nullish().transform((v): z.output<S> | D => (v ?? fallback) as z.output<S> | D);

/** A string PostgreSQL can store: text columns cannot hold U+0000. */
export const text = z
  .string({ error: (issue) => (issue.input === null ? 'may not be null' : 'must be a string') })
  .refine((v) => !v.includes('\0'), 'may not contain the character U+0000');

/** Headers Hookline sets itself on every request: a webhook or endpoint may not override them. */
const RESERVED_HEADERS = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'content-length',
  'host',
  'transfer-encoding',
  'connection',
]);

export const headerName = headerList.element.shape.key.refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), {
  error: (issue) => `"${String(issue.input)}" is set by Hookline and may not be overridden`,
});

/** Custom request headers (of a webhook or an endpoint). */
export const requestHeaders = z.array(headerList.element.extend({ key: headerName })).max(50, 'at most 50 entries');

export const email = z.email({ message: 'is not a valid e-mail address' }).max(254, 'at most 254 characters');

/** A JSON object (not an array or a scalar) of at most `maxBytes` once serialised, storable as jsonb. */
export const jsonObject = (maxBytes: number) =>
  z.record(z.string(), z.unknown(), { message: 'must be a JSON object' }).superRefine((value, ctx) => {
    const text = JSON.stringify(value);
    if (Buffer.byteLength(text) > maxBytes) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${maxBytes / 1024} KiB of JSON` });
    } else if (/(?<!\\)(\\\\)*\\u0000/.test(text)) {
      // PostgreSQL's jsonb cannot hold a NUL character in any string (JSON writes it as \u0000; `\\u0000` is text).
      ctx.addIssue({ code: 'custom', message: 'may not contain the character U+0000' });
    }
  });
