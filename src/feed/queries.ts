import { and, asc, eq, getTableColumns, gt, inArray, isNull, sql } from 'drizzle-orm';
import { events } from '../../schema/db/events.js';
import { feedTokens } from '../../schema/db/integrations.js';
import { triggers, webhooks } from '../../schema/db/webhooks.js';
import { hashToken } from '../auth/tokens.js';
import type { Db } from '../db/client.js';
import { defaultEnvelope } from '../delivery/render.js';
import { splitEventType, webhookMatches } from '../events/matching.js';
import type { Viewer } from '../graphql/context.js';
import { newId } from '../ids.js';
import { webhookVisibleTo } from '../webhooks/access.js';
import { groupByWebhook, type Executor, type WebhookRow } from '../webhooks/queries.js';

/** A feed token with its webhook's team, which decides who may see it. Never holds the token itself. */
export type FeedTokenRow = typeof feedTokens.$inferSelect & { teamId: string | null };

const feedTokenColumns = { ...getTableColumns(feedTokens), teamId: webhooks.teamId };

/** A new feed token for a webhook; only its hash is stored, the token is returned this once. */
export async function insertFeedToken(
  db: Executor,
  webhook: { id: string; teamId: string | null },
  createdBy: string,
  token: string,
): Promise<FeedTokenRow> {
  const [row] = await db
    .insert(feedTokens)
    .values({ id: newId('FeedToken'), webhookId: webhook.id, tokenHash: hashToken(token), createdBy })
    .returning();
  return { ...row, teamId: webhook.teamId };
}

/** Revokes a feed token of a webhook the viewer may see (a second revoke keeps the first time); null: not found. */
export async function revokeVisibleFeedToken(db: Executor, viewer: Viewer | null, id: string): Promise<FeedTokenRow | null> {
  const [row] = await db
    .update(feedTokens)
    .set({ revokedAt: sql`coalesce(${feedTokens.revokedAt}, now())` })
    .from(webhooks)
    .where(and(eq(webhooks.id, feedTokens.webhookId), eq(feedTokens.id, id), webhookVisibleTo(viewer)))
    .returning(feedTokenColumns);
  return row ?? null;
}

/** A feed token of a webhook the viewer may see, locked (FOR UPDATE) to be changed in this transaction (audit trail). */
export function lockVisibleFeedToken(db: Executor, viewer: Viewer | null, id: string): Promise<FeedTokenRow[]> {
  return db
    .select(feedTokenColumns)
    .from(feedTokens)
    .innerJoin(webhooks, eq(webhooks.id, feedTokens.webhookId))
    .where(and(eq(feedTokens.id, id), webhookVisibleTo(viewer)))
    .for('update', { of: feedTokens });
}

/** The feed tokens of each of these (already visible) webhooks, oldest first: one query for a whole page. */
export async function selectFeedTokensOfWebhooks(db: Db, webhookIds: string[]): Promise<FeedTokenRow[][]> {
  const rows = await db
    .select(feedTokenColumns)
    .from(feedTokens)
    .innerJoin(webhooks, eq(webhooks.id, feedTokens.webhookId))
    .where(inArray(feedTokens.webhookId, webhookIds))
    .orderBy(asc(feedTokens.id));
  return groupByWebhook(webhookIds, rows);
}

/**
 * The webhook a feed token (given by its hashToken, which the caller has already made) reads, or null for an
 * unknown or revoked token. Records the use, at most once a minute per token, so that a busy poller does not write
 * on every request.
 */
export async function webhookOfFeedToken(db: Db, tokenHash: string): Promise<WebhookRow | null> {
  const [row] = await db
    .select({ id: feedTokens.id, webhook: getTableColumns(webhooks) })
    .from(feedTokens)
    .innerJoin(webhooks, eq(webhooks.id, feedTokens.webhookId))
    .where(and(eq(feedTokens.tokenHash, tokenHash), isNull(feedTokens.revokedAt)));
  if (!row) return null;
  await db
    .update(feedTokens)
    .set({ lastUsedAt: sql`now()` })
    .where(and(eq(feedTokens.id, row.id), sql`(${feedTokens.lastUsedAt} is null or ${feedTokens.lastUsedAt} < now() - interval '1 minute')`));
  return row.webhook;
}

/** Events a feed page looks at, at most, however few of them match: the cost of one request is bounded. */
const FEED_SCAN_LIMIT = 500;

/**
 * How old an event must be before a feed shows it. Event ids are made before the publishing transaction commits,
 * so an event can become visible after one with a later id; a reader that moved its cursor past it would never
 * see it. Holding back the last moments lets such transactions commit first.
 */
const SETTLE_SECONDS = 2;

export interface FeedPage {
  /** Default envelopes (src/delivery/render.ts), oldest first. */
  items: Record<string, unknown>[];
  /** Where the next page starts: the last event looked at (matching or not); null before the first event. */
  next: string | null;
  /** More events are there to look at now; false: the reader is up to date, ask again later. */
  hasMore: boolean;
}

/** `evt_` + the time part of an id: sorts before every event id made at or after `time`. */
function eventIdFloor(time: Date): string {
  return newId('Event', time.getTime()).slice(0, 'evt_'.length + 10);
}

/**
 * One page of a webhook's feed: the events after `after` (an event id) that its CURRENT triggers and forLogin
 * match, oldest first, from the webhook's creation on. Reads events in id order and stops after `limit` matches
 * or FEED_SCAN_LIMIT events, or at the first event too recent to be settled.
 */
export async function readFeed(db: Db, webhook: WebhookRow, after: string | null, limit: number): Promise<FeedPage> {
  const floor = eventIdFloor(webhook.createdAt);
  const start = after !== null && after > floor ? after : floor;
  const [triggerRows, rows] = await Promise.all([
    db.select({ resource: triggers.resource, event: triggers.event, filter: triggers.filter }).from(triggers).where(eq(triggers.webhookId, webhook.id)),
    db
      .select({
        id: events.id,
        type: events.type,
        occurredAt: events.occurredAt,
        context: events.context,
        data: events.data,
        settled: sql<boolean>`${events.createdAt} < now() - make_interval(secs => ${SETTLE_SECONDS})`,
      })
      .from(events)
      .where(gt(events.id, start))
      .orderBy(asc(events.id))
      .limit(FEED_SCAN_LIMIT),
  ]);
  const candidate = { forLogin: webhook.forLogin, triggers: triggerRows };
  const items: Record<string, unknown>[] = [];
  let next = after;
  let looked = 0;
  for (const row of rows) {
    if (!row.settled || items.length === limit) break;
    looked++;
    next = row.id;
    const parts = splitEventType(row.type);
    if (parts && webhookMatches(candidate, { ...parts, data: row.data, context: row.context })) {
      items.push(defaultEnvelope({ event: row, webhook }));
    }
  }
  const stoppedEarly = looked < rows.length && rows[looked].settled;
  return { items, next, hasMore: stoppedEarly || (looked === FEED_SCAN_LIMIT) };
}
