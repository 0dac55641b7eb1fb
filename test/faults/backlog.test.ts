import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventData, summarize } from '../../bench/lib.js';
import { WEBHOOKS_PAGE_QUERY } from '../../bench/reads.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { graphqlClient, type GraphqlClient } from '../helpers/gql.js';
import { spawnHookline, type HooklineProcess } from '../helpers/processes.js';
import { eventually, startReceiver, type Receiver } from '../helpers/receiver.js';
import { createWebhook, openSql } from '../helpers/webhook-fixtures.js';

/**
 * A backlog with real processes (issue #6): one api and one worker process (`hookline serve`) on a database of this
 * test's own, and a real receiver on 127.0.0.1 that is down: it answers every request 503, as a proxy in front of
 * a dead service does. Every event enters through the API, in publishEvents batches, while no worker runs (it is
 * behind, or restarting); then the worker starts, its attempts fail, auto-disable makes the endpoint
 * TOO_MANY_ERRORS and holds the rest. The receiver comes back, the operator sets the endpoint ACTIVE (what the
 * auto-disable notice tells them to do), and the whole backlog, all due, drains. Shown:
 * - no accepted event is lost: every event the API accepted reaches the receiver (answered 2xx) at least once;
 *   duplicates are counted and reported;
 * - oldest due first: first arrivals, against their due time, are never further out of place than the sends
 *   running at once allow;
 * - the worker's memory is bounded: its peak RSS (VmHWM) stays under a generous bound (its growth with the size
 *   of the backlog is reported: run with BACKLOG_FAULT_SIZE to compare);
 * - GraphQL stays responsive: the console's webhooks-page query, asked one after another during the drain,
 *   always answers, each within a generous bound (p50/p99 reported).
 */

/** BACKLOG_FAULT_SIZE: 200,000 (the bench's size) works too, given minutes. */
const SIZE = Number(process.env.BACKLOG_FAULT_SIZE ?? 20_000);
/** Events per publishEvents call. A call's deliveries share one due time (its transaction's), so the order checked is between calls. */
const BATCH = 250;
/** The worker's slots (HOOKLINE_WORKER_CONCURRENCY); the endpoint may use them all, so the drain shows the worker's rate. */
const CONCURRENCY = 64;
/**
 * A delivery may arrive after ones due later while it is in flight: after the others of its claim, and after
 * those of the next claim, made as slots free up.
 */
const ORDER_WINDOW = 2 * CONCURRENCY;
const PEAK_RSS_LIMIT_MB = 400;
const QUERY_LIMIT_MS = 5_000;
const PROBE_EVERY_MS = 100;

const ADMIN_TOKEN = `hl_fault_admin_${randomBytes(12).toString('hex')}`;
const PUBLISH_EVENTS = `mutation ($inputs: [PublishEventInput!]!) {
  publishEvents(inputs: $inputs) { results { event { id } deliveries { endpoint { id } } } }
}`;
const ENDPOINT_STATE = `query ($id: ID!) { node(id: $id) { ... on Endpoint { state } } }`;

let db: TestDatabase;
let receiver: Receiver;
let down = true;
/** The first 2xx answer per event (webhook-id), in arrival order. */
const firstArrivals: string[] = [];
const arrived = new Set<string>();
let answered = 0;
let lastFirstAt = 0;
let api: HooklineProcess;
let worker: HooklineProcess | undefined;
let gql: GraphqlClient;
let env: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await startReceiver((request) => {
    if (down) return { status: 503, body: 'service unavailable' };
    const id = String(request.headers['webhook-id']);
    answered++;
    if (!arrived.has(id)) {
      arrived.add(id);
      firstArrivals.push(id);
      lastFirstAt = request.at;
    }
    return { status: 204, body: '' };
  });
  env = {
    DATABASE_URL: db.url,
    HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
    HOOKLINE_ALLOWED_CIDRS: '127.0.0.1/32',
    HOOKLINE_SHUTDOWN_GRACE: '5s',
    HOOKLINE_WORKER_CONCURRENCY: String(CONCURRENCY),
    // The attempts that failed before auto-disable are due again a second later: by the release, all are due.
    HOOKLINE_RETRY_SCHEDULE: '1s',
  };
  api = spawnHookline({ ...env, HOOKLINE_ROLE: 'api' });
  gql = graphqlClient(`${await api.url}/graphql`, ADMIN_TOKEN);
});

afterAll(async () => {
  for (const child of [api, worker]) {
    if (child && child.child.exitCode === null && child.child.signalCode === null) {
      child.child.kill('SIGTERM');
      await child.exited;
    }
  }
  await receiver?.close();
  await db?.drop();
});

/** Current and peak (VmHWM) resident memory of a process, MB. */
function memory(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)![1]) / 1024;
  return { rssMb: Math.round(mb('VmRSS')), peakMb: Math.round(mb('VmHWM')) };
}

describe('a backlog of deliveries held while the receiver was down', () => {
  it('drains oldest due first with bounded worker memory, loses no accepted event, and GraphQL stays responsive', async () => {
    const { webhook } = await createWebhook(gql, {
      name: 'backlog',
      endpoints: [{ url: `${receiver.url}/hook`, maxConcurrency: CONCURRENCY }],
      triggers: [{ resource: 'backlog', event: 'queued' }],
    });
    const endpointId: string = webhook.endpoints[0].id;

    // Accepted by the API: each event came back with its delivery to the endpoint.
    const accepted: string[] = [];
    const publishStarted = Date.now();
    for (let from = 0; from < SIZE; from += BATCH) {
      const inputs = Array.from({ length: Math.min(BATCH, SIZE - from) }, (_, i) => ({
        type: 'backlog.queued',
        data: eventData(`backlog-${from + i}`, from + i),
      }));
      const { publishEvents } = await gql.ok(PUBLISH_EVENTS, { inputs });
      for (const r of publishEvents.results) {
        expect(r.deliveries).toEqual([{ endpoint: { id: endpointId } }]);
        accepted.push(r.event.id);
      }
    }
    const publishS = (Date.now() - publishStarted) / 1000;
    expect(accepted).toHaveLength(SIZE);

    // The worker starts against the backlog; the receiver is down, so auto-disable holds the rest.
    worker = spawnHookline({ ...env, HOOKLINE_ROLE: 'worker' });
    await worker.url;
    const pid = worker.child.pid!;
    await eventually(async () => (await gql.ok(ENDPOINT_STATE, { id: endpointId })).node.state === 'TOO_MANY_ERRORS', 60_000);
    const failedWhileDown = receiver.requests.length;
    expect(failedWhileDown).toBeGreaterThanOrEqual(20); // HOOKLINE_DISABLE_AFTER_FAILURES, the default
    expect(firstArrivals).toEqual([]);

    const sql = openSql(db.url);
    try {
      // Every delivery waiting (PENDING, or RETRYING after its failed attempt) and due: none lost or given up.
      await eventually(async () => {
        const [row] = await sql<{ waiting: number; due: number }[]>`
          select count(*)::int as waiting, (count(*) filter (where next_attempt_at <= now()))::int as due
            from deliveries where endpoint_id = ${endpointId} and status in ('PENDING', 'RETRYING')`;
        expect(row.waiting).toBe(SIZE);
        return row.due === SIZE;
      }, 30_000);
      const before = memory(pid);
      /* Due order at the release. Due times in microseconds as text, so that ties (one publishEvents call) stay ties. */
      const due = await sql<{ eventId: string; dueUs: string }[]>`
        select event_id as "eventId", (extract(epoch from next_attempt_at) * 1000000)::bigint::text as "dueUs"
          from deliveries
         where endpoint_id = ${endpointId}
         order by next_attempt_at, id`;

      // The receiver is back; the operator re-enables the endpoint.
      down = false;
      const releasedAt = Date.now();
      await gql.ok(`mutation ($id: ID!) { setEndpointState(id: $id, state: ACTIVE) { state } }`, { id: endpointId });

      // Meanwhile the console's webhooks page, one request after another, and the worker's memory.
      const latencies: number[] = [];
      const failures: string[] = [];
      let rssMax = before.rssMb;
      let draining = true;
      const probing = (async () => {
        while (draining) {
          const start = Date.now();
          const result = await gql(WEBHOOKS_PAGE_QUERY, { first: 100 });
          latencies.push(Date.now() - start);
          if (result.errors?.length || !result.data?.webhooks) failures.push(JSON.stringify(result.errors ?? result.status));
          rssMax = Math.max(rssMax, memory(pid).rssMb);
          await new Promise((r) => setTimeout(r, Math.max(0, start + PROBE_EVERY_MS - Date.now())));
        }
      })();
      try {
        await eventually(async () => arrived.size >= SIZE, Math.max(120_000, SIZE * 10)).catch(async () => {
          const stuck = await sql`select status, count(*)::int as n from deliveries
                                   where endpoint_id = ${endpointId} and status <> 'SUCCEEDED' group by status`;
          throw new Error(`${SIZE - arrived.size} of ${SIZE} accepted events not delivered: ${JSON.stringify(stuck)}`);
        });
      } finally {
        draining = false;
        await probing;
      }
      const drainS = (lastFirstAt - releasedAt) / 1000;
      const peak = memory(pid);

      // No accepted event lost: each reached the receiver (2xx) at least once.
      expect(accepted.filter((id) => !arrived.has(id))).toEqual([]);
      expect(arrived.size).toBe(SIZE);
      const duplicates = answered - arrived.size;

      /*
       * Oldest due first: each delivery's place in arrival order against its places in due order (a run of equal
       * due times is one range of places).
       */
      const places = new Map<string, { lo: number; hi: number }>();
      for (let lo = 0; lo < due.length; ) {
        let hi = lo;
        while (hi + 1 < due.length && due[hi + 1].dueUs === due[lo].dueUs) hi++;
        for (let i = lo; i <= hi; i++) places.set(due[i].eventId, { lo, hi });
        lo = hi + 1;
      }
      let maxDisplacement = 0;
      firstArrivals.forEach((id, i) => {
        const { lo, hi } = places.get(id)!;
        maxDisplacement = Math.max(maxDisplacement, i < lo ? lo - i : i > hi ? i - hi : 0);
      });

      const query = summarize(latencies);
      console.log(
        `backlog of ${SIZE} (published in ${publishS.toFixed(1)} s; ${failedWhileDown} attempts failed before ` +
          `auto-disable): drained in ${drainS.toFixed(1)} s (${Math.round(SIZE / drainS)}/s), ${duplicates} ` +
          `duplicates, at most ${maxDisplacement} places from due order (${new Set(due.map((d) => d.dueUs)).size} ` +
          `due times); worker RSS before the drain ${before.rssMb} MB, max during ${rssMax} MB, peak (VmHWM) ` +
          `${peak.peakMb} MB; webhooks page during the drain p50 ${query.p50} / p99 ${query.p99} / max ${query.max} ms ` +
          `(${query.n} requests)`,
      );
      expect(maxDisplacement).toBeLessThanOrEqual(ORDER_WINDOW);
      expect(peak.peakMb).toBeLessThan(PEAK_RSS_LIMIT_MB);
      expect(failures).toEqual([]);
      expect(query.n).toBeGreaterThan(0);
      expect(query.max!).toBeLessThan(QUERY_LIMIT_MS);
      expect(worker.child.exitCode).toBeNull();
    } finally {
      await sql.end();
    }
  }, 300_000);
});
