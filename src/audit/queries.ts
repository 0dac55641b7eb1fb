import { and, eq, inArray } from 'drizzle-orm';
import { auditLog } from '../../schema/db/audit.js';
import type { KeysetPage } from '../graphql/common.js';
import type { Viewer } from '../graphql/context.js';
import { ownedByViewerTeam } from '../webhooks/access.js';
import type { Executor } from '../webhooks/queries.js';

export type AuditEntryRow = typeof auditLog.$inferSelect;

/** Entries are visible like webhooks: by the team of the object they are about (none: ADMIN only). */
export function selectVisibleAuditEntries(db: Executor, viewer: Viewer | null, ids: string[]): Promise<AuditEntryRow[]> {
  return db
    .select()
    .from(auditLog)
    .where(and(inArray(auditLog.id, ids), ownedByViewerTeam(auditLog.teamId, viewer)));
}

/** One page of the viewer's entries, newest first (see pageNewestFirst), optionally of one webhook. */
export function listVisibleAuditEntries(
  db: Executor,
  viewer: Viewer | null,
  page: KeysetPage & { webhookId?: string },
): Promise<AuditEntryRow[]> {
  return db
    .select()
    .from(auditLog)
    .where(
      and(
        ownedByViewerTeam(auditLog.teamId, viewer),
        page.webhookId ? eq(auditLog.webhookId, page.webhookId) : undefined,
        page.where,
      ),
    )
    .orderBy(page.orderBy)
    .limit(page.limit);
}
