import { sql as drizzleSql } from 'drizzle-orm';
import type postgres from 'postgres';

/**
 * Delivery workers LISTEN on this channel. Whoever creates deliveries NOTIFYs it in the same transaction; the
 * notice is sent at commit, so a worker that wakes up finds the rows (and polling covers a lost notice).
 */
export const WORK_CHANNEL = 'hookline_work';

/** For a postgres.js transaction. */
export const notifyWork = (tx: postgres.TransactionSql) => tx`select pg_notify(${WORK_CHANNEL}, '')`;

/** For a drizzle transaction: `tx.execute(NOTIFY_WORK)`; also wakes workers when held deliveries become due. */
export const NOTIFY_WORK = drizzleSql`select pg_notify(${WORK_CHANNEL}, '')`;
