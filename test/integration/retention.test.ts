import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectDatabase, type Database, type Sql } from '../../src/db/client.js';
import { prune } from '../../src/retention/prune.js';
import { tryPruneLock } from '../../src/retention/prune.sql.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { eventually } from '../helpers/receiver.js';

/**
 * Retention on a real database with a fixed clock: what is pruned and what is kept at the boundary, FAILED kept
 * under its own retention, unfinished deliveries (and their events) never pruned, batching, one pruner at a time;
 * and the periodic job of a worker process, with its metric.
 */

const DAY = 86_400_000;
const NOW = new Date('2026-06-01T00:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);

interface Row {
  id: string;
  status: 'PENDING' | 'SENDING' | 'RETRYING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  createdAt: Date;
  /** Unset: not completed (completed_at null, updated_at = createdAt). */
  completedAt?: Date;
  attempts?: number;
  /** Shared events: deliveries naming the same event. Default: an event of its own, created with the delivery. */
  eventId?: string;
}

/** A stopped webhook and endpoint (nothing is ever sent), events, deliveries and attempts as given. */
async function seed(sql: Sql, rows: Row[], lonelyEvents: { id: string; createdAt: Date }[] = []): Promise<void> {
  await sql`insert into webhooks (id, name, state, secret) values ('wh_ret', 'retention', 'STOPPED', 'whsec_unused')
            on conflict do nothing`;
  await sql`insert into endpoints (id, webhook_id, state, url) values ('ep_ret', 'wh_ret', 'STOPPED', 'http://127.0.0.1:9/')
            on conflict do nothing`;
  const events = new Map<string, Date>(lonelyEvents.map((e) => [e.id, e.createdAt]));
  for (const row of rows) {
    const eventId = row.eventId ?? `evt_${row.id}`;
    const earliest = events.get(eventId);
    if (!earliest || row.createdAt < earliest) events.set(eventId, row.createdAt);
  }
  // Dates as ISO text: the app's postgres.js types setting does not serialise Date parameters.
  const at = (date: Date) => date.toISOString();
  for (const [id, createdAt] of events) {
    await sql`insert into events (id, type, occurred_at, data, created_at)
              values (${id}, 'order.created', ${at(createdAt)}, '{}', ${at(createdAt)})`;
  }
  for (const row of rows) {
    await sql`
      insert into deliveries (id, event_id, webhook_id, endpoint_id, status, attempt_count,
                              created_at, updated_at, completed_at)
      values (${row.id}, ${row.eventId ?? `evt_${row.id}`}, 'wh_ret', 'ep_ret', ${row.status}, ${row.attempts ?? 0},
              ${at(row.createdAt)}, ${at(row.completedAt ?? row.createdAt)},
              ${row.completedAt ? at(row.completedAt) : null})`;
    for (let number = 1; number <= (row.attempts ?? 0); number++) {
      await sql`insert into delivery_attempts (delivery_id, number, started_at, duration_ms, request_url, request_headers)
                values (${row.id}, ${number}, ${at(row.createdAt)}, 5, 'http://127.0.0.1:9/', '[]')`;
    }
  }
}

async function ids(sql: Sql, table: 'deliveries' | 'events'): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`select id from ${sql(table)} order by id`;
  return rows.map((r) => r.id);
}

let database: TestDatabase;
let db: Database;
let deletes = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  db = connectDatabase(database.url, {
    max: 4,
    onQuery: (q) => {
      if (/^\s*with doomed/i.test(q)) deletes++;
    },
  });
});

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

beforeEach(async () => {
  await db.sql`truncate events, deliveries, delivery_attempts, endpoints, webhooks cascade`;
  deletes = 0;
});

describe('prune() with a fixed clock', () => {
  it('prunes finished deliveries, attempts and emptied events; keeps FAILED longer, unfinished work always', async () => {
    await seed(
      db.sql,
      [
        { id: 'ok_old', status: 'SUCCEEDED', createdAt: ago(40 * DAY), completedAt: ago(40 * DAY - 60_000), attempts: 2 },
        // The boundary is the completion time: finished a second inside the window is kept, a second outside is not.
        { id: 'ok_inside', status: 'SUCCEEDED', createdAt: ago(31 * DAY), completedAt: ago(30 * DAY - 1000), attempts: 3 },
        { id: 'ok_outside', status: 'SUCCEEDED', createdAt: ago(31 * DAY), completedAt: ago(30 * DAY + 1000), attempts: 1 },
        { id: 'ok_recent', status: 'SUCCEEDED', createdAt: ago(DAY), completedAt: ago(DAY), attempts: 1 },
        { id: 'cancelled_old', status: 'CANCELLED', createdAt: ago(40 * DAY) },
        // FAILED: kept for HOOKLINE_RETENTION_FAILED (90 days here).
        { id: 'failed_40d', status: 'FAILED', createdAt: ago(41 * DAY), completedAt: ago(40 * DAY), attempts: 8 },
        { id: 'failed_100d', status: 'FAILED', createdAt: ago(101 * DAY), completedAt: ago(100 * DAY), attempts: 8 },
        // Not finished, however old: never pruned, nor their events.
        { id: 'pending_old', status: 'PENDING', createdAt: ago(200 * DAY) },
        { id: 'retrying_old', status: 'RETRYING', createdAt: ago(200 * DAY), attempts: 4 },
        { id: 'sending_old', status: 'SENDING', createdAt: ago(200 * DAY), attempts: 1 },
        // One event, two endpoints: the SUCCEEDED delivery goes, the event stays with its kept FAILED one.
        { id: 'shared_ok', status: 'SUCCEEDED', createdAt: ago(50 * DAY), completedAt: ago(50 * DAY), eventId: 'evt_sh' },
        { id: 'shared_failed', status: 'FAILED', createdAt: ago(50 * DAY), completedAt: ago(49 * DAY), eventId: 'evt_sh' },
      ],
      // Events that matched no webhook: pruned by their age alone.
      [
        { id: 'evt_lonely_old', createdAt: ago(30 * DAY + 1000) },
        { id: 'evt_lonely_new', createdAt: ago(30 * DAY - 1000) },
      ],
    );

    const result = await prune(db.sql, { now: NOW, retentionMs: 30 * DAY, failedRetentionMs: 90 * DAY });

    expect(await ids(db.sql, 'deliveries')).toEqual([
      'failed_40d',
      'ok_inside',
      'ok_recent',
      'pending_old',
      'retrying_old',
      'sending_old',
      'shared_failed',
    ]);
    expect(await ids(db.sql, 'events')).toEqual([
      'evt_failed_40d',
      'evt_lonely_new',
      'evt_ok_inside',
      'evt_ok_recent',
      'evt_pending_old',
      'evt_retrying_old',
      'evt_sending_old',
      'evt_sh',
    ]);
    // Attempts went with their deliveries; the kept deliveries keep every attempt.
    const attempts = await db.sql<{ delivery_id: string; n: number }[]>`
      select delivery_id, count(*)::int as n from delivery_attempts group by delivery_id order by delivery_id`;
    expect(attempts).toEqual([
      { delivery_id: 'failed_40d', n: 8 },
      { delivery_id: 'ok_inside', n: 3 },
      { delivery_id: 'ok_recent', n: 1 },
      { delivery_id: 'retrying_old', n: 4 },
      { delivery_id: 'sending_old', n: 1 },
    ]);
    expect(result).toMatchObject({ deliveries: 5, attempts: 2 + 1 + 8, events: 5 });

    // Nothing is left to prune at the same time; a year later only the unfinished work and its events remain.
    expect(await prune(db.sql, { now: NOW, retentionMs: 30 * DAY, failedRetentionMs: 90 * DAY })).toMatchObject({
      deliveries: 0,
      events: 0,
    });
    await prune(db.sql, { now: new Date(NOW.getTime() + 365 * DAY), retentionMs: 30 * DAY, failedRetentionMs: 90 * DAY });
    expect(await ids(db.sql, 'deliveries')).toEqual(['pending_old', 'retrying_old', 'sending_old']);
    expect(await ids(db.sql, 'events')).toEqual(['evt_pending_old', 'evt_retrying_old', 'evt_sending_old']);
  });

  it('keeps FAILED deliveries for less time than the others when told to', async () => {
    await seed(db.sql, [
      { id: 'failed_10d', status: 'FAILED', createdAt: ago(10 * DAY), completedAt: ago(10 * DAY) },
      { id: 'ok_10d', status: 'SUCCEEDED', createdAt: ago(10 * DAY), completedAt: ago(10 * DAY) },
    ]);
    await prune(db.sql, { now: NOW, retentionMs: 30 * DAY, failedRetentionMs: 7 * DAY });
    expect(await ids(db.sql, 'deliveries')).toEqual(['ok_10d']);
    // Its event is younger than the main window: kept, though it has no delivery left.
    expect(await ids(db.sql, 'events')).toEqual(['evt_failed_10d', 'evt_ok_10d']);
  });

  it('deletes in batches, one statement per batch, oldest first', async () => {
    const rows: Row[] = [1, 2, 3, 4, 5].map((n) => ({
      id: `ok_${n}`,
      status: 'SUCCEEDED',
      createdAt: ago((40 + n) * DAY),
      completedAt: ago((40 + n) * DAY),
      attempts: 1,
    }));
    await seed(db.sql, [...rows, { id: 'ok_recent', status: 'SUCCEEDED', createdAt: ago(DAY), completedAt: ago(DAY) }]);

    // Stopped after the first statement: the two oldest are gone, the rest wait for the next run.
    let statements = 0;
    const first = await prune(db.sql, {
      now: NOW,
      retentionMs: 30 * DAY,
      failedRetentionMs: 30 * DAY,
      batchSize: 2,
      stopping: () => ++statements > 1,
    });
    expect(first).toMatchObject({ deliveries: 2, statements: 1 });
    expect(await ids(db.sql, 'deliveries')).toEqual(['ok_1', 'ok_2', 'ok_3', 'ok_recent']);

    deletes = 0;
    const rest = await prune(db.sql, { now: NOW, retentionMs: 30 * DAY, failedRetentionMs: 30 * DAY, batchSize: 2 });
    // 3 old SUCCEEDED: 2 + 1; one statement each finding no CANCELLED and no FAILED; then 5 events: 2 + 2 + 1.
    expect(rest).toMatchObject({ deliveries: 3, events: 5, statements: 2 + 1 + 1 + 3 });
    expect(deletes).toBe(7); // as sent to PostgreSQL
    expect(await ids(db.sql, 'deliveries')).toEqual(['ok_recent']);
    expect(await ids(db.sql, 'events')).toEqual(['evt_ok_recent']);
  });

  it('goes on past old events it keeps, batch after batch', async () => {
    // Oldest first: kept (pending), pruned, kept (retrying), pruned, pruned; one row per statement.
    await seed(
      db.sql,
      [
        { id: 'pending_1', status: 'PENDING', createdAt: ago(50 * DAY) },
        { id: 'retrying_3', status: 'RETRYING', createdAt: ago(48 * DAY) },
      ],
      [
        { id: 'evt_lonely_2', createdAt: ago(49 * DAY) },
        { id: 'evt_lonely_4', createdAt: ago(47 * DAY) },
        { id: 'evt_lonely_5', createdAt: ago(47 * DAY) }, // the same time as the one before: not skipped
      ],
    );
    const result = await prune(db.sql, { now: NOW, retentionMs: 30 * DAY, failedRetentionMs: 30 * DAY, batchSize: 1 });
    expect(result).toMatchObject({ deliveries: 0, events: 3 });
    expect(await ids(db.sql, 'events')).toEqual(['evt_pending_1', 'evt_retrying_3']);
  });

  it('does nothing while another process is pruning', async () => {
    await seed(db.sql, [{ id: 'ok_old', status: 'SUCCEEDED', createdAt: ago(40 * DAY), completedAt: ago(40 * DAY) }]);
    const other = connectDatabase(database.url, { max: 1 });
    const conn = await other.sql.reserve();
    try {
      expect(await tryPruneLock(conn)).toBe(true);
      expect(await prune(db.sql, { now: NOW, retentionMs: 30 * DAY, failedRetentionMs: 30 * DAY })).toBeNull();
      expect(await ids(db.sql, 'deliveries')).toEqual(['ok_old']);
    } finally {
      conn.release();
      await other.close();
    }
    // The lock went with the other session: the next run prunes.
    expect(await prune(db.sql, { now: NOW, retentionMs: 30 * DAY, failedRetentionMs: 30 * DAY })).toMatchObject({
      deliveries: 1,
    });
  });
});

describe('the periodic job in a worker process', () => {
  let t: TestApp;
  afterAll(async () => {
    await t?.stop();
  });

  it('prunes soon after start with HOOKLINE_RETENTION (FAILED too, by default) and counts it in /metrics', async () => {
    t = await startTestApp({ HOOKLINE_ROLE: 'worker', HOOKLINE_RETENTION: '30d', HOOKLINE_PRUNE_INTERVAL: '1h' });
    const sql = t.app.services.sql;
    const now = Date.now();
    const daysAgo = (days: number) => new Date(now - days * DAY);
    await seed(sql, [
      { id: 'ok_old', status: 'SUCCEEDED', createdAt: daysAgo(40), completedAt: daysAgo(40), attempts: 2 },
      { id: 'failed_old', status: 'FAILED', createdAt: daysAgo(40), completedAt: daysAgo(40), attempts: 3 },
      { id: 'ok_new', status: 'SUCCEEDED', createdAt: daysAgo(20), completedAt: daysAgo(20), attempts: 1 },
    ]);
    const metric = (text: string, table: string) =>
      Number(new RegExp(`^hookline_pruned_rows_total\\{table="${table}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    // The first run comes 5 to 10 s after start.
    const text = await eventually(async () => {
      const body = await (await fetch(`${t.url}/metrics`)).text();
      return metric(body, 'deliveries') > 0 ? body : undefined;
    }, 30_000);
    expect(metric(text, 'deliveries')).toBe(2);
    expect(metric(text, 'delivery_attempts')).toBe(5);
    expect(metric(text, 'events')).toBe(2);
    expect(await ids(sql, 'deliveries')).toEqual(['ok_new']);
    expect(await ids(sql, 'events')).toEqual(['evt_ok_new']);
  });
});
