import { and, asc, count, eq, gt, inArray, sql } from 'drizzle-orm';
import { PostgresJsSession } from 'drizzle-orm/postgres-js';
import type { TransactionSql } from 'postgres';
import { recordAudit } from '../audit/record.js';
import { deliveries } from '../../schema/db/deliveries.js';
import { endpoints, webhooks } from '../../schema/db/webhooks.js';
import type { Db } from '../db/client.js';
import { badInput, notFound } from '../errors.js';
import type { Viewer } from '../graphql/context.js';
import { idTimePrefix, newId } from '../ids.js';
import { webhookVisibleTo } from '../webhooks/access.js';
import type { Executor } from '../webhooks/queries.js';
import { announceNewDeliveries } from './outbox.js';
import { deliveryCondition, type DeliveryFilter, type DeliveryRow } from './queries.js';

type Transaction = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * A new PENDING delivery of the same event to the same endpoint, `replayOf` the old one: the receiver gets the
 * same `webhook-id` (the event's id). The webhook and endpoint rows are held (FOR KEY SHARE) until the insert, so
 * they cannot be deleted in between.
 */
export function replayDelivery(db: Db, viewer: Viewer, id: string): Promise<DeliveryRow> {
  return db.transaction(async (tx) => {
    const [old] = await tx
      .select({ delivery: deliveries, teamId: webhooks.teamId, webhookState: webhooks.state, endpointState: endpoints.state })
      .from(deliveries)
      .innerJoin(webhooks, eq(webhooks.id, deliveries.webhookId))
      .innerJoin(endpoints, eq(endpoints.id, deliveries.endpointId))
      .where(and(eq(deliveries.id, id), webhookVisibleTo(viewer)))
      .for('key share', { of: [webhooks, endpoints] });
    if (!old) throw notFound('id', id);
    if (old.webhookState !== 'ACTIVE') throw badInput('id', `its webhook is ${old.webhookState}; only ACTIVE webhooks get deliveries`);
    if (old.endpointState !== 'ACTIVE') throw badInput('id', `its endpoint is ${old.endpointState}; only ACTIVE endpoints get deliveries`);
    const { eventId, webhookId, endpointId } = old.delivery;
    const [row] = await tx
      .insert(deliveries)
      .values({ id: newId('Delivery'), eventId, webhookId, endpointId, replayOf: id })
      .returning();
    await recordAudit(tx, viewer, { action: 'delivery.replay', target: { ...row, teamId: old.teamId }, after: row });
    await announceNewDeliveries(postgresTransaction(tx), [row.id]);
    return row;
  });
}

/** A slice of a bulk replay in the original deliveries' id order: at most `limit` after `after`. */
export interface ReplayPage {
  after: string | null;
  limit: number;
}

/**
 * The deliveries a bulk replay copies: those matching the filter that the viewer may see, to ACTIVE endpoints of
 * ACTIVE webhooks, as rows ready for INSERT (the new id is made in SQL, see below); optionally one page of them.
 */
function replaySource(db: Executor, viewer: Viewer, filter: DeliveryFilter, page?: ReplayPage) {
  // Ids sort by creation time: the time part comes from idTimePrefix, the 16-character random tail from a UUID's hex.
  const timePrefix = idTimePrefix('Delivery');
  const query = db
    .select({
      id: sql<string>`${timePrefix} || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16)`.as('id'),
      eventId: deliveries.eventId,
      webhookId: deliveries.webhookId,
      endpointId: deliveries.endpointId,
      replayOf: deliveries.id,
    })
    .from(deliveries)
    .innerJoin(webhooks, eq(webhooks.id, deliveries.webhookId))
    .innerJoin(endpoints, eq(endpoints.id, deliveries.endpointId))
    .where(
      and(
        deliveryCondition(viewer, filter),
        eq(webhooks.state, 'ACTIVE'),
        eq(endpoints.state, 'ACTIVE'),
        page?.after ? gt(deliveries.id, page.after) : undefined,
      ),
    )
    .$dynamic();
  return page ? query.orderBy(asc(deliveries.id)).limit(page.limit) : query;
}

/**
 * One new delivery per matching delivery, in one INSERT … SELECT, announced to workers and to live subscribers
 * (deliveryUpdated) at commit; `dryRun` only counts them.
 */
export async function replayDeliveries(db: Db, viewer: Viewer, filter: DeliveryFilter, dryRun: boolean): Promise<number> {
  if (dryRun) {
    const [{ n }] = await db.select({ n: count() }).from(replaySource(db, viewer, filter).as('r'));
    return n;
  }
  return db.transaction(async (tx) => (await insertReplays(tx, viewer, filter)).length);
}

/**
 * The INSERT … SELECT of a bulk replay (all of it, or one page for a replay job) in the caller's transaction,
 * audited and announced at commit. Returns what it created, with the delivery each one replays.
 */
export async function insertReplays(tx: Transaction, viewer: Viewer, filter: DeliveryFilter, page?: ReplayPage) {
  const source = replaySource(tx, viewer, filter, page).for('key share', { of: [webhooks, endpoints] });
  const created = await tx.execute<{ id: string; webhook_id: string; replay_of: string }>(
    sql`insert into ${deliveries} (id, event_id, webhook_id, endpoint_id, replay_of) ${source} returning id, webhook_id, replay_of`,
  );
  await auditBulkReplay(tx, viewer, filter, created);
  await announceNewDeliveries(postgresTransaction(tx), created.map((d) => d.id));
  return [...created];
}

/** One audit entry per webhook whose deliveries a bulk replay copied (each visible to that webhook's team). */
async function auditBulkReplay(tx: Executor, viewer: Viewer, filter: DeliveryFilter, created: { webhook_id: string }[]) {
  const counts = new Map<string, number>();
  for (const { webhook_id: id } of created) counts.set(id, (counts.get(id) ?? 0) + 1);
  if (counts.size === 0) return;
  const owners = await tx
    .select({ id: webhooks.id, teamId: webhooks.teamId })
    .from(webhooks)
    .where(inArray(webhooks.id, [...counts.keys()]));
  for (const target of owners) {
    const after = { count: counts.get(target.id), filter };
    await recordAudit(tx, viewer, { action: 'webhook.replay_deliveries', target, after });
  }
}

/**
 * The postgres.js transaction under a drizzle one (Db is drizzle over postgres.js), for helpers written for
 * postgres.js such as notifyDeliveryUpdated.
 */
export function postgresTransaction(tx: { _: { session: unknown } }): TransactionSql {
  const { session } = tx._;
  if (!(session instanceof PostgresJsSession)) throw new Error('expected a transaction of drizzle over postgres.js');
  return session.client as TransactionSql;
}
