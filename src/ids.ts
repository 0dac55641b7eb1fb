import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** The prefix of each kind of id; `node(id)` finds the type from it. */
export const ID_PREFIXES = {
  Webhook: 'wh',
  Endpoint: 'ep',
  Trigger: 'trg',
  Event: 'evt',
  Delivery: 'dlv',
  Team: 'team',
  ApiToken: 'tok',
  AuditEntry: 'aud',
  FeedToken: 'feed',
  ReplayJob: 'job',
} as const;

export type IdType = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/**
 * Random bytes are taken from a pool refilled 4 KiB at a time: one randomBytes call per id was a visible cost when
 * a batch makes thousands of ids. Each byte is used once.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/**
 * `<prefix>_<10 chars of milliseconds><16 random chars>`: opaque to clients, but sorts by creation time, so that
 * keyset pagination on the id lists things in the order they were made.
 */
export function newId(type: IdType, now = Date.now()): string {
  if (poolOffset + 16 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  let tail = '';
  for (let i = poolOffset; i < poolOffset + 16; i++) tail += ALPHABET[pool[i] & 31];
  poolOffset += 16;
  return idTimePrefix(type, now) + tail;
}

/**
 * `<prefix>_<10 chars of milliseconds>`: the part of an id made at `now` that sorts it by time. For ids made in
 * SQL (with a random tail appended there) and for id ranges by creation time.
 */
export function idTimePrefix(type: IdType, now = Date.now()): string {
  let time = '';
  for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = ALPHABET[t % 32] + time;
  return `${ID_PREFIXES[type]}_${time}`;
}

/** The type an id names, or undefined for an id of no known kind. */
export function idType(id: string): IdType | undefined {
  const prefix = id.slice(0, id.indexOf('_'));
  return (Object.keys(ID_PREFIXES) as IdType[]).find((type) => ID_PREFIXES[type] === prefix);
}

/** `<host>:<pid>:<random>`: names a lease holder (a worker, a job runner) uniquely, and readably in the tables. */
export function leaseHolderId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}
