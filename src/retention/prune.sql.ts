import type { ReservedSql } from 'postgres';
import type { DeliveryStatus } from '../../schema/db/enums.js';

/** Arbitrary constant shared by every Hookline process: the key of the pruning advisory lock. */
const PRUNE_LOCK_KEY = 7_302_451_912;

/**
 * Session-level advisory lock on the reserved connection, taken without waiting: at most one process prunes at a
 * time, the others skip their turn. It goes with the connection, so a process that dies mid-run frees it.
 */
export async function tryPruneLock(conn: ReservedSql): Promise<boolean> {
  const [row] = await conn<{ locked: boolean }[]>`select pg_try_advisory_lock(${PRUNE_LOCK_KEY}) as locked`;
  return row.locked;
}

export async function pruneUnlock(conn: ReservedSql): Promise<void> {
  await conn`select pg_advisory_unlock(${PRUNE_LOCK_KEY})`;
}

/**
 * Deletes up to `limit` finished deliveries with `status` that finished before `before`, oldest first; their
 * attempts go with them (ON DELETE CASCADE). Returns the deliveries deleted and the attempts they held.
 *
 * One statement is one short transaction: it locks only the rows it deletes. Rows are read in order from
 * deliveries_status_created_idx (one status, so the LIMIT stops the scan early; created_at is never after
 * completed_at, so `created_at < before` only narrows it); completed_at decides, or updated_at where a status
 * change left no completion time. SKIP LOCKED: a row some other transaction holds (a replay reading it, say) is
 * left for the next run instead of waited for.
 */
export async function deleteFinishedDeliveries(
  conn: ReservedSql,
  status: DeliveryStatus,
  before: Date,
  limit: number,
): Promise<{ deliveries: number; attempts: number }> {
  const [row] = await conn<{ deliveries: number; attempts: number }[]>`
    with doomed as (
      select id from deliveries
       where status = ${status}
         and created_at < ${before.toISOString()}::timestamptz
         and coalesce(completed_at, updated_at) < ${before.toISOString()}::timestamptz
       order by created_at
       limit ${limit}
         for update skip locked
    ), gone as (
      delete from deliveries d using doomed where d.id = doomed.id returning d.attempt_count
    )
    select count(*)::int as deliveries, coalesce(sum(attempt_count), 0)::int as attempts from gone`;
  return row;
}

/**
 * Deletes up to `limit` events created before `before` (and not before `from`) that have no delivery left, oldest
 * first (through events_created_idx; the NOT EXISTS through deliveries_event_idx). An event with any delivery,
 * unfinished or still kept (FAILED under a longer retention), is never deleted: that would cascade to its
 * deliveries. An event row locked by a transaction adding a delivery to it (its foreign-key check holds a share
 * lock) is skipped. Returns the count and the created_at of the newest deleted, as exact text: the next batch
 * starts there (`from`), so kept events older than it are not read again by every batch.
 */
export async function deleteEventsWithoutDeliveries(
  conn: ReservedSql,
  before: Date,
  from: string | null,
  limit: number,
): Promise<{ events: number; last: string | null }> {
  const [row] = await conn<{ events: number; last: string | null }[]>`
    with doomed as (
      select e.id from events e
       where e.created_at < ${before.toISOString()}::timestamptz
         and (${from}::timestamptz is null or e.created_at >= ${from}::timestamptz)
         and not exists (select 1 from deliveries d where d.event_id = e.id)
       order by e.created_at
       limit ${limit}
         for update skip locked
    ), gone as (
      delete from events e using doomed where e.id = doomed.id returning e.created_at
    )
    select count(*)::int as events, max(created_at)::text as last from gone`;
  return row;
}
