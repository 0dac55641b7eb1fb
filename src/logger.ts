import pino, { type DestinationStream, type Logger } from 'pino';
import { isCredentialName, REDACTED } from './security/redact.js';

/**
 * JSON logs on stdout (or `destination`: tests capture them). Credentials never reach a log line: every logged
 * object is scrubbed, at any depth, before it is written (see scrub). pino's `redact` paths are not enough here:
 * they name fixed paths, while a secret can sit anywhere, e.g. in `err.job.webhook.secret` or an error's cause.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'hookline' },
      formatters: { log: (object) => scrub(object, 0, new WeakSet()) as Record<string, unknown> },
      // Errors are serialised by scrub already (their own enumerable fields included, then scrubbed).
      serializers: { err: (err: unknown) => err },
    },
    destination,
  );
}

const MAX_DEPTH = 12;

/** Whole strings that are credentials whatever key they are under: signing secrets and auth header values. */
const SECRET_TEXT = [
  [/whsec_[A-Za-z0-9+/=]+/g, `whsec_${REDACTED}`],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
] as const;

/**
 * A copy of `value` safe to log: values under credential-like keys (secret, apiKey, authorization, …), the value of
 * `{ key, value }` header pairs with such a key, and secret-looking text inside strings are replaced. Errors become
 * pino's standard serialisation first, so their extra fields (a job, a row) are scrubbed too. The original is
 * never modified: it may be a live job.
 */
function scrub(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return SECRET_TEXT.reduce<string>((s, [pattern, replacement]) => s.replace(pattern, replacement), value);
  if (typeof value !== 'object' || value === null || value instanceof Date || Buffer.isBuffer(value)) return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  // `seen` holds the objects being copied above this one: a cycle is cut, an object met twice is copied twice.
  seen.add(value);
  try {
    if (value instanceof Error) return scrub(pino.stdSerializers.err(value), depth, seen);
    if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1, seen));
    const pair = value as { key?: unknown };
    const credentialPair = typeof pair.key === 'string' && 'value' in value && isCredentialName(pair.key);
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => [
        key,
        isCredentialName(key) || (credentialPair && key === 'value') ? REDACTED : scrub(v, depth + 1, seen),
      ]),
    );
  } finally {
    seen.delete(value);
  }
}
