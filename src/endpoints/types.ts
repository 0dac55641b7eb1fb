import type { EndpointAuth } from '../../schema/db/webhooks.js';
import { auditedCreate, auditedDelete, auditedUpdate } from '../audit/record.js';
import { NOTIFY_WORK } from '../deliveries/outbox.js';
import { notFound, parseInput } from '../errors.js';
import { builder } from '../graphql/builder.js';
import { EndpointKindEnum, HttpMethodEnum, KeyValueRef, StateEnum } from '../graphql/common.js';
import type { Context } from '../graphql/context.js';
import { changes, settableState } from '../webhooks/inputs.js';
import { deletePayload, visibleWebhook, WebhookRef } from '../webhooks/types.js';
import { encryptAuth } from '../webhooks/secret.js';
import {
  assertPublicTargets,
  CreateEndpointInput,
  ENDPOINT_DEFAULTS,
  endpointSchema,
  UpdateEndpointInput,
  type EndpointValues,
} from './inputs.js';
import {
  deleteVisibleEndpoint,
  insertEndpoints,
  selectEndpointsOfWebhooks,
  selectVisibleEndpoints,
  updateVisibleEndpoint,
  type EndpointRow,
} from './queries.js';

/** Receiver credentials as the API shows them: which are set, never the secrets (they are write-only). */
const EndpointAuthRef = builder.objectRef<EndpointAuth>('EndpointAuth').implement({
  description: 'Which receiver credentials an endpoint has; the secrets themselves are write-only',
  fields: (t) => ({
    hasApiKey: t.boolean({ resolve: (auth) => Boolean(auth.apiKey) }),
    apiKeyHeader: t.string({
      nullable: true,
      description: 'The header the API key is sent in (null without an API key)',
      resolve: (auth) => (auth.apiKey ? auth.apiKeyHeader || ENDPOINT_DEFAULTS.apiKeyHeader : null),
    }),
    hasBearerToken: t.boolean({ resolve: (auth) => Boolean(auth.bearerToken) }),
    basicUser: t.exposeString('basicUser', { nullable: true, description: 'The user name of basic auth' }),
    hasBasicPassword: t.boolean({ resolve: (auth) => Boolean(auth.basicPassword) }),
  }),
});

/**
 * Where a webhook's deliveries go: an HTTP receiver or e-mail recipients. Visible exactly when its webhook is.
 * Receiver credentials are write-only: `hasAuth` and `auth` tell which are set, never their secrets.
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
    maxConcurrency: t.exposeInt('maxConcurrency', {
      description: 'At most this many attempts to this endpoint at once, across all workers',
    }),
    rateLimitPerSecond: t.exposeInt('rateLimitPerSecond', {
      nullable: true,
      description: 'At most this many attempts started per second; null: no limit',
    }),
    emailTo: t.exposeStringList('emailTo', { nullable: true }),
    hasAuth: t.boolean({
      description: 'Whether receiver credentials are set (they are never shown)',
      resolve: (endpoint) => endpoint.auth !== null,
    }),
    auth: t.field({
      type: EndpointAuthRef,
      nullable: true,
      description: 'Which receiver credentials are set, with their non-secret parts; null when none are',
      resolve: (endpoint) => endpoint.auth,
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

/**
 * A stored endpoint as endpoint input, to merge an update into. Not its credentials: they are write-only and stored
 * encrypted; an update without `auth` leaves them as they are.
 */
const endpointAsInput = (row: EndpointRow) => ({
  kind: row.kind,
  url: row.url,
  method: row.method,
  queryParams: row.queryParams,
  headers: row.headers,
  contentType: row.contentType,
  bodyTemplate: row.bodyTemplate,
  timeoutMs: row.timeoutMs,
  maxConcurrency: row.maxConcurrency,
  rateLimitPerSecond: row.rateLimitPerSecond,
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
        const auth = encryptAuth(ctx.services.config.HOOKLINE_ENCRYPTION_KEY, values.auth);
        const [endpoint] = await insertEndpoints(tx, webhook, [{ ...values, auth }]);
        return endpoint;
      });
    },
  }),
);

/** An update's values: credentials encrypted when the update gives `auth` (null clears them), else left alone. */
function withAuth(ctx: Context, values: EndpointValues, authGiven: boolean) {
  const { auth, ...rest } = values;
  return authGiven ? { ...rest, auth: encryptAuth(ctx.services.config.HOOKLINE_ENCRYPTION_KEY, auth) } : rest;
}

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
        (tx) => updateVisibleEndpoint(tx, ctx.viewer, input.id, withAuth(ctx, values, given.auth !== undefined)),
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
