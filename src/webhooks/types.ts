import { auditedDelete, auditedUpdate, recordAudit } from '../audit/record.js';
import { NOTIFY_WORK } from '../deliveries/outbox.js';
import { webhooks } from '../../schema/db/webhooks.js';
import { assertPublicTargets } from '../endpoints/inputs.js';
import { insertEndpoints, selectEndpointsOfWebhooks } from '../endpoints/queries.js';
import { badInput, notFound, parseInput } from '../errors.js';
import { builder } from '../graphql/builder.js';
import { KeyValueRef, pageNewestFirst, StateEnum } from '../graphql/common.js';
import type { Context } from '../graphql/context.js';
import { newId } from '../ids.js';
import { TeamRef } from '../teams/types.js';
import { insertTriggers, selectTriggersOfWebhooks } from '../triggers/queries.js';
import { text } from './fields.js';
import {
  changes,
  CreateWebhookInput,
  createWebhookSchema,
  settableState,
  UpdateWebhookInput,
  webhookAsInput,
  webhookSchema,
} from './inputs.js';
import {
  deleteVisibleWebhook,
  insertWebhook,
  listVisibleWebhooks,
  rotateVisibleWebhookSecret,
  selectVisibleWebhooks,
  updateVisibleWebhook,
  type WebhookRow,
} from './queries.js';
import { encryptAuth, generateSecret } from './secret.js';

/**
 * A webhook: a named set of endpoints that receive the events its triggers match. Loads return null for webhooks
 * the viewer may not see, so `node(id)` and every reference to another team's webhook resolve to null. The signing
 * secret is never a field: it is shown once, by createWebhook and rotateWebhookSecret.
 */
export const WebhookRef = builder.loadableNodeRef('Webhook', {
  id: { resolve: (webhook: WebhookRow) => webhook.id },
  load: (ids: string[], ctx: Context) => selectVisibleWebhooks(ctx.services.db, ctx.viewer, ids),
  toKey: (webhook) => webhook.id,
  sort: true,
  // Webhooks listed or returned by a mutation fill the loader, so Endpoint.webhook and the like cost no query.
  cacheResolved: true,
});

WebhookRef.implement({
  authScopes: (webhook) => ({ team: webhook.teamId }),
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    state: t.expose('state', { type: StateEnum }),
    headers: t.expose('headers', { type: [KeyValueRef] }),
    properties: t.expose('properties', { type: 'JSON', nullable: true }),
    team: t.field({ type: TeamRef, nullable: true, resolve: (webhook) => webhook.teamId }),
    ownerLogin: t.exposeString('ownerLogin', { nullable: true }),
    forLogin: t.exposeString('forLogin', { nullable: true }),
    notifyEmail: t.exposeString('notifyEmail', { nullable: true }),
    previousSecretExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'While a rotated-out secret still signs deliveries: when it stops',
      resolve: ({ previousSecretExpiresAt: until }) => (until && until > new Date() ? until : null),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdBy: t.exposeString('createdBy', { nullable: true }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    updatedBy: t.exposeString('updatedBy', { nullable: true }),
  }),
});

/** The webhook with this id if the viewer may see it, else null. Reads the database now (no request cache). */
export async function visibleWebhook(ctx: Context, id: string): Promise<WebhookRow | null> {
  const [row] = await selectVisibleWebhooks(ctx.services.db, ctx.viewer, [id]);
  return row ?? null;
}

/** `{ deletedId }`, the payload of every delete mutation. */
export function deletePayload(name: string) {
  return builder.objectRef<{ deletedId: string }>(name).implement({
    fields: (t) => ({ deletedId: t.exposeID('deletedId') }),
  });
}

builder.queryField('webhooks', (t) =>
  t.connection(
    {
      type: WebhookRef,
      description: 'The webhooks this token may see, newest first',
      args: {
        state: t.arg({ type: StateEnum }),
        search: t.arg.string({ description: 'Matches name, description, ownerLogin or forLogin (case-insensitive)' }),
      },
      resolve: (_root, args, ctx) => {
        const search = parseInput(text.trim().max(200, 'at most 200 characters').nullish(), args.search, 'search');
        return pageNewestFirst(args, ctx.services.config.HOOKLINE_MAX_PAGE_SIZE, webhooks.id, (page) =>
          listVisibleWebhooks(ctx.services.db, ctx.viewer, {
            ...page,
            state: args.state ?? undefined,
            search: search || undefined,
          }),
        );
      },
    },
    { name: 'WebhookConnection' },
    { name: 'WebhookEdge' },
  ),
);

/**
 * The team a webhook goes to. ADMIN tokens may name any existing team (or none: an ADMIN-only webhook); team
 * tokens always use their own team, and naming another is an error.
 */
async function teamFor(ctx: Context, requested: string | null, field: string): Promise<string | null> {
  const viewer = ctx.viewer!;
  if (viewer.role !== 'ADMIN') {
    if (requested !== null && requested !== viewer.teamId) {
      throw badInput(field, "a team token's webhooks belong to its own team");
    }
    return viewer.teamId;
  }
  if (requested !== null && !(await TeamRef.getDataloader(ctx).load(requested))) {
    throw badInput(field, `no team with id "${requested}"`);
  }
  return requested;
}

const WebhookSecretPayload = (name: string) =>
  builder.objectRef<{ webhook: WebhookRow; secret: string }>(name).implement({
    fields: (t) => ({
      webhook: t.field({ type: WebhookRef, resolve: (payload) => payload.webhook }),
      secret: t.exposeString('secret', { description: 'The signing secret: shown only here, store it now' }),
    }),
  });

builder.mutationField('createWebhook', (t) =>
  t.field({
    type: WebhookSecretPayload('CreateWebhookPayload'),
    description: 'Creates a webhook with its endpoints and triggers, all or nothing',
    args: { input: t.arg({ type: CreateWebhookInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      // Every check, the slow ones (team, endpoint hosts) included, runs before anything is written.
      const { endpoints, triggers, secret, ...settings } = parseInput(createWebhookSchema, input, 'input');
      const teamId = await teamFor(ctx, settings.teamId, 'input.teamId');
      await assertPublicTargets(
        ctx.services.targets,
        endpoints.map((endpoint, i) => ({ url: endpoint.url, field: `input.endpoints[${i}].url` })),
      );
      const values = { ...settings, teamId, secret: secret ?? generateSecret() };
      const keyring = ctx.services.config.HOOKLINE_ENCRYPTION_KEY;
      const by = ctx.viewer!.name;
      const webhook = await ctx.services.db.transaction(async (tx) => {
        const id = newId('Webhook');
        const secrets = { secret: keyring.encrypt(values.secret) };
        const row = await insertWebhook(tx, { ...values, ...secrets, id, ownerLogin: by, createdBy: by, updatedBy: by });
        const after = {
          ...row,
          endpoints: await insertEndpoints(
            tx,
            row,
            endpoints.map((endpoint) => ({ ...endpoint, auth: encryptAuth(keyring, endpoint.auth) })),
          ),
          triggers: await insertTriggers(tx, row, triggers),
        };
        await recordAudit(tx, ctx.viewer, { action: 'webhook.create', target: row, after });
        return row;
      });
      return { webhook, secret: values.secret };
    },
  }),
);

builder.mutationField('updateWebhook', (t) =>
  t.field({
    type: builder.objectRef<{ webhook: WebhookRow }>('UpdateWebhookPayload').implement({
      fields: (f) => ({ webhook: f.field({ type: WebhookRef, resolve: (payload) => payload.webhook }) }),
    }),
    args: { input: t.arg({ type: UpdateWebhookInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const current = await visibleWebhook(ctx, input.id);
      if (!current) throw notFound('input.id', input.id);
      const given = changes(input);
      const settings = parseInput(webhookSchema, { ...webhookAsInput(current), ...given }, 'input');
      const teamId = given.teamId === undefined ? current.teamId : await teamFor(ctx, settings.teamId, 'input.teamId');
      const webhook = await auditedUpdate(
        ctx.services.db,
        ctx.viewer,
        'webhook.update',
        (tx) => selectVisibleWebhooks(tx, ctx.viewer, [input.id], true),
        (tx) => updateVisibleWebhook(tx, ctx.viewer, input.id, { ...settings, teamId }),
      );
      if (!webhook) throw notFound('input.id', input.id);
      if (webhook.state === 'ACTIVE' && current.state !== 'ACTIVE') await ctx.services.db.execute(NOTIFY_WORK);
      return { webhook };
    },
  }),
);

builder.mutationField('deleteWebhook', (t) =>
  t.field({
    type: deletePayload('DeleteWebhookPayload'),
    description: 'Deletes a webhook with its endpoints, triggers and deliveries',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const deleted = await auditedDelete(
        ctx.services.db,
        ctx.viewer,
        'webhook.delete',
        // The entry keeps the whole webhook, with the endpoints and triggers the delete takes along.
        async (tx) => {
          const [webhook] = await selectVisibleWebhooks(tx, ctx.viewer, [id], true);
          if (!webhook) return [];
          const [[endpoints], [triggers]] = await Promise.all([
            selectEndpointsOfWebhooks(tx, [id]),
            selectTriggersOfWebhooks(tx, [id]),
          ]);
          return [{ ...webhook, endpoints, triggers }];
        },
        (tx) => deleteVisibleWebhook(tx, ctx.viewer, id),
      );
      if (!deleted) throw notFound('id', id);
      return { deletedId: id };
    },
  }),
);

builder.mutationField('setWebhookState', (t) =>
  t.field({
    type: WebhookRef,
    description: 'ACTIVE or STOPPED; a stopped webhook gets no new deliveries',
    args: { id: t.arg.id({ required: true }), state: t.arg({ type: StateEnum, required: true }) },
    resolve: async (_root, args, ctx) => {
      const state = parseInput(settableState, args.state, 'state');
      const webhook = await auditedUpdate(
        ctx.services.db,
        ctx.viewer,
        'webhook.state',
        (tx) => selectVisibleWebhooks(tx, ctx.viewer, [args.id], true),
        (tx) => updateVisibleWebhook(tx, ctx.viewer, args.id, { state }),
      );
      if (!webhook) throw notFound('id', args.id);
      // Held deliveries are due again: wake the workers instead of leaving them to the next poll.
      if (state === 'ACTIVE') await ctx.services.db.execute(NOTIFY_WORK);
      return webhook;
    },
  }),
);

builder.mutationField('rotateWebhookSecret', (t) =>
  t.field({
    type: WebhookSecretPayload('RotateWebhookSecretPayload'),
    description: 'A new signing secret; deliveries are signed with the old one too until HOOKLINE_SECRET_OVERLAP ends',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const secret = generateSecret();
      const { db, config } = ctx.services;
      const webhook = await auditedUpdate(
        db,
        ctx.viewer,
        'webhook.rotate_secret',
        (tx) => selectVisibleWebhooks(tx, ctx.viewer, [id], true),
        (tx) => {
          const stored = config.HOOKLINE_ENCRYPTION_KEY.encrypt(secret);
          return rotateVisibleWebhookSecret(tx, ctx.viewer, id, stored, config.HOOKLINE_SECRET_OVERLAP);
        },
      );
      if (!webhook) throw notFound('id', id);
      return { webhook, secret };
    },
  }),
);
