import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { webhookWith } from '../helpers/delivery-fixtures.js';
import { graphqlClient, type GraphqlClient } from '../helpers/gql.js';
import { spawnHookline, type HooklineProcess } from '../helpers/processes.js';
import { eventually, startReceiver, type Receiver } from '../helpers/receiver.js';
import { createWebhook, openSql } from '../helpers/webhook-fixtures.js';

/**
 * Real `hookline serve` processes (api and worker roles) sharing one database: every event is delivered exactly
 * once across workers, a worker killed mid-send loses nothing (another sends after the lease), and a stop and
 * restart of the whole service loses nothing.
 */

const ADMIN_TOKEN = 'hl_workers_test_admin_token_0123456789';

type Hookline = HooklineProcess;

let database: TestDatabase;
let dataDir: string;
let receiver: Receiver;
let sql: postgres.Sql;
const processes: Hookline[] = [];

function serve(role: 'api' | 'worker' | 'all'): Hookline {
  const hookline = spawnHookline({
    HOOKLINE_ROLE: role,
    DATABASE_URL: database.url,
    HOOKLINE_DATA_DIR: dataDir,
    HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
    HOOKLINE_ALLOWED_CIDRS: '127.0.0.1/32',
    HOOKLINE_RETRY_SCHEDULE: '0ms,50ms,50ms',
    HOOKLINE_POLL_INTERVAL: '200ms',
    HOOKLINE_LEASE_MARGIN: '500ms',
    HOOKLINE_WORKER_CONCURRENCY: '16',
    HOOKLINE_SHUTDOWN_GRACE: '3s',
  });
  processes.push(hookline);
  return hookline;
}

async function stop(hookline: Hookline, signal: NodeJS.Signals) {
  if (hookline.child.exitCode === null && hookline.child.signalCode === null) hookline.child.kill(signal);
  return hookline.exited;
}

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'hookline-workers-'));
  sql = openSql(database.url);
  receiver = await startReceiver((request) => (request.url.startsWith('/slow') ? { delayMs: 300 } : {}));
});
afterAll(async () => {
  await Promise.all(processes.map((p) => stop(p, 'SIGKILL')));
  await receiver?.close();
  await sql?.end();
  await database?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

/** Publishes `count` events of `type` through the api process, in batches of the largest size allowed. */
async function publishMany(gql: GraphqlClient, type: string, count: number) {
  for (let start = 0; start < count; start += 1000) {
    const inputs = Array.from({ length: Math.min(1000, count - start) }, (_, i) => ({ type, data: { n: start + i } }));
    await gql.ok('mutation ($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { results { duplicate } } }', {
      inputs,
    });
  }
}

const idsAt = (path: string) => receiver.requests.filter((r) => r.url === path).map((r) => String(r.headers['webhook-id']));

async function statusCounts(webhookId: string) {
  const rows = await sql<{ status: string; count: number }[]>`
    select status, count(*)::int as count from deliveries where webhook_id = ${webhookId} group by status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.count]));
}

async function successesOf(hookline: Hookline): Promise<number> {
  const text = await (await fetch(`${await hookline.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('hookline_delivery_attempts_total{outcome="success"} '));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('worker processes', () => {
  let api: Hookline;
  let workers: Hookline[];
  let gql: GraphqlClient;

  it('two workers and one api deliver 1,000 events, each exactly once', async () => {
    api = serve('api');
    workers = [serve('worker'), serve('worker')];
    gql = graphqlClient(`${await api.url}/graphql`, ADMIN_TOKEN);
    await Promise.all(workers.map((w) => w.url));
    const worker = await fetch(`${await workers[0].url}/graphql`);
    expect(worker.status).toBe(404); // workers serve no GraphQL

    const { webhook } = await createWebhook(gql, {
      name: 'thousand',
      triggers: [{ resource: 'bulk', event: 'created' }],
      // Above the default per-endpoint cap of 8, which one worker alone could keep full.
      endpoints: [{ url: `${receiver.url}/bulk`, maxConcurrency: 64 }],
    });
    await publishMany(gql, 'bulk.created', 1000);

    await eventually(async () => (await statusCounts(webhook.id)).SUCCEEDED === 1000, 45_000);
    const ids = idsAt('/bulk');
    expect(ids).toHaveLength(1000);
    expect(new Set(ids).size).toBe(1000);
    const [a, b] = await Promise.all(workers.map(successesOf));
    expect(a + b).toBe(1000);
    expect(Math.min(a, b)).toBeGreaterThan(0); // both took part
  });

  it('a worker killed mid-send loses nothing: another one sends its deliveries once the lease runs out', async () => {
    const { webhook } = await createWebhook(gql, {
      name: 'kill',
      triggers: [{ resource: 'kill', event: 'created' }],
      // Room above the default per-endpoint cap of 8, which the other worker alone could hold at the kill.
      endpoints: [{ url: `${receiver.url}/slow-kill`, timeoutMs: 1000, maxConcurrency: 64 }],
    });
    await publishMany(gql, 'kill.created', 150);
    await eventually(async () => idsAt('/slow-kill').length >= 20);
    // Killed while it holds leases of this endpoint (lease_owner is <host>:<pid>:…), so it dies with sends in flight.
    const leasedBy = `%:${workers[0].child.pid}:%`;
    await eventually(async () => {
      const [{ n }] = await sql<{ n: number }[]>`
        select count(*)::int as n from deliveries
         where webhook_id = ${webhook.id} and status = 'SENDING' and lease_owner like ${leasedBy}`;
      return n >= 2;
    });
    const killed = await stop(workers[0], 'SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const killedAt = Date.now();

    await eventually(async () => (await statusCounts(webhook.id)).SUCCEEDED === 150, 45_000);
    const ids = idsAt('/slow-kill');
    expect(new Set(ids).size).toBe(150);
    // What the dead worker had in flight was sent again, after its lease (timeout 1 s + margin 0.5 s) ran out.
    const resent = receiver.requests.filter(
      (r, i, all) => r.url === '/slow-kill' && all.findIndex((x) => x.headers['webhook-id'] === r.headers['webhook-id']) !== i,
    );
    expect(resent.length).toBeGreaterThan(0);
    for (const r of resent) expect(r.at - killedAt).toBeGreaterThan(1_000);
  });

  it('stopping and restarting the whole service with deliveries pending loses none', async () => {
    const { webhook } = await createWebhook(gql, {
      name: 'restart',
      triggers: [{ resource: 'restart', event: 'created' }],
      endpoints: [{ url: `${receiver.url}/slow-restart`, timeoutMs: 5000 }],
    });
    await publishMany(gql, 'restart.created', 200);
    await eventually(async () => idsAt('/slow-restart').length >= 10);

    const exits = await Promise.all([stop(api, 'SIGTERM'), stop(workers[1], 'SIGTERM')]);
    for (const exit of exits) expect(exit.code).toBe(0);
    const left = await statusCounts(webhook.id);
    expect(left.SENDING ?? 0).toBe(0); // finished or released, none left leased to a stopped worker
    expect(left.SUCCEEDED ?? 0).toBeLessThan(200);

    const all = serve('all');
    await all.url;
    await eventually(async () => (await statusCounts(webhook.id)).SUCCEEDED === 200, 45_000);
    expect(new Set(idsAt('/slow-restart')).size).toBe(200);
    expect((await stop(all, 'SIGTERM')).code).toBe(0);
  });
});

describe('shutdown in process', () => {
  it('lets sends finish within the grace period and releases the ones that cannot', async () => {
    const t = await startTestApp({ HOOKLINE_SHUTDOWN_GRACE: '4s', HOOKLINE_POLL_INTERVAL: '100ms', LOG_LEVEL: 'silent' });
    const slow = await startReceiver((request) => (request.url === '/quick' ? { delayMs: 500 } : { delayMs: 20_000 }));
    try {
      const hook = await webhookWith(t, [
        { url: `${slow.url}/quick`, timeoutMs: 30_000 },
        { url: `${slow.url}/stuck`, timeoutMs: 30_000 },
      ]);
      const { deliveries } = await hook.publish();
      await slow.waitFor(2);
      const started = Date.now();
      await t.app.stop();
      expect(Date.now() - started).toBeLessThan(4_000);

      const sql = openSql(t.database.url);
      try {
        const rows = await sql<{ url: string; status: string; lease_owner: string | null; attempt_count: number }[]>`
          select e.url, d.status, d.lease_owner, d.attempt_count
            from deliveries d join endpoints e on e.id = d.endpoint_id
           where d.id = any(${deliveries.map((d) => d.id)}::text[])`;
        expect(rows.find((r) => r.url.endsWith('/quick'))).toMatchObject({ status: 'SUCCEEDED', attempt_count: 1 });
        expect(rows.find((r) => r.url.endsWith('/stuck'))).toMatchObject({ status: 'PENDING', lease_owner: null, attempt_count: 0 });
      } finally {
        await sql.end();
      }
    } finally {
      await slow.close();
      await t.database.drop();
    }
  });
});
