import { auditLog } from '../../schema/db/audit.js';
import { builder } from '../graphql/builder.js';
import { pageNewestFirst } from '../graphql/common.js';
import type { Context } from '../graphql/context.js';
import { WebhookRef } from '../webhooks/types.js';
import { listVisibleAuditEntries, selectVisibleAuditEntries, type AuditEntryRow } from './queries.js';

/**
 * One change made through the API: who made it, when, and the changed object's fields before and after (only the
 * changed ones for an update; the whole object for a creation or deletion), with every secret "[redacted]".
 */
export const AuditEntryRef = builder.loadableNodeRef('AuditEntry', {
  id: { resolve: (entry: AuditEntryRow) => entry.id },
  load: (ids: string[], ctx: Context) => selectVisibleAuditEntries(ctx.services.db, ctx.viewer, ids),
  toKey: (entry) => entry.id,
  sort: true,
});

AuditEntryRef.implement({
  authScopes: (entry) => ({ team: entry.teamId }),
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime' }),
    actor: t.exposeString('actor', { nullable: true, description: "The token's name at the time (null: Hookline itself)" }),
    actorTokenId: t.exposeID('actorTokenId', { nullable: true, description: 'The id of the token that made the change' }),
    action: t.exposeString('action', { description: '<target>.<verb>: webhook.update, endpoint.state, delivery.replay, …' }),
    targetType: t.exposeString('targetType', { description: 'The changed object’s type: Webhook, Endpoint, Trigger, …' }),
    targetId: t.exposeID('targetId'),
    webhook: t.field({
      type: WebhookRef,
      nullable: true,
      description: 'The webhook concerned, while it exists',
      resolve: (entry) => entry.webhookId,
    }),
    before: t.expose('before', { type: 'JSON', nullable: true }),
    after: t.expose('after', { type: 'JSON', nullable: true }),
  }),
});

const AuditEntryConnection = builder.connectionObject(
  { type: AuditEntryRef, name: 'AuditEntryConnection' },
  { name: 'AuditEntryEdge' },
);

builder.queryField('auditLog', (t) =>
  t.connection(
    {
      type: AuditEntryRef,
      description: 'Changes this token may see (those of its team; ADMIN: all), newest first',
      args: { webhookId: t.arg.id({ description: "Only this webhook's entries (its endpoints', triggers' too)" }) },
      resolve: (_root, args, ctx) =>
        pageNewestFirst(args, ctx.services.config.HOOKLINE_MAX_PAGE_SIZE, auditLog.id, (page) =>
          listVisibleAuditEntries(ctx.services.db, ctx.viewer, { ...page, webhookId: args.webhookId ?? undefined }),
        ),
    },
    AuditEntryConnection,
  ),
);

builder.objectFields(WebhookRef, (t) => ({
  auditLog: t.connection(
    {
      type: AuditEntryRef,
      description: 'Changes to this webhook, its endpoints and triggers, newest first',
      resolve: (webhook, args, ctx) =>
        pageNewestFirst(args, ctx.services.config.HOOKLINE_MAX_PAGE_SIZE, auditLog.id, (page) =>
          listVisibleAuditEntries(ctx.services.db, ctx.viewer, { ...page, webhookId: webhook.id }),
        ),
    },
    AuditEntryConnection,
  ),
}));
