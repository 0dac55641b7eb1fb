import { eq, inArray } from 'drizzle-orm';
import { deliveries } from '../../schema/db/deliveries.js';
import type { DeliveryStatus } from '../../schema/db/enums.js';
import { webhooks } from '../../schema/db/webhooks.js';
import type { Db, Sql } from '../db/client.js';
import type { DeliveryRow } from '../deliveries/queries.js';

/** A delivery's status change with what subscribers are filtered on. */
export interface DeliveryChange {
  id: string;
  status: DeliveryStatus;
  webhookId: string;
  endpointId: string;
  /** The webhook's team; null: ADMIN-only. */
  teamId: string | null;
}

/**
 * Where each announced delivery belongs (its webhook, endpoint and team), in the order given. Deliveries deleted
 * since (with their webhook or endpoint) are left out. One query per notification, shared by every subscriber.
 */
export async function routeChanges(sql: Sql, announced: { id: string; status: DeliveryStatus }[]): Promise<DeliveryChange[]> {
  const rows = await sql<{ id: string; webhookId: string; endpointId: string; teamId: string | null }[]>`
    select d.id, d.webhook_id as "webhookId", d.endpoint_id as "endpointId", w.team_id as "teamId"
      from deliveries d
      join webhooks w on w.id = d.webhook_id
     where d.id = any(${announced.map((a) => a.id)}::text[])`;
  const byId = new Map(rows.map((r) => [r.id, r]));
  return announced.flatMap((a) => {
    const row = byId.get(a.id);
    return row ? [{ ...row, status: a.status }] : [];
  });
}

/**
 * The deliveries changed since `since`, with their current status, oldest change first: what a listener missed
 * while its connection was down (NOTIFY does not queue for absent listeners). At most `limit`, the most recent.
 * There is no index on updated_at, so this scans deliveries: it runs only after a reconnection.
 */
export async function changedSince(sql: Sql, since: Date, limit: number): Promise<DeliveryChange[]> {
  const rows = await sql<DeliveryChange[]>`
    select * from (
      select d.id, d.status, d.webhook_id as "webhookId", d.endpoint_id as "endpointId", w.team_id as "teamId",
             d.updated_at
        from deliveries d
        join webhooks w on w.id = d.webhook_id
       where d.updated_at >= ${since.toISOString()}::timestamptz
       order by d.updated_at desc
       limit ${limit}
    ) recent
    order by updated_at`;
  return rows.map(({ id, status, webhookId, endpointId, teamId }) => ({ id, status, webhookId, endpointId, teamId }));
}

/** Deliveries by id, each with its webhook's team as it is now (for the visibility check), in one query. */
export async function loadDeliveriesWithTeam(db: Db, ids: string[]): Promise<Map<string, { row: DeliveryRow; teamId: string | null }>> {
  const rows = await db
    .select({ row: deliveries, teamId: webhooks.teamId })
    .from(deliveries)
    .innerJoin(webhooks, eq(webhooks.id, deliveries.webhookId))
    .where(inArray(deliveries.id, ids));
  return new Map(rows.map((r) => [r.row.id, r]));
}
