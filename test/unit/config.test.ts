import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';

const problem = (env: Record<string, string>): string => {
  try {
    parseConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
};

describe('parseConfig', () => {
  it('has the documented defaults with an empty environment', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      PORT: 4000,
      HOST: '127.0.0.1',
      HOOKLINE_DATA_DIR: './.hookline',
      HOOKLINE_ROLE: 'all',
      HOOKLINE_ALLOW_PRIVATE_TARGETS: false,
      HOOKLINE_ALLOWED_CIDRS: [],
      HOOKLINE_RETRY_SCHEDULE: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
      HOOKLINE_DISABLE_AFTER_FAILURES: 20,
      HOOKLINE_SHUTDOWN_GRACE: 30_000,
      HOOKLINE_MAX_BODY_BYTES: 1_048_576,
      HOOKLINE_MAX_EVENT_BYTES: 262_144,
      HOOKLINE_MAX_DEPTH: 15,
      HOOKLINE_MAX_ALIASES: 30,
      HOOKLINE_MAX_PAGE_SIZE: 100,
      LOG_LEVEL: 'info',
    });
    // Unset: the embedded database, and a generated admin token on first start.
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.HOOKLINE_ADMIN_TOKEN).toBeUndefined();
  });

  it('reads values that are set, and treats an empty value as unset', () => {
    const config = parseConfig({
      PORT: ' 8080 ',
      HOOKLINE_ROLE: 'worker',
      HOOKLINE_ALLOW_PRIVATE_TARGETS: 'true',
      HOOKLINE_ALLOWED_CIDRS: '127.0.0.1/32, fd00::/8',
      HOOKLINE_SHUTDOWN_GRACE: '1500ms',
      DATABASE_URL: 'postgresql://u:p@db:5432/hookline',
      LOG_LEVEL: '',
      HOOKLINE_ADMIN_TOKEN: '',
    });
    expect(config).toMatchObject({
      PORT: 8080,
      HOOKLINE_ROLE: 'worker',
      HOOKLINE_ALLOW_PRIVATE_TARGETS: true,
      HOOKLINE_ALLOWED_CIDRS: ['127.0.0.1/32', 'fd00::/8'],
      HOOKLINE_SHUTDOWN_GRACE: 1500,
      DATABASE_URL: 'postgresql://u:p@db:5432/hookline',
      LOG_LEVEL: 'info',
    });
    expect(config.HOOKLINE_ADMIN_TOKEN).toBeUndefined();
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['HOOKLINE_ROLE', 'boss'],
    ['HOOKLINE_ADMIN_TOKEN', 'short'],
    ['HOOKLINE_ALLOW_PRIVATE_TARGETS', 'yes please'],
    ['HOOKLINE_ALLOWED_CIDRS', '10.0.0.0/8,not-a-cidr'],
    ['HOOKLINE_ALLOWED_CIDRS', '10/8'],
    ['HOOKLINE_RETRY_SCHEDULE', '5s,soon'],
    ['HOOKLINE_DISABLE_AFTER_FAILURES', '0'],
    ['SMTP_URL', 'http://mail.test'],
    ['HOOKLINE_SHUTDOWN_GRACE', '30'],
    ['HOOKLINE_MAX_BODY_BYTES', '1mb'],
    ['HOOKLINE_MAX_EVENT_BYTES', '1.5'],
    ['HOOKLINE_MAX_DEPTH', '0'],
    ['HOOKLINE_MAX_ALIASES', 'lots'],
    ['HOOKLINE_MAX_TOKENS', '10'],
    ['HOOKLINE_MAX_COST', 'x'],
    ['HOOKLINE_MAX_PAGE_SIZE', '100000'],
    ['HOOKLINE_SECRET_OVERLAP', '1 day'],
    ['HOOKLINE_WORKER_CONCURRENCY', '0'],
    ['HOOKLINE_WORKER_BATCH', 'ten'],
    ['HOOKLINE_POLL_INTERVAL', '-1s'],
    ['HOOKLINE_LEASE_MARGIN', '5 s'],
    ['HOOKLINE_DB_POOL_SIZE', '1'],
    ['LOG_LEVEL', 'verbose'],
  ])('names %s when its value (%s) is bad', (name, value) => {
    const message = problem({ [name]: value });
    expect(message).toMatch(new RegExp(`^  ${name}: `, 'm'));
    // Only the bad variable is named.
    expect(message.trim().split('\n')).toHaveLength(2);
  });

  it('names every bad variable at once', () => {
    const message = problem({ PORT: 'abc', HOOKLINE_ROLE: 'boss', LOG_LEVEL: 'loud' });
    for (const name of ['PORT', 'HOOKLINE_ROLE', 'LOG_LEVEL']) expect(message).toMatch(new RegExp(`^  ${name}: `, 'm'));
  });
});

describe('HOOKLINE_RETRY_SCHEDULE', () => {
  const schedule = (value: string) => parseConfig({ HOOKLINE_RETRY_SCHEDULE: value }).HOOKLINE_RETRY_SCHEDULE;

  it('reads <n>ms, <n>s, <n>m and <n>h, with spaces around the commas', () => {
    expect(schedule('0ms')).toEqual([0]);
    expect(schedule('250ms, 5s ,2m,1h')).toEqual([250, 5_000, 120_000, 3_600_000]);
    expect(schedule('0s,0m,0h')).toEqual([0, 0, 0]);
  });

  it('may hold no delays at all (one attempt only) and up to 50', () => {
    expect(schedule('')).toEqual([]);
    expect(schedule(Array(50).fill('1s').join(','))).toHaveLength(50);
    expect(problem({ HOOKLINE_RETRY_SCHEDULE: Array(51).fill('1s').join(',') })).toMatch(
      /HOOKLINE_RETRY_SCHEDULE: holds at most 50 delays/,
    );
  });

  it.each(['5', '5d', '1.5s', '-5s', '5s,,5m', '5 s', 'fast', '5S'])('refuses "%s", naming the delay', (value) => {
    expect(problem({ HOOKLINE_RETRY_SCHEDULE: value })).toMatch(/HOOKLINE_RETRY_SCHEDULE: ".*" is not <n>ms, <n>s, <n>m or <n>h/);
  });
});
