import type { KeysetPage } from '../graphql/common.js';
import { and, eq, ilike, inArray, or, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { State } from '../../schema/db/enums.js';
import { webhooks } from '../../schema/db/webhooks.js';
import type { Db } from '../db/client.js';
import type { Viewer } from '../graphql/context.js';
import { webhookVisibleTo } from './access.js';

export type WebhookRow = typeof webhooks.$inferSelect;

/** The database or a transaction: what the feature queries run on. */
export type Executor = Db | Parameters<Parameters<Db['transaction']>[0]>[0];

/** Rows of child tables (endpoints, triggers, feed tokens) as one list per webhook id, in the order of `webhookIds`. */
export function groupByWebhook<T extends { webhookId: string }>(webhookIds: readonly string[], rows: T[]): T[][] {
  const groups = new Map<string, T[]>(webhookIds.map((id) => [id, []]));
  for (const row of rows) groups.get(row.webhookId)?.push(row);
  return webhookIds.map((id) => groups.get(id)!);
}

/** `lock`: FOR UPDATE, for a transaction that reads a webhook as it is before changing it (the audit trail). */
export function selectVisibleWebhooks(db: Executor, viewer: Viewer | null, ids: string[], lock = false): Promise<WebhookRow[]> {
  const query = db
    .select()
    .from(webhooks)
    .where(and(inArray(webhooks.id, ids), webhookVisibleTo(viewer)));
  return lock ? query.for('update') : query;
}

/** `%`, `_` and `\` are LIKE wildcards / escape: a search for them means the characters themselves. */
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** One page of the viewer's webhooks, newest first (see pageNewestFirst). */
export function listVisibleWebhooks(
  db: Executor,
  viewer: Viewer | null,
  page: KeysetPage & { state?: State; search?: string },
): Promise<WebhookRow[]> {
  const pattern = page.search ? likePattern(page.search) : undefined;
  return db
    .select()
    .from(webhooks)
    .where(
      and(
        webhookVisibleTo(viewer),
        page.state ? eq(webhooks.state, page.state) : undefined,
        pattern
          ? or(
              ilike(webhooks.name, pattern),
              ilike(webhooks.description, pattern),
              ilike(webhooks.ownerLogin, pattern),
              ilike(webhooks.forLogin, pattern),
            )
          : undefined,
        page.where,
      ),
    )
    .orderBy(page.orderBy)
    .limit(page.limit);
}

export async function insertWebhook(db: Executor, values: typeof webhooks.$inferInsert): Promise<WebhookRow> {
  const [row] = await db.insert(webhooks).values(values).returning();
  return row;
}

/**
 * Updates a webhook the viewer may see, in one statement (the visibility check is part of the WHERE, so a
 * concurrent move to another team cannot slip through). `updated_at` is the database's clock. Null: not found.
 */
export async function updateVisibleWebhook(
  db: Executor,
  viewer: Viewer | null,
  id: string,
  set: PgUpdateSetSource<typeof webhooks>,
): Promise<WebhookRow | null> {
  const [row] = await db
    .update(webhooks)
    .set({ ...set, updatedAt: sql`now()`, updatedBy: viewer?.name ?? null })
    .where(and(eq(webhooks.id, id), webhookVisibleTo(viewer)))
    .returning();
  return row ?? null;
}

export async function deleteVisibleWebhook(db: Executor, viewer: Viewer | null, id: string): Promise<boolean> {
  const rows = await db
    .delete(webhooks)
    .where(and(eq(webhooks.id, id), webhookVisibleTo(viewer)))
    .returning({ id: webhooks.id });
  return rows.length > 0;
}

/**
 * A new signing secret; the old one stays valid for `overlapMs` (receivers verify either while they switch).
 * In an UPDATE, `previous_secret = secret` reads the value from before this statement, so the swap is atomic.
 */
export function rotateVisibleWebhookSecret(
  db: Executor,
  viewer: Viewer | null,
  id: string,
  secret: string,
  overlapMs: number,
): Promise<WebhookRow | null> {
  return updateVisibleWebhook(db, viewer, id, {
    secret,
    previousSecret: sql`${webhooks.secret}`,
    previousSecretExpiresAt: sql`now() + make_interval(secs => ${overlapMs / 1000})`,
  });
}
