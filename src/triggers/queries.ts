import { and, asc, eq, getTableColumns, inArray } from 'drizzle-orm';
import { triggers, webhooks } from '../../schema/db/webhooks.js';
import type { Viewer } from '../graphql/context.js';
import { newId } from '../ids.js';
import { webhookIdVisibleTo, webhookVisibleTo } from '../webhooks/access.js';
import { groupByWebhook, type Executor } from '../webhooks/queries.js';
import type { TriggerValues } from './inputs.js';

/** A trigger with its webhook's team, which decides who may see it. */
export type TriggerRow = typeof triggers.$inferSelect & { teamId: string | null };

const triggerColumns = { ...getTableColumns(triggers), teamId: webhooks.teamId };

/** `lock`: FOR UPDATE of the trigger rows, for a transaction that reads them before deleting them (audit trail). */
export function selectVisibleTriggers(db: Executor, viewer: Viewer | null, ids: string[], lock = false): Promise<TriggerRow[]> {
  const query = db
    .select(triggerColumns)
    .from(triggers)
    .innerJoin(webhooks, eq(webhooks.id, triggers.webhookId))
    .where(and(inArray(triggers.id, ids), webhookVisibleTo(viewer)));
  return lock ? query.for('update', { of: triggers }) : query;
}

/** The triggers of each of these (already visible) webhooks, in creation order: one query for a whole page. */
export async function selectTriggersOfWebhooks(db: Executor, webhookIds: string[]): Promise<TriggerRow[][]> {
  const rows = await db
    .select(triggerColumns)
    .from(triggers)
    .innerJoin(webhooks, eq(webhooks.id, triggers.webhookId))
    .where(inArray(triggers.webhookId, webhookIds))
    .orderBy(asc(triggers.id));
  return groupByWebhook(webhookIds, rows);
}

/** Inserts triggers of one webhook; ids follow input order (one millisecond apart, as ids sort by time). */
export async function insertTriggers(
  db: Executor,
  webhook: { id: string; teamId: string | null },
  list: TriggerValues[],
): Promise<TriggerRow[]> {
  if (list.length === 0) return [];
  const now = Date.now();
  const rows = await db
    .insert(triggers)
    .values(list.map((values, i) => ({ ...values, id: newId('Trigger', now + i), webhookId: webhook.id })))
    .returning();
  return rows.map((row) => ({ ...row, teamId: webhook.teamId }));
}

export async function deleteVisibleTrigger(db: Executor, viewer: Viewer | null, id: string): Promise<boolean> {
  const rows = await db
    .delete(triggers)
    .where(and(eq(triggers.id, id), webhookIdVisibleTo(triggers.webhookId, viewer)))
    .returning({ id: triggers.id });
  return rows.length > 0;
}
