import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../../src/db/client.js';
import { claimDue, releaseClaims, type ClaimedDelivery } from '../../src/delivery/claim.sql.js';
import type { AttemptRecord } from '../../src/delivery/job.js';
import { DELIVERY_UPDATED_CHANNEL, type DeliveryUpdatedPayload } from '../../src/delivery/notify.sql.js';
import { settleBatch, type Settlement } from '../../src/delivery/settle.sql.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { eventually } from '../helpers/receiver.js';

/**
 * The claim and settle SQL on its own, on rows written directly: which rows a worker gets, that concurrent workers
 * never get the same one, leases, settling in finish order, auto-disable exactly once, and the claim's speed.
 */

let database: TestDatabase;
let db: Database;
let sql: postgres.Sql;

beforeAll(async () => {
  database = await createTestDatabase();
  db = connectDatabase(database.url, { max: 8 }); // with drizzle on it, as in the app
  sql = db.sql;
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

let n = 0;
const id = (prefix: string) => `${prefix}_${String(++n).padStart(8, '0')}`;

/** Fresh tables for each test: one ACTIVE webhook with endpoints in each state, one STOPPED webhook. */
let ep: { a: string; b: string; tooMany: string; stopped: string; ofStoppedWebhook: string };
let wh: { active: string; stopped: string };
beforeEach(async () => {
  await sql`truncate webhooks, events cascade`;
  wh = { active: id('wh'), stopped: id('wh') };
  await sql`insert into webhooks (id, name, secret, state, headers) values
    (${wh.active}, 'active', 'whsec_YWJj', 'ACTIVE', '[{"key":"x-w","value":"1"}]'),
    (${wh.stopped}, 'stopped', 'whsec_YWJj', 'STOPPED', '[]')`;
  ep = { a: id('ep'), b: id('ep'), tooMany: id('ep'), stopped: id('ep'), ofStoppedWebhook: id('ep') };
  // maxConcurrency 1000: these tests are about which rows a claim takes, not the caps (delivery-isolation.test.ts).
  await sql`insert into endpoints (id, webhook_id, url, state, timeout_ms, max_concurrency) values
    (${ep.a}, ${wh.active}, 'http://127.0.0.1:9/a', 'ACTIVE', 1000, 1000),
    (${ep.b}, ${wh.active}, 'http://127.0.0.1:9/b', 'ACTIVE', 2000, 1000),
    (${ep.tooMany}, ${wh.active}, 'http://127.0.0.1:9/c', 'TOO_MANY_ERRORS', 1000, 1000),
    (${ep.stopped}, ${wh.active}, 'http://127.0.0.1:9/d', 'STOPPED', 1000, 1000),
    (${ep.ofStoppedWebhook}, ${wh.stopped}, 'http://127.0.0.1:9/e', 'ACTIVE', 1000, 1000)`;
});

interface Row {
  endpoint: string;
  status?: string;
  /** Seconds from now; negative is in the past. */
  dueIn?: number;
  leaseIn?: number;
  attempts?: number;
}

/** Inserts deliveries (one event each) and returns their ids in the order given. */
async function deliveries(rows: Row[]): Promise<string[]> {
  const ids = rows.map(() => id('dlv'));
  const events = rows.map(() => id('evt'));
  await sql`insert into events (id, type, occurred_at, data)
            select e, 'thing.created', now(), jsonb_build_object('i', i) from unnest(${events}::text[]) with ordinality as x(e, i)`;
  await sql`
    insert into deliveries (id, event_id, webhook_id, endpoint_id, status, next_attempt_at, lease_owner, lease_expires_at, attempt_count)
    select d.id, d.event_id, e.webhook_id, d.endpoint_id, d.status::delivery_status,
           now() + d.due_in * interval '1 second',
           case when d.lease_in is null then null else 'someone' end,
           now() + d.lease_in * interval '1 second', d.attempts
      from unnest(${ids}::text[], ${events}::text[], ${rows.map((r) => r.endpoint)}::text[],
                  ${rows.map((r) => r.status ?? 'PENDING')}::text[], ${rows.map((r) => r.dueIn ?? -1)}::float8[],
                  ${rows.map((r) => r.leaseIn ?? null)}::float8[], ${rows.map((r) => r.attempts ?? 0)}::int[])
           as d(id, event_id, endpoint_id, status, due_in, lease_in, attempts)
      join endpoints e on e.id = d.endpoint_id`;
  return ids;
}

const claim = async (limit = 100, owner = `w:${++n}`) =>
  (await claimDue(sql, { leaseOwner: owner, limit, leaseMarginMs: 500 })).claims;

function failedAttempt(number: number, error = 'HTTP 500'): AttemptRecord {
  return {
    number,
    startedAt: new Date(),
    durationMs: 5,
    requestUrl: 'http://127.0.0.1:9/a',
    requestHeaders: [{ key: 'x', value: 'y' }],
    requestBody: '{}',
    responseStatus: 500,
    responseHeaders: [],
    responseBody: 'no',
    error,
  };
}

function settlement(c: ClaimedDelivery, succeeded: boolean, status: Settlement['status'] = succeeded ? 'SUCCEEDED' : 'RETRYING'): Settlement {
  return {
    deliveryId: c.deliveryId,
    leaseOwner: c.leaseOwner,
    endpointId: c.endpoint.id,
    attempt: { ...failedAttempt(c.attemptNumber), ...(succeeded ? { responseStatus: 200, error: null } : {}) },
    succeeded,
    status,
    retryInMs: status === 'RETRYING' ? 0 : null,
  };
}

describe('claim', () => {
  it('takes due rows and expired leases of ACTIVE endpoints of ACTIVE webhooks, oldest first, and nothing else', async () => {
    const [due2, due1, expired, , , , , , ] = await deliveries([
      { endpoint: ep.a, dueIn: -5 },
      { endpoint: ep.b, dueIn: -10, status: 'RETRYING', attempts: 1 },
      { endpoint: ep.a, status: 'SENDING', dueIn: -1, leaseIn: -1, attempts: 2 },
      { endpoint: ep.a, status: 'SENDING', dueIn: -20, leaseIn: 30 }, // a live lease
      { endpoint: ep.a, status: 'RETRYING', dueIn: 60, attempts: 1 }, // not due yet
      { endpoint: ep.tooMany, dueIn: -30 }, // held
      { endpoint: ep.stopped, dueIn: -30 }, // held
      { endpoint: ep.ofStoppedWebhook, dueIn: -30 }, // held
      { endpoint: ep.a, status: 'SUCCEEDED', dueIn: -30 },
    ]);
    const heard: DeliveryUpdatedPayload[] = [];
    const listener = await sql.listen(DELIVERY_UPDATED_CHANNEL, (payload) => heard.push(JSON.parse(payload)));

    const claimed = await claim(10, 'worker-1:1');
    expect(claimed.map((c) => c.deliveryId)).toEqual([due1, due2, expired]);
    expect(claimed.map((c) => c.attemptNumber)).toEqual([2, 1, 3]);
    expect(claimed[0]).toMatchObject({
      leaseOwner: 'worker-1:1',
      event: { type: 'thing.created', data: { i: 2 } },
      webhook: { id: wh.active, name: 'active', secret: 'whsec_YWJj', headers: [{ key: 'x-w', value: '1' }] },
      endpoint: { id: ep.b, url: 'http://127.0.0.1:9/b', method: 'POST', timeoutMs: 2000, kind: 'HTTP' },
    });
    expect(claimed[0].event.occurredAt).toBeInstanceOf(Date);

    const rows = await sql<{ id: string; status: string; lease_owner: string; lease_s: number }[]>`
      select id, status, lease_owner, extract(epoch from lease_expires_at - now())::float8 as lease_s
        from deliveries where id = any(${claimed.map((c) => c.deliveryId)}::text[])`;
    for (const row of rows) {
      expect(row).toMatchObject({ status: 'SENDING', lease_owner: 'worker-1:1' });
      // The endpoint's timeout plus the margin (500 ms).
      const expected = row.id === due1 ? 2.5 : 1.5;
      expect(row.lease_s).toBeGreaterThan(expected - 0.5);
      expect(row.lease_s).toBeLessThanOrEqual(expected);
    }
    expect(await claim()).toEqual([]);

    await eventually(async () => heard.length > 0);
    await listener.unlisten();
    expect(heard[0].deliveries.map((d) => d.id).sort()).toEqual([due1, due2, expired].sort());
    expect(new Set(heard[0].deliveries.map((d) => d.status))).toEqual(new Set(['SENDING']));
  });

  it('resumes held rows once their endpoint and webhook are ACTIVE again', async () => {
    const [held, ofStopped] = await deliveries([
      { endpoint: ep.tooMany, status: 'RETRYING', attempts: 3 },
      { endpoint: ep.ofStoppedWebhook },
    ]);
    expect(await claim()).toEqual([]);
    await sql`update endpoints set state = 'ACTIVE' where id = ${ep.tooMany}`;
    await sql`update webhooks set state = 'ACTIVE' where id = ${wh.stopped}`;
    const claimed = await claim();
    expect(claimed.map((c) => c.deliveryId).sort()).toEqual([held, ofStopped].sort());
    expect(claimed.find((c) => c.deliveryId === held)!.attemptNumber).toBe(4);
  });

  it('never gives the same row to two workers claiming at the same time', async () => {
    const ids = await deliveries(Array.from({ length: 600 }, (_, i) => ({ endpoint: i % 2 ? ep.a : ep.b, dueIn: -i / 100 })));
    // Rounds of four claims started together, until a round finds nothing. A claimer may come back empty-handed
    // while rows remain (its candidates were locked by the others: SKIP LOCKED), so no single claimer stops alone.
    const all: string[] = [];
    let sharedRounds = 0;
    for (;;) {
      const round = await Promise.all(Array.from({ length: 4 }, (_, w) => claim(25, `worker-${w}:${++n}`)));
      if (round.every((claimed) => claimed.length === 0)) break;
      if (round.filter((claimed) => claimed.length > 0).length > 1) sharedRounds++;
      all.push(...round.flat().map((c) => c.deliveryId));
    }
    expect(all).toHaveLength(600);
    expect(new Set(all)).toEqual(new Set(ids));
    // The rounds did overlap: rows were shared out between simultaneous claimers, without any going twice.
    expect(sharedRounds).toBeGreaterThan(0);
  });

  it('stays fast with a big backlog of held, capped and not-yet-due rows', async () => {
    await sql`insert into events (id, type, occurred_at, data)
              select 'evt_big_' || i, 'thing.created', now(), '{}' from generate_series(1, 200000) i`;
    // 100,000 held rows, all due long ago (the oldest in the table); 50,000 due in an hour; 50,000 due for an
    // endpoint at its maxConcurrency (1, taken by a live lease); then 20 due now.
    await sql`insert into deliveries (id, event_id, webhook_id, endpoint_id, status, next_attempt_at)
              select 'dlv_big_' || i, 'evt_big_' || i, ${wh.active}, ${ep.tooMany}, 'RETRYING', now() - interval '1 day'
                from generate_series(1, 100000) i`;
    await sql`insert into deliveries (id, event_id, webhook_id, endpoint_id, status, next_attempt_at)
              select 'dlv_big_' || i, 'evt_big_' || i, ${wh.active}, ${ep.a}, 'RETRYING', now() + interval '1 hour'
                from generate_series(100001, 150000) i`;
    await sql`insert into deliveries (id, event_id, webhook_id, endpoint_id, status, next_attempt_at)
              select 'dlv_big_' || i, 'evt_big_' || i, ${wh.active}, ${ep.a}, 'PENDING', now() - interval '1 hour'
                from generate_series(150001, 200000) i`;
    await sql`update endpoints set max_concurrency = 1 where id = ${ep.a}`;
    await deliveries([{ endpoint: ep.a, status: 'SENDING', leaseIn: 60 }]);
    const due = await deliveries(Array.from({ length: 20 }, () => ({ endpoint: ep.b })));
    await sql`analyze deliveries`;

    // The claim statements exactly as claimDue sends them, captured, then run under EXPLAIN ANALYZE and rolled back.
    const captured: { query: string; parameters: unknown[] }[] = [];
    const spy = postgres(database.url, {
      max: 1,
      onnotice: () => {},
      debug: (_connection, query, parameters) => captured.push({ query, parameters }),
    });
    try {
      const { claims } = await claimDue(spy, { leaseOwner: 'spy', limit: 100, leaseMarginMs: 500 });
      expect(claims.map((c) => c.deliveryId).sort()).toEqual(due.sort());
      await sql`update deliveries set status = 'PENDING', lease_owner = null, lease_expires_at = null where id = any(${due}::text[])`;

      // Both statements: the one that picks and locks endpoints, and the claim itself.
      const statements = captured.filter((c) => /with (due|ep) as/.test(c.query));
      expect(statements).toHaveLength(2);
      // In one transaction, as claimDue runs them: the claim reads the endpoints the first statement locked.
      const plans: any[] = await sql
        .begin(async (tx) => {
          const explained = [];
          for (const statement of statements) {
            const [row] = await tx.unsafe(`explain (analyze, format json) ${statement.query}`, statement.parameters as never[]);
            explained.push(row['QUERY PLAN'][0].Plan);
          }
          throw Object.assign(new Error('rollback'), { plans: explained });
        })
        .catch((err) => err.plans);
      expect(plans[1]['Actual Rows']).toBe(20); // the claim really ran: it took the 20 due rows
      for (const plan of plans) {
        // Rows read from deliveries, over every node that reads it: a handful per ACTIVE endpoint, not the backlog.
        expect(rowsRead(plan, 'deliveries')).toBeLessThan(1_000);
      }
    } finally {
      await spy.end();
    }
  });
});

/** Rows produced and filtered out by the plan nodes that scan `relation`. */
function rowsRead(node: any, relation: string): number {
  const own =
    node['Relation Name'] === relation
      ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) *
        (node['Actual Loops'] ?? 1)
      : 0;
  return own + (node.Plans ?? []).reduce((sum: number, child: any) => sum + rowsRead(child, relation), 0);
}

describe('settle', () => {
  it('writes status, attempt and counts; drops a settlement whose lease was taken over', async () => {
    const [dlv] = await deliveries([{ endpoint: ep.a }]);
    const [first] = await claim(10, 'slow:1');
    await sql`update deliveries set lease_expires_at = now() - interval '1 second' where id = ${dlv}`;
    const [second] = await claim(10, 'fast:1');
    expect(second.deliveryId).toBe(dlv);

    const late = await settleBatch(sql, [settlement(first, false)], 100);
    expect(late.settled).toEqual([]);
    const ok = await settleBatch(sql, [settlement(second, true)], 100);
    expect(ok.settled).toHaveLength(1);

    const [row] = await sql`select status, attempt_count, lease_owner, completed_at, last_response_status, last_error
                              from deliveries where id = ${dlv}`;
    expect(row).toMatchObject({ status: 'SUCCEEDED', attempt_count: 1, lease_owner: null, last_response_status: 200, last_error: null });
    expect(row.completed_at).not.toBeNull();
    const attempts = await sql`select number, response_status from delivery_attempts where delivery_id = ${dlv}`;
    expect(attempts).toEqual([{ number: 1, response_status: 200 }]);
  });

  it('counts failures in a row in the order attempts finish, and a success starts again from 0', async () => {
    await deliveries(Array.from({ length: 5 }, () => ({ endpoint: ep.a })));
    const c = await claim();
    await settleBatch(sql, [settlement(c[0], false), settlement(c[1], false)], 100);
    const failures = async () => (await sql`select consecutive_failures from endpoints where id = ${ep.a}`)[0].consecutive_failures;
    expect(await failures()).toBe(2);
    await settleBatch(sql, [settlement(c[2], false), settlement(c[3], true), settlement(c[4], false)], 100);
    expect(await failures()).toBe(1);
  });

  it('disables an endpoint exactly once, even when two workers cross the threshold together', async () => {
    await deliveries(Array.from({ length: 8 }, (_, i) => ({ endpoint: i % 2 ? ep.a : ep.b })));
    const c = await claim();
    const a = c.filter((x) => x.endpoint.id === ep.a);
    const b = c.filter((x) => x.endpoint.id === ep.b);
    // Two batches that each touch both endpoints, in opposite orders, at the same time.
    const results = await Promise.all([
      settleBatch(sql, [settlement(a[0], false), settlement(b[0], false), settlement(a[1], false), settlement(b[1], false)], 3),
      settleBatch(sql, [settlement(b[2], false), settlement(a[2], false), settlement(b[3], false), settlement(a[3], false)], 3),
    ]);
    const disabled = results.flatMap((r) => r.disabled.map((d) => d.endpointId)).sort();
    expect(disabled).toEqual([ep.a, ep.b].sort());
    const states = await sql`select id, state, consecutive_failures from endpoints where id in (${ep.a}, ${ep.b})`;
    for (const row of states) expect(row).toMatchObject({ state: 'TOO_MANY_ERRORS', consecutive_failures: 4 });
  });
});

describe('release', () => {
  it('gives back unfinished claims at once, as they were, but only while this claim holds them', async () => {
    const [fresh, retried, other] = await deliveries([
      { endpoint: ep.a },
      { endpoint: ep.a, status: 'RETRYING', attempts: 2 },
      { endpoint: ep.b },
    ]);
    const claimed = await claim(10, 'me:1');
    await sql`update deliveries set lease_owner = 'someone-else' where id = ${other}`;
    expect(await releaseClaims(sql, claimed)).toBe(2);
    const rows = await sql`select id, status, lease_owner, lease_expires_at from deliveries order by id`;
    expect(rows.find((r) => r.id === fresh)).toMatchObject({ status: 'PENDING', lease_owner: null, lease_expires_at: null });
    expect(rows.find((r) => r.id === retried)).toMatchObject({ status: 'RETRYING', lease_owner: null });
    expect(rows.find((r) => r.id === other)).toMatchObject({ status: 'SENDING', lease_owner: 'someone-else' });
    expect((await claim()).map((c) => c.deliveryId).sort()).toEqual([fresh, retried].sort());
  });
});
