import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/db/embedded.js';
import { createTestDatabase } from '../helpers/db.js';
import { graphqlClient } from '../helpers/gql.js';
import { spawnHookline, type HooklineProcess } from '../helpers/processes.js';

/** Real `hookline serve` processes (see spawnHookline): zero-setup start, signals, migration lock, bad config. */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const READY_WITHIN = 60_000;

type Hookline = HooklineProcess;

const started: Hookline[] = [];
const dataDirs: string[] = [];

function serve(env: Record<string, string>): Hookline {
  const hookline = spawnHookline(env, READY_WITHIN);
  started.push(hookline);
  return hookline;
}

async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hookline-proc-'));
  dataDirs.push(dir);
  return dir;
}

/** Polls until `path` answers 200 (the whole wait bounded by READY_WITHIN). */
async function until200(base: string, path: string): Promise<void> {
  const deadline = Date.now() + READY_WITHIN;
  for (;;) {
    const status = await fetch(base + path).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${path} still answers ${status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    return Number((await readFile(join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return undefined;
  }
}

/** postmaster.pid's eighth line says "ready" once the server accepts connections (initdb's own lock file never does). */
async function postmasterReady(dataDir: string): Promise<boolean> {
  const lines = await readFile(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').then(
    (text) => text.split('\n'),
    () => [],
  );
  return lines[7]?.trim() === 'ready';
}


async function stop(hookline: Hookline, signal: NodeJS.Signals = 'SIGTERM') {
  hookline.child.kill(signal);
  return hookline.exited;
}

afterAll(async () => {
  // Whatever a failed test left behind: our children, then any postgres still serving one of our data dirs.
  for (const hookline of started) {
    if (hookline.child.exitCode === null && hookline.child.signalCode === null) hookline.child.kill('SIGKILL');
  }
  for (const dir of dataDirs) {
    const pid = await postmasterPid(dir);
    if (pid && isAlive(pid)) {
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    }
    await rm(dir, { recursive: true, force: true });
  }
});

describe('zero setup: no DATABASE_URL, embedded PostgreSQL', () => {
  it('starts, prints and saves an admin token that works, stops on SIGTERM with its database, and survives SIGKILL', async () => {
    const dataDir = await newDataDir();
    const env = { HOOKLINE_DATA_DIR: dataDir, HOOKLINE_SHUTDOWN_GRACE: '10s' };

    // First start: embedded PostgreSQL is initialised; the generated admin token is printed and saved.
    const first = serve(env);
    const url = await first.url;
    await until200(url, '/healthz');
    await until200(url, '/readyz');
    const token = /^\s+(hl_[A-Za-z0-9_-]{20,})\s*$/m.exec(first.output())?.[1];
    expect(token, first.output()).toBeDefined();
    expect(first.output().split(token!).length - 1).toBe(1); // printed once, and not logged anywhere else
    expect((await readFile(join(dataDir, 'admin-token'), 'utf8')).trim()).toBe(token);
    const admin = graphqlClient(`${url}/graphql`, token!);
    expect((await admin.ok('{ viewer { role } }')).viewer.role).toBe('ADMIN');
    expect((await admin.as(null)('{ __typename }')).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');

    // SIGTERM: exit code 0, and the embedded postgres is gone with it.
    const firstPostgres = await postmasterPid(dataDir);
    expect(firstPostgres && isAlive(firstPostgres)).toBe(true);
    const startedStopping = Date.now();
    expect(await stop(first)).toEqual({ code: 0, signal: null });
    expect(Date.now() - startedStopping).toBeLessThan(10_000);
    expect(isAlive(firstPostgres!)).toBe(false);
    expect(await postmasterPid(dataDir)).toBeUndefined();

    // Second start on the same data: no new token is printed; the saved one still works.
    const second = serve(env);
    const secondUrl = await second.url;
    await until200(secondUrl, '/readyz');
    expect(second.output()).not.toMatch(/hl_[A-Za-z0-9_-]{20,}/);
    expect((await graphqlClient(`${secondUrl}/graphql`, token!).ok('{ viewer { role } }')).viewer.role).toBe('ADMIN');

    // SIGKILL leaves its postgres running (a stale postmaster); the next start must deal with it and come up.
    const stalePostgres = await postmasterPid(dataDir);
    expect((await stop(second, 'SIGKILL')).signal).toBe('SIGKILL');
    expect(stalePostgres && isAlive(stalePostgres)).toBe(true);
    const third = serve(env);
    const thirdUrl = await third.url;
    await until200(thirdUrl, '/readyz');
    expect(isAlive(stalePostgres!)).toBe(false);
    expect((await graphqlClient(`${thirdUrl}/graphql`, token!).ok('{ viewer { role } }')).viewer.role).toBe('ADMIN');
    const thirdPostgres = await postmasterPid(dataDir);
    expect(await stop(third)).toEqual({ code: 0, signal: null });
    expect(isAlive(thirdPostgres!)).toBe(false);
  });
});

describe('a signal during start-up', () => {
  it('still stops cleanly: exit 0 and no postgres left behind', async () => {
    const dataDir = await newDataDir();
    const hookline = serve({ HOOKLINE_DATA_DIR: dataDir, HOOKLINE_SHUTDOWN_GRACE: '10s' });
    // Signalled once the embedded server accepts connections, while the database is still being created and migrated.
    const deadline = Date.now() + READY_WITHIN;
    while (!(await postmasterReady(dataDir))) {
      if (Date.now() > deadline) throw new Error(`start-up never got going:\n${hookline.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const pid = (await postmasterPid(dataDir))!;
    expect(hookline.output()).not.toMatch(/Hookline is running/);
    expect(await stop(hookline)).toEqual({ code: 0, signal: null });
    expect(isAlive(pid)).toBe(false);
  });
});

describe('several processes on one database', () => {
  it('lets an api and a worker process start at the same moment on a fresh, empty database', async () => {
    const database = await createTestDatabase({ migrated: false });
    try {
      const common = { DATABASE_URL: database.url, HOOKLINE_SHUTDOWN_GRACE: '10s' };
      const api = serve({ ...common, HOOKLINE_ROLE: 'api', HOOKLINE_DATA_DIR: await newDataDir() });
      const worker = serve({ ...common, HOOKLINE_ROLE: 'worker', HOOKLINE_DATA_DIR: await newDataDir() });
      const [apiUrl, workerUrl] = await Promise.all([api.url, worker.url]);
      await Promise.all([until200(apiUrl, '/readyz'), until200(workerUrl, '/readyz')]);

      // The migrations ran exactly once each, and exactly one of the two generated (and printed) the admin token.
      const journal = JSON.parse(await readFile(join(ROOT, 'schema/migrations/meta/_journal.json'), 'utf8'));
      const sql = postgres(database.url, { max: 1, onnotice: () => {} });
      try {
        const [{ n }] = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
        expect(n).toBe(journal.entries.length);
        const admins = await sql`select id from api_tokens where role = 'ADMIN'`;
        expect(admins).toHaveLength(1);
      } finally {
        await sql.end();
      }
      const printed = [api, worker].filter((p) => /^\s+hl_[A-Za-z0-9_-]{20,}\s*$/m.test(p.output()));
      expect(printed).toHaveLength(1);

      // Only the api process serves GraphQL; both serve health and metrics.
      expect((await fetch(`${apiUrl}/graphql`, { headers: { accept: 'text/html' } })).status).toBe(200);
      expect((await fetch(`${workerUrl}/graphql`)).status).toBe(404);
      expect((await fetch(`${workerUrl}/metrics`)).status).toBe(200);

      const [apiExit, workerExit] = await Promise.all([stop(api), stop(worker)]);
      expect(apiExit).toEqual({ code: 0, signal: null });
      expect(workerExit).toEqual({ code: 0, signal: null });
    } finally {
      await database.drop();
    }
  });
});

describe('bad configuration', () => {
  it('exits non-zero on PORT=abc with a message naming PORT', async () => {
    const dataDir = await newDataDir();
    const bad = serve({ PORT: 'abc', HOOKLINE_DATA_DIR: dataDir });
    const { code } = await bad.exited;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(bad.output()).toMatch(/PORT: must be a whole number/);
    // Nothing was started or created for it.
    expect(await readdir(dataDir)).toEqual([]);
  });
});
