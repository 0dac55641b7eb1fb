import { auditedCreate, auditedDelete } from '../audit/record.js';
import { notFound, parseInput } from '../errors.js';
import { builder } from '../graphql/builder.js';
import type { Context } from '../graphql/context.js';
import { deletePayload, visibleWebhook, WebhookRef } from '../webhooks/types.js';
import { CreateTriggerInput, triggerSchema } from './inputs.js';
import {
  deleteVisibleTrigger,
  insertTriggers,
  selectTriggersOfWebhooks,
  selectVisibleTriggers,
  type TriggerRow,
} from './queries.js';

/** Which events a webhook receives: a resource and event (either may be "*") and an optional data filter. */
export const TriggerRef = builder.loadableNodeRef('Trigger', {
  id: { resolve: (trigger: TriggerRow) => trigger.id },
  load: (ids: string[], ctx: Context) => selectVisibleTriggers(ctx.services.db, ctx.viewer, ids),
  toKey: (trigger) => trigger.id,
  sort: true,
});

TriggerRef.implement({
  authScopes: (trigger) => ({ team: trigger.teamId }),
  fields: (t) => ({
    webhook: t.field({ type: WebhookRef, resolve: (trigger) => trigger.webhookId }),
    resource: t.exposeString('resource'),
    event: t.exposeString('event'),
    eventType: t.string({
      description: 'The event types it matches, as <resource>.<event> ("*" matches any)',
      resolve: (trigger) => `${trigger.resource}.${trigger.event}`,
    }),
    filter: t.expose('filter', { type: 'JSON', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.objectFields(WebhookRef, (t) => ({
  // Keyed by webhook id: a whole page of webhooks loads its triggers in one query.
  triggers: t.loadableList({
    type: TriggerRef,
    load: (webhookIds: string[], ctx: Context) => selectTriggersOfWebhooks(ctx.services.db, webhookIds),
    resolve: (webhook) => webhook.id,
  }),
}));

builder.mutationField('createTrigger', (t) =>
  t.field({
    type: TriggerRef,
    args: { input: t.arg({ type: CreateTriggerInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const { webhookId, ...fields } = input;
      const values = parseInput(triggerSchema, fields, 'input');
      const webhook = await visibleWebhook(ctx, webhookId);
      if (!webhook) throw notFound('input.webhookId', webhookId);
      return auditedCreate(ctx.services.db, ctx.viewer, 'trigger.create', async (tx) => {
        const [trigger] = await insertTriggers(tx, webhook, [values]);
        return trigger;
      });
    },
  }),
);

builder.mutationField('deleteTrigger', (t) =>
  t.field({
    type: deletePayload('DeleteTriggerPayload'),
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const deleted = await auditedDelete(
        ctx.services.db,
        ctx.viewer,
        'trigger.delete',
        (tx) => selectVisibleTriggers(tx, ctx.viewer, [id], true),
        (tx) => deleteVisibleTrigger(tx, ctx.viewer, id),
      );
      if (!deleted) throw notFound('id', id);
      return { deletedId: id };
    },
  }),
);
