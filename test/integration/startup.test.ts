import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { freePort } from '../../src/db/embedded.js';
import { createTestDatabase, lateDatabase, type TestDatabase } from '../helpers/db.js';
import { eventually } from '../helpers/receiver.js';

/**
 * Start-up before the database is reachable: the process answers /healthz at once, /readyz and /graphql with
 * 503, waits for the database with backoff and becomes ready when it appears; a stop meanwhile ends the wait.
 */

const ADMIN_TOKEN = 'hl_startup_test_admin_token';
const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
});

async function appOn(databaseUrl: string) {
  const port = await freePort();
  const app = buildApp({
    config: parseConfig({
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKLINE_DATA_DIR: await mkdtemp(join(tmpdir(), 'hookline-startup-')),
      HOOKLINE_ROLE: 'api',
      LOG_LEVEL: 'silent',
      HOOKLINE_SHUTDOWN_GRACE: '5s',
    }),
  });
  return { app, base: `http://127.0.0.1:${port}` };
}

const status = (url: string, init?: RequestInit) =>
  fetch(url, init).then(
    (response) => response.status,
    () => 0,
  );

const typename = (base: string) =>
  fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ query: '{ __typename }' }),
  });

describe('start-up before the database is reachable', () => {
  it('answers health at once, 503 for readiness and GraphQL, and becomes ready when the database appears', async () => {
    const database = await createTestDatabase();
    databases.push(database);
    const late = await lateDatabase(new URL(database.url));
    const { app, base } = await appOn(late.url);
    const starting = app.start();
    try {
      await eventually(async () => (await status(`${base}/healthz`)) === 200);
      expect(await status(`${base}/readyz`)).toBe(503);
      const early = await typename(base);
      expect(early.status).toBe(503);
      expect((await early.json()).errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');

      await late.open();
      await starting;
      expect(await status(`${base}/readyz`)).toBe(200);
      const ready = await typename(base);
      expect(await ready.json()).toEqual({ data: { __typename: 'Query' } });
    } finally {
      await starting.catch(() => {});
      await app.stop();
      await late.close();
    }
  });

  it('stops while it waits for the database, without waiting for it any longer', async () => {
    const { app, base } = await appOn(`postgres://postgres@127.0.0.1:${await freePort()}/nowhere`);
    const starting = app.start();
    await eventually(async () => (await status(`${base}/healthz`)) === 200);
    await app.stop();
    await expect(starting).rejects.toThrow(/stopped while waiting for the database/);
    expect(await status(`${base}/healthz`)).toBe(0); // no longer listening
  });
});
