import type { KeysetPage } from '../graphql/common.js';
import { and, asc, eq, exists, inArray, sql, type SQL } from 'drizzle-orm';
import { deliveries } from '../../schema/db/deliveries.js';
import { events, eventTypes } from '../../schema/db/events.js';
import type { Db } from '../db/client.js';
import type { Viewer } from '../graphql/context.js';
import { webhookIdVisibleTo } from '../webhooks/access.js';
import type { EventRow } from './publish.js';

export type EventTypeRow = typeof eventTypes.$inferSelect;

/** ADMIN sees every event; a team token sees the events that have a delivery to one of its team's webhooks. */
function eventVisibleTo(db: Db, viewer: Viewer | null): SQL | undefined {
  if (viewer?.role === 'ADMIN') return undefined;
  return exists(
    db
      .select({ one: sql`1` })
      .from(deliveries)
      .where(and(eq(deliveries.eventId, events.id), webhookIdVisibleTo(deliveries.webhookId, viewer))),
  );
}

/** The events with these ids that the viewer may see. */
export function selectVisibleEvents(db: Db, viewer: Viewer | null, ids: readonly string[]): Promise<EventRow[]> {
  return db
    .select()
    .from(events)
    .where(and(inArray(events.id, [...ids]), eventVisibleTo(db, viewer)));
}

/** One page of the viewer's events, newest first (see pageNewestFirst). */
export function listEvents(
  db: Db,
  viewer: Viewer | null,
  type: string | null | undefined,
  page: KeysetPage,
): Promise<EventRow[]> {
  return db
    .select()
    .from(events)
    .where(
      and(
        eventVisibleTo(db, viewer),
        type ? eq(events.type, type) : undefined,
        page.where,
      ),
    )
    .orderBy(page.orderBy)
    .limit(page.limit);
}

export function listEventTypes(db: Db): Promise<EventTypeRow[]> {
  return db.select().from(eventTypes).orderBy(asc(eventTypes.name));
}
