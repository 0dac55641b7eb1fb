import { and, asc, eq, getTableColumns, inArray } from 'drizzle-orm';
import { endpoints, webhooks } from '../../schema/db/webhooks.js';
import type { Viewer } from '../graphql/context.js';
import { newId } from '../ids.js';
import { webhookIdVisibleTo, webhookVisibleTo } from '../webhooks/access.js';
import { groupByWebhook, type Executor } from '../webhooks/queries.js';
import type { EndpointValues } from './inputs.js';

/** An endpoint with its webhook's team, which decides who may see it. */
export type EndpointRow = typeof endpoints.$inferSelect & { teamId: string | null };

const endpointColumns = { ...getTableColumns(endpoints), teamId: webhooks.teamId };

/** `lock`: FOR UPDATE of the endpoint rows, for a transaction that reads them before changing them (audit trail). */
export function selectVisibleEndpoints(db: Executor, viewer: Viewer | null, ids: string[], lock = false): Promise<EndpointRow[]> {
  const query = db
    .select(endpointColumns)
    .from(endpoints)
    .innerJoin(webhooks, eq(webhooks.id, endpoints.webhookId))
    .where(and(inArray(endpoints.id, ids), webhookVisibleTo(viewer)));
  return lock ? query.for('update', { of: endpoints }) : query;
}

/** The endpoints of each of these (already visible) webhooks, in creation order: one query for a whole page. */
export async function selectEndpointsOfWebhooks(db: Executor, webhookIds: string[]): Promise<EndpointRow[][]> {
  const rows = await db
    .select(endpointColumns)
    .from(endpoints)
    .innerJoin(webhooks, eq(webhooks.id, endpoints.webhookId))
    .where(inArray(endpoints.webhookId, webhookIds))
    .orderBy(asc(endpoints.id));
  return groupByWebhook(webhookIds, rows);
}

/** Inserts endpoints of one webhook; ids follow input order (one millisecond apart, as ids sort by time). */
export async function insertEndpoints(
  db: Executor,
  webhook: { id: string; teamId: string | null },
  list: EndpointValues[],
): Promise<EndpointRow[]> {
  if (list.length === 0) return [];
  const now = Date.now();
  const rows = await db
    .insert(endpoints)
    .values(list.map((values, i) => ({ ...values, id: newId('Endpoint', now + i), webhookId: webhook.id })))
    .returning();
  return rows.map((row) => ({ ...row, teamId: webhook.teamId }));
}

/** Updates a visible endpoint; null when there is none with this id that the viewer may see. */
export async function updateVisibleEndpoint(
  db: Executor,
  viewer: Viewer | null,
  id: string,
  set: Partial<typeof endpoints.$inferInsert>,
): Promise<EndpointRow | null> {
  const [row] = await db
    .update(endpoints)
    .set({ ...set, updatedAt: new Date() })
    .from(webhooks)
    .where(and(eq(webhooks.id, endpoints.webhookId), eq(endpoints.id, id), webhookVisibleTo(viewer)))
    .returning(endpointColumns);
  return row ?? null;
}

export async function deleteVisibleEndpoint(db: Executor, viewer: Viewer | null, id: string): Promise<boolean> {
  const rows = await db
    .delete(endpoints)
    .where(and(eq(endpoints.id, id), webhookIdVisibleTo(endpoints.webhookId, viewer)))
    .returning({ id: endpoints.id });
  return rows.length > 0;
}
