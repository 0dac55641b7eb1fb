import { DrizzleQueryError } from 'drizzle-orm/errors';
import { GraphQLError } from 'graphql';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/client.js';
import { freePort } from '../../src/db/embedded.js';

/** Which errors count as "the database is away" (SERVICE_UNAVAILABLE, waited for at start-up) and which do not. */

const coded = (code: string) => Object.assign(new Error(code), { code });

describe('isDatabaseUnavailable', () => {
  it('knows connection losses, refusals and server shutdowns, also wrapped by drizzle and graphql', () => {
    const codes = ['ECONNREFUSED', 'ECONNRESET', 'CONNECTION_CLOSED', 'CONNECT_TIMEOUT', '57P01', '57P03', '08006', '53300'];
    for (const code of codes) {
      expect(isDatabaseUnavailable(coded(code)), code).toBe(true);
    }
    const wrapped = new DrizzleQueryError('select 1', [], coded('57P01'));
    expect(isDatabaseUnavailable(wrapped)).toBe(true);
    expect(isDatabaseUnavailable(new GraphQLError('failed', { originalError: wrapped }))).toBe(true);
  });

  it('leaves every other failure alone: bad input, constraint violations, bad credentials, plain errors', () => {
    for (const code of ['22021', '23505', '28P01', '42P01', '40001']) {
      expect(isDatabaseUnavailable(coded(code)), code).toBe(false);
    }
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    const duplicateKey = new DrizzleQueryError('insert …', [], coded('23505'));
    expect(isDatabaseUnavailable(new GraphQLError('failed', { originalError: duplicateKey }))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });

  it('recognises what postgres.js really throws when nothing listens on the port', async () => {
    const url = `postgres://nobody:x@127.0.0.1:${await freePort()}/none`;
    const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
    try {
      const err = await sql`select 1`.then(() => undefined, (e: unknown) => e);
      expect(isDatabaseUnavailable(err)).toBe(true);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
