import { eq, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { webhooks } from '../../schema/db/webhooks.js';
import type { Viewer } from '../graphql/context.js';

/**
 * The visibility rule as SQL. ADMIN tokens see every webhook; a team token sees its team's webhooks only, so a
 * webhook without a team is ADMIN-only. Endpoints, triggers and deliveries are visible through their webhook.
 * `undefined` means "no condition" (drizzle's `and()` drops it).
 */
export function webhookVisibleTo(viewer: Viewer | null): SQL | undefined {
  return ownedByViewerTeam(webhooks.teamId, viewer);
}

/** The same rule for any row with its owning team in `teamId` (a null team: ADMIN only), e.g. audit entries. */
export function ownedByViewerTeam(teamId: AnyColumn, viewer: Viewer | null): SQL | undefined {
  if (viewer?.role === 'ADMIN') return undefined;
  return viewer?.teamId ? eq(teamId, viewer.teamId) : sql`false`;
}

/** The same rule for a table that only has a `webhook_id` column (endpoints, triggers, deliveries). */
export function webhookIdVisibleTo(webhookId: AnyColumn, viewer: Viewer | null): SQL | undefined {
  if (viewer?.role === 'ADMIN') return undefined;
  if (!viewer?.teamId) return sql`false`;
  return sql`${webhookId} in (select ${webhooks.id} from ${webhooks} where ${webhooks.teamId} = ${viewer.teamId})`;
}
