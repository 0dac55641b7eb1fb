import { auditedCreate, auditedDelete, auditedUpdate } from '../audit/record.js';
import { NOTIFY_WORK } from '../deliveries/outbox.js';
import { notFound, parseInput } from '../errors.js';
import { builder } from '../graphql/builder.js';
import { EndpointKindEnum, HttpMethodEnum, KeyValueRef, StateEnum } from '../graphql/common.js';
import type { Context } from '../graphql/context.js';
import { changes, settableState } from '../webhooks/inputs.js';
import { deletePayload, visibleWebhook, WebhookRef } from '../webhooks/types.js';
import { assertPublicTargets, CreateEndpointInput, endpointSchema, UpdateEndpointInput } from './inputs.js';
import {
  deleteVisibleEndpoint,
  insertEndpoints,
  selectEndpointsOfWebhooks,
  selectVisibleEndpoints,
  updateVisibleEndpoint,
  type EndpointRow,
} from './queries.js';

/**
 * Where a webhook's deliveries go: an HTTP receiver or e-mail recipients. Visible exactly when its webhook is.
 * Receiver credentials are write-only: only `hasAuth` tells that some are set.
 */
export const EndpointRef = builder.loadableNodeRef('Endpoint', {
  id: { resolve: (endpoint: EndpointRow) => endpoint.id },
  load: (ids: string[], ctx: Context) => selectVisibleEndpoints(ctx.services.db, ctx.viewer, ids),
  toKey: (endpoint) => endpoint.id,
  sort: true,
});

EndpointRef.implement({
  authScopes: (endpoint) => ({ team: endpoint.teamId }),
  fields: (t) => ({
    webhook: t.field({ type: WebhookRef, resolve: (endpoint) => endpoint.webhookId }),
    kind: t.expose('kind', { type: EndpointKindEnum }),
    state: t.expose('state', { type: StateEnum }),
    url: t.exposeString('url', { nullable: true }),
    method: t.expose('method', { type: HttpMethodEnum }),
    queryParams: t.expose('queryParams', { type: [KeyValueRef] }),
    headers: t.expose('headers', { type: [KeyValueRef] }),
    contentType: t.exposeString('contentType'),
    bodyTemplate: t.exposeString('bodyTemplate', { nullable: true }),
    timeoutMs: t.exposeInt('timeoutMs'),
    emailTo: t.exposeStringList('emailTo', { nullable: true }),
    hasAuth: t.boolean({
      description: 'Whether receiver credentials are set (they are never shown)',
      resolve: (endpoint) => endpoint.auth !== null,
    }),
    consecutiveFailures: t.exposeInt('consecutiveFailures', { description: 'Failed attempts in a row' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.objectFields(WebhookRef, (t) => ({
  // Keyed by webhook id: a whole page of webhooks loads its endpoints in one query.
  endpoints: t.loadableList({
    type: EndpointRef,
    load: (webhookIds: string[], ctx: Context) => selectEndpointsOfWebhooks(ctx.services.db, webhookIds),
    resolve: (webhook) => webhook.id,
  }),
}));

/** The endpoint with this id if the viewer may see it, else null. Reads the database now (no request cache). */
export async function visibleEndpoint(ctx: Context, id: string): Promise<EndpointRow | null> {
  const [row] = await selectVisibleEndpoints(ctx.services.db, ctx.viewer, [id]);
  return row ?? null;
}

/** A stored endpoint as endpoint input, to merge an update into. */
const endpointAsInput = (row: EndpointRow) => ({
  kind: row.kind,
  url: row.url,
  method: row.method,
  queryParams: row.queryParams,
  headers: row.headers,
  contentType: row.contentType,
  bodyTemplate: row.bodyTemplate,
  auth: row.auth,
  timeoutMs: row.timeoutMs,
  emailTo: row.emailTo,
});

builder.mutationField('createEndpoint', (t) =>
  t.field({
    type: EndpointRef,
    args: { input: t.arg({ type: CreateEndpointInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const { webhookId, ...fields } = input;
      const values = parseInput(endpointSchema, fields, 'input');
      const webhook = await visibleWebhook(ctx, webhookId);
      if (!webhook) throw notFound('input.webhookId', webhookId);
      await assertPublicTargets(ctx.services.targets, [{ url: values.url, field: 'input.url' }]);
      return auditedCreate(ctx.services.db, ctx.viewer, 'endpoint.create', async (tx) => {
        const [endpoint] = await insertEndpoints(tx, webhook, [values]);
        return endpoint;
      });
    },
  }),
);

builder.mutationField('updateEndpoint', (t) =>
  t.field({
    type: EndpointRef,
    args: { input: t.arg({ type: UpdateEndpointInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const current = await visibleEndpoint(ctx, input.id);
      if (!current) throw notFound('input.id', input.id);
      const given = changes(input);
      const values = parseInput(endpointSchema, { ...endpointAsInput(current), ...given }, 'input');
      // The stored URL passed when it was saved; a new URL, or one that becomes live again as HTTP, is checked.
      if (given.url !== undefined || given.kind !== undefined) {
        await assertPublicTargets(ctx.services.targets, [{ url: values.url, field: 'input.url' }]);
      }
      const endpoint = await auditedUpdate(
        ctx.services.db,
        ctx.viewer,
        'endpoint.update',
        (tx) => selectVisibleEndpoints(tx, ctx.viewer, [input.id], true),
        (tx) => updateVisibleEndpoint(tx, ctx.viewer, input.id, values),
      );
      if (!endpoint) throw notFound('input.id', input.id);
      return endpoint;
    },
  }),
);

builder.mutationField('deleteEndpoint', (t) =>
  t.field({
    type: deletePayload('DeleteEndpointPayload'),
    description: 'Deletes an endpoint with its deliveries',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const deleted = await auditedDelete(
        ctx.services.db,
        ctx.viewer,
        'endpoint.delete',
        (tx) => selectVisibleEndpoints(tx, ctx.viewer, [id], true),
        (tx) => deleteVisibleEndpoint(tx, ctx.viewer, id),
      );
      if (!deleted) throw notFound('id', id);
      return { deletedId: id };
    },
  }),
);

builder.mutationField('setEndpointState', (t) =>
  t.field({
    type: EndpointRef,
    description:
      'ACTIVE or STOPPED. Setting ACTIVE re-enables an endpoint disabled for TOO_MANY_ERRORS: its failure count ' +
      'starts again from 0 and its held deliveries resume',
    args: { id: t.arg.id({ required: true }), state: t.arg({ type: StateEnum, required: true }) },
    resolve: async (_root, args, ctx) => {
      const state = parseInput(settableState, args.state, 'state');
      const reset = state === 'ACTIVE' ? { consecutiveFailures: 0 } : {};
      const endpoint = await auditedUpdate(
        ctx.services.db,
        ctx.viewer,
        'endpoint.state',
        (tx) => selectVisibleEndpoints(tx, ctx.viewer, [args.id], true),
        (tx) => updateVisibleEndpoint(tx, ctx.viewer, args.id, { state, ...reset }),
      );
      if (!endpoint) throw notFound('id', args.id);
      // Held deliveries are due again: wake the workers instead of leaving them to the next poll.
      if (state === 'ACTIVE') await ctx.services.db.execute(NOTIFY_WORK);
      return endpoint;
    },
  }),
);
