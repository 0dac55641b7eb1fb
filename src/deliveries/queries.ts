import type { KeysetPage } from '../graphql/common.js';
import { and, asc, eq, gte, inArray, lt, type SQL } from 'drizzle-orm';
import { deliveries, deliveryAttempts } from '../../schema/db/deliveries.js';
import type { DeliveryStatus } from '../../schema/db/enums.js';
import type { Db } from '../db/client.js';
import type { Viewer } from '../graphql/context.js';
import { webhookIdVisibleTo } from '../webhooks/access.js';

export type DeliveryRow = typeof deliveries.$inferSelect;
export type DeliveryAttemptRow = typeof deliveryAttempts.$inferSelect;

/** What lists and replays of deliveries are narrowed by. `since` is inclusive, `until` exclusive (on createdAt). */
export interface DeliveryFilter {
  webhookId?: string | null;
  endpointId?: string | null;
  status?: DeliveryStatus[] | null;
  since?: Date | null;
  until?: Date | null;
}

/** The filter and the visibility rule as one condition on `deliveries`. */
export function deliveryCondition(viewer: Viewer | null, filter: DeliveryFilter): SQL | undefined {
  return and(
    webhookIdVisibleTo(deliveries.webhookId, viewer),
    filter.webhookId ? eq(deliveries.webhookId, filter.webhookId) : undefined,
    filter.endpointId ? eq(deliveries.endpointId, filter.endpointId) : undefined,
    filter.status?.length ? inArray(deliveries.status, filter.status) : undefined,
    filter.since ? gte(deliveries.createdAt, filter.since) : undefined,
    filter.until ? lt(deliveries.createdAt, filter.until) : undefined,
  );
}

/** One page of deliveries, newest first (see pageNewestFirst). */
export function listDeliveries(
  db: Db,
  viewer: Viewer | null,
  filter: DeliveryFilter,
  page: KeysetPage,
): Promise<DeliveryRow[]> {
  return db
    .select()
    .from(deliveries)
    .where(and(deliveryCondition(viewer, filter), page.where))
    .orderBy(page.orderBy)
    .limit(page.limit);
}

/** The deliveries with these ids that the viewer may see. */
export function selectVisibleDeliveries(db: Db, viewer: Viewer | null, ids: readonly string[]): Promise<DeliveryRow[]> {
  return db
    .select()
    .from(deliveries)
    .where(and(inArray(deliveries.id, [...ids]), webhookIdVisibleTo(deliveries.webhookId, viewer)));
}

/** Whether the event was ever sent to the endpoint (a delivery of it exists there, replays included). */
export async function eventDeliveredTo(db: Db, eventId: string, endpointId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(and(eq(deliveries.eventId, eventId), eq(deliveries.endpointId, endpointId)))
    .limit(1);
  return row !== undefined;
}

/** Each event's deliveries that the viewer may see, oldest first: one query for a whole page of events. */
export async function loadEventDeliveries(db: Db, viewer: Viewer | null, eventIds: readonly string[]): Promise<DeliveryRow[][]> {
  const rows = await db
    .select()
    .from(deliveries)
    .where(and(inArray(deliveries.eventId, [...eventIds]), webhookIdVisibleTo(deliveries.webhookId, viewer)))
    .orderBy(asc(deliveries.id));
  return groupBy(eventIds, rows, (r) => r.eventId);
}

/** Each delivery's attempts in order: one query for a whole page of deliveries. */
export async function loadAttempts(db: Db, deliveryIds: readonly string[]): Promise<DeliveryAttemptRow[][]> {
  const rows = await db
    .select()
    .from(deliveryAttempts)
    .where(inArray(deliveryAttempts.deliveryId, [...deliveryIds]))
    .orderBy(asc(deliveryAttempts.deliveryId), asc(deliveryAttempts.number));
  return groupBy(deliveryIds, rows, (r) => r.deliveryId);
}

function groupBy<T>(keys: readonly string[], rows: T[], keyOf: (row: T) => string): T[][] {
  const groups = new Map<string, T[]>(keys.map((k) => [k, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return keys.map((k) => groups.get(k)!);
}
