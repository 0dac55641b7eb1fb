import { sql as drizzleSql } from 'drizzle-orm';
import type postgres from 'postgres';
import { notifyDeliveryUpdated } from '../delivery/notify.sql.js';
import { newId } from '../ids.js';

/**
 * Delivery workers LISTEN on this channel. Whoever creates deliveries NOTIFYs it in the same transaction; the
 * notice is sent at commit, so a worker that wakes up finds the rows (and polling covers a lost notice).
 */
export const WORK_CHANNEL = 'hookline_work';

/** For a postgres.js transaction. */
export const notifyWork = (tx: postgres.TransactionSql) => tx`select pg_notify(${WORK_CHANNEL}, '')`;

/** For a drizzle transaction: `tx.execute(NOTIFY_WORK)`; also wakes workers when held deliveries become due. */
export const NOTIFY_WORK = drizzleSql`select pg_notify(${WORK_CHANNEL}, '')`;

/** Announces new deliveries at commit: wakes workers and tells live subscribers (deliveryUpdated, as PENDING). */
export async function announceNewDeliveries(tx: postgres.TransactionSql, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await Promise.all([notifyWork(tx), notifyDeliveryUpdated(tx, ids.map((id) => ({ id, status: 'PENDING' as const })))]);
}

/**
 * Inserts PENDING deliveries in one statement (unnest) and announces them; the statements go out pipelined.
 * Returns how many it wrote.
 */
export async function insertDeliveries(
  tx: postgres.TransactionSql,
  rows: { eventId: string; webhookId: string; endpointId: string }[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const ids = rows.map(() => newId('Delivery'));
  await Promise.all([
    tx`
      insert into deliveries (id, event_id, webhook_id, endpoint_id)
      select * from unnest(${ids}::text[], ${rows.map((r) => r.eventId)}::text[],
                           ${rows.map((r) => r.webhookId)}::text[], ${rows.map((r) => r.endpointId)}::text[])`,
    announceNewDeliveries(tx, ids),
  ]);
  return rows.length;
}
