import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { Keyring, parseKeyring } from './security/crypto.js';

/**
 * The whole configuration, parsed once from the environment. Nothing else reads process.env:
 * tests build a Config from a plain object and pass it to buildApp().
 */

/** A variable set to an empty string (`PORT=` in an env file) counts as unset. */
const blankIsUnset = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

const durationText = z.string().transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const duration = (fallback: string) => z.preprocess(blankIsUnset, z.string().default(fallback).pipe(durationText));

/** A duration whose default depends on another variable: undefined when unset. */
const optionalDuration = z.preprocess(blankIsUnset, durationText.optional());

const int = (min: number, max: number, fallback: number) =>
  z.preprocess(
    blankIsUnset,
    z
      .string()
      .default(String(fallback))
      .refine((v) => /^\d+$/.test(v.trim()), { message: `must be a whole number from ${min} to ${max}` })
      .transform((v) => Number(v.trim()))
      .refine((n) => n >= min && n <= max, { message: `must be a whole number from ${min} to ${max}` }),
  );

/** `<n>/s`, `<n>/m` or `<n>/h` (so many per second, minute or hour); `0` or `off`: no limit. */
const rate = (fallback: string) =>
  z.preprocess(
    blankIsUnset,
    z
      .string()
      .default(fallback)
      .transform((value, ctx) => {
        const text = value.trim();
        if (text === '0' || text === 'off') return null;
        const match = /^([1-9]\d*)\/(s|m|h)$/.exec(text);
        if (!match) {
          ctx.addIssue({ code: 'custom', message: 'must be <n>/s, <n>/m or <n>/h (e.g. 100/s), or 0 for no limit' });
          return z.NEVER;
        }
        return { count: Number(match[1]), perMs: { s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'], text };
      }),
  );

const flag = z
  .enum(['', '0', '1', 'true', 'false'], { message: 'must be 1/true or 0/false' })
  .default('0')
  .transform((v) => v === '1' || v === 'true');

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const retrySchedule = z
  .string()
  .default('5s,5m,30m,2h,5h,10h,10h')
  .transform((value, ctx) => {
    const parts = value.trim() === '' ? [] : value.split(',').map((s) => s.trim());
    if (parts.length > 50) {
      ctx.addIssue({ code: 'custom', message: 'holds at most 50 delays' });
      return z.NEVER;
    }
    const delays: number[] = [];
    for (const part of parts) {
      if (!/^\d+(ms|s|m|h)$/.test(part)) {
        ctx.addIssue({ code: 'custom', message: `"${part}" is not <n>ms, <n>s, <n>m or <n>h` });
        return z.NEVER;
      }
      delays.push(parseDuration(part));
    }
    return delays;
  });

const cidrList = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const cidrs = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    // Four-part IPv4 only: ipaddr.js would also read "10/8" as 0.0.0.10/8.
    const bad = cidrs.find((cidr) => !ipaddr.IPv4.isValidCIDRFourPartDecimal(cidr) && !ipaddr.IPv6.isValidCIDR(cidr));
    if (bad) {
      ctx.addIssue({ code: 'custom', message: `"${bad}" is not a CIDR range like 10.0.0.0/8 or fd00::/8` });
      return z.NEVER;
    }
    return cidrs;
  });

/** HOOKLINE_ENCRYPTION_KEY: unset gives an empty keyring (secrets are stored as given, with a warning at start). */
const keyring = optionalString.transform((value, ctx) => {
  if (value === undefined) return new Keyring([]);
  try {
    return parseKeyring(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** Shared with the CLI, which finds a local server's admin-token there. */
const dataDir = z.string().min(1).default('./.hookline');

export const envSchema = z.object({
  PORT: int(0, 65535, 4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: optionalString.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: 'must be a postgres:// URL',
  }),
  HOOKLINE_DATA_DIR: dataDir,
  HOOKLINE_ROLE: z.preprocess(blankIsUnset, z.enum(['api', 'worker', 'all']).default('all')),
  HOOKLINE_ADMIN_TOKEN: optionalString.refine((v) => v === undefined || v.length >= 16, {
    message: 'must be at least 16 characters',
  }),
  HOOKLINE_ALLOW_PRIVATE_TARGETS: flag,
  HOOKLINE_ALLOWED_CIDRS: cidrList,
  HOOKLINE_RETRY_SCHEDULE: retrySchedule,
  HOOKLINE_DISABLE_AFTER_FAILURES: int(1, 1_000_000, 20),
  HOOKLINE_NOTIFY_EMAIL: optionalString,
  SMTP_URL: optionalString.refine((v) => v === undefined || /^smtps?:\/\//.test(v), {
    message: 'must be an smtp:// or smtps:// URL',
  }),
  HOOKLINE_MAIL_FROM: z.string().default('Hookline <hookline@localhost>'),
  HOOKLINE_METRICS_TOKEN: optionalString,
  HOOKLINE_SHUTDOWN_GRACE: duration('30s'),
  HOOKLINE_MAX_BODY_BYTES: int(1024, 1 << 30, 1 << 20),
  HOOKLINE_MAX_EVENT_BYTES: int(16, 1 << 30, 256 * 1024),
  HOOKLINE_MAX_DEPTH: int(1, 1000, 15),
  HOOKLINE_MAX_ALIASES: int(1, 10_000, 30),
  HOOKLINE_MAX_TOKENS: int(100, 1_000_000, 5000),
  HOOKLINE_MAX_COST: int(100, 10_000_000, 50_000),
  HOOKLINE_MAX_PAGE_SIZE: int(1, 10_000, 100),
  HOOKLINE_RATE_LIMIT_MUTATIONS: rate('100/s'),
  HOOKLINE_RATE_LIMIT_PUBLISH: rate('50000/s'),
  HOOKLINE_RATE_LIMIT_FEED: rate('60/m'),
  HOOKLINE_PUBLIC_URL: optionalString.refine((v) => v === undefined || /^https?:\/\/[^/?#]+\/?$/.test(v), {
    message: 'must be an http(s) URL without a path, e.g. https://hookline.example.com',
  }),
  HOOKLINE_MAX_SUBSCRIPTIONS_PER_CONNECTION: int(1, 100_000, 100),
  HOOKLINE_MAX_CONNECTIONS_PER_TOKEN: int(1, 1_000_000, 500),
  HOOKLINE_SECRET_OVERLAP: duration('24h'),
  HOOKLINE_ENCRYPTION_KEY: keyring,
  HOOKLINE_WORKER_CONCURRENCY: int(1, 10_000, 64),
  HOOKLINE_WORKER_BATCH: int(1, 10_000, 100),
  HOOKLINE_POLL_INTERVAL: duration('1s'),
  HOOKLINE_LEASE_MARGIN: duration('30s'),
  HOOKLINE_DB_POOL_SIZE: int(2, 1000, 10),
  HOOKLINE_RETENTION: duration('30d'),
  /** Unset: the same as HOOKLINE_RETENTION. */
  HOOKLINE_RETENTION_FAILED: optionalDuration,
  HOOKLINE_PRUNE_INTERVAL: duration('10m').refine((ms) => ms >= 1000, { message: 'must be at least 1s' }),
  LOG_LEVEL: z.preprocess(
    blankIsUnset,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
});

export type Config = z.output<typeof envSchema>;

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

/** Parses an environment; throws a ConfigError whose message names every bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = envSchema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
}

/** The process's own configuration: the one place that reads process.env. */
export function configFromProcess(): Config {
  return parseConfig(process.env);
}

/** What the `hookline` CLI's API commands read (flags override them): where Hookline is, the token, colours. */
const cliEnvSchema = z.object({
  HOOKLINE_URL: optionalString,
  HOOKLINE_TOKEN: optionalString,
  HOOKLINE_DATA_DIR: dataDir,
  NO_COLOR: optionalString,
});

export type CliEnv = z.output<typeof cliEnvSchema>;

export function cliEnvFromProcess(): CliEnv {
  return cliEnvSchema.parse(process.env);
}
