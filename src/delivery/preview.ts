import { z } from 'zod';
import { EndpointInput, endpointSchema } from '../endpoints/inputs.js';
import { eventDeliveredTo } from '../deliveries/queries.js';
import { visibleEndpoint } from '../endpoints/types.js';
import { AppError, badInput, notFound, parseInput } from '../errors.js';
import { splitEventType } from '../events/matching.js';
import { selectVisibleEvents } from '../events/queries.js';
import { builder } from '../graphql/builder.js';
import { HttpMethodEnum, KeyValueRef } from '../graphql/common.js';
import type { Context } from '../graphql/context.js';
import { newId } from '../ids.js';
import { DecryptError } from '../security/crypto.js';
import { KeyValueInput } from '../graphql/common.js';
import { jsonObject, orDefault, text } from '../webhooks/fields.js';
import { webhookSchema } from '../webhooks/inputs.js';
import { generateSecret } from '../webhooks/secret.js';
import { visibleWebhook } from '../webhooks/types.js';
import type { DeliveryJob } from './job.js';
import { RenderError } from './render.js';
import { buildRequest, redactCredentials, type BuiltRequest } from './request.js';

// previewRequest: the request an endpoint would get for an event, built by the Sender's own code, sent nowhere.

const SampleEventInput = builder.inputType('SampleEventInput', {
  description: 'An event that is not stored, for previews',
  fields: (t) => ({
    type: t.string({ required: true, description: '`<resource>.<event>`' }),
    data: t.field({ type: 'JSON', description: 'Default: {}' }),
    context: t.field({ type: 'JSON', description: 'A JSON object' }),
  }),
});

const PreviewWebhookInput = builder.inputType('PreviewWebhookInput', {
  description: 'A webhook still being written (the console\'s wizard): what of it shapes the request',
  fields: (t) => ({
    name: t.string(),
    headers: t.field({ type: [KeyValueInput] }),
    properties: t.field({ type: 'JSON' }),
  }),
});

const previewWebhook = webhookSchema
  .pick({ headers: true, properties: true })
  .extend({ name: orDefault(text.max(200, 'at most 200 characters'), 'New webhook') });

const sampleEvent = z.object({
  type: z.string().refine((type) => splitEventType(type) !== null, 'must be <resource>.<event>, e.g. contact.created'),
  data: z.unknown().optional().transform((data) => data ?? {}),
  context: jsonObject(256 * 1024).nullish().transform((context) => context ?? null),
});

const RequestPreviewRef = builder.objectRef<BuiltRequest>('RequestPreview').implement({
  description:
    'A request exactly as a delivery attempt would send it now; the endpoint\'s credentials (Authorization, its ' +
    'API-key header) are shown as [redacted]. Signed with the webhook\'s secret only for a stored event already ' +
    'delivered to the stored endpoint, else with a throwaway secret (same form, accepted by no receiver).',
  fields: (t) => ({
    method: t.field({ type: HttpMethodEnum, resolve: (r) => r.method }),
    url: t.string({ description: 'With the query parameters', resolve: (r) => r.url.toString() }),
    headers: t.expose('headers', { type: [KeyValueRef] }),
    body: t.exposeString('body', { nullable: true, description: 'null for GET' }),
  }),
});

builder.queryField('previewRequest', (t) =>
  t.field({
    type: RequestPreviewRef,
    description:
      'The exact request an HTTP endpoint would get for an event (method, URL with query, headers with the ' +
      'signature, body), without sending anything. Give the endpoint by `endpointId` or as `endpoint` (with ' +
      '`webhookId` for its webhook\'s headers and properties, or `webhook` for one not created yet), and the event ' +
      'by `eventId` or as a sample `event`. Only a stored event delivered to the stored endpoint is signed with the ' +
      'webhook\'s secret (a real request); any other preview with a throwaway secret, so it cannot forge deliveries.',
    args: {
      endpointId: t.arg.id(),
      endpoint: t.arg({ type: EndpointInput }),
      webhookId: t.arg.id(),
      webhook: t.arg({ type: PreviewWebhookInput }),
      eventId: t.arg.id(),
      event: t.arg({ type: SampleEventInput }),
    },
    resolve: async (_root, args, ctx) => {
      const [{ webhook, endpoint, field }, event] = await Promise.all([endpointOf(ctx, args), eventOf(ctx, args)]);
      if (endpoint.kind !== 'HTTP') throw badInput(field, 'is an EMAIL endpoint; previews are of HTTP requests');
      // The webhook's secret signs only a request Hookline really sends: a stored event already delivered to this
      // stored endpoint. Signing a body the caller chose (a sample event, a draft template) would let any token
      // that may preview, VIEWER included, forge deliveries its receivers accept.
      const real =
        args.endpointId != null && args.eventId != null && (await eventDeliveredTo(ctx.services.db, event.id, endpoint.id));
      const signer = real ? webhook : { ...webhook, ...throwawaySecret() };
      const job: DeliveryJob = { event, webhook: signer, endpoint, attemptNumber: 1 };
      try {
        const request = await buildRequest(job, new Date(), ctx.services.config.HOOKLINE_ENCRYPTION_KEY);
        return { ...request, headers: redactCredentials(request.headers, endpoint) };
      } catch (err) {
        if (err instanceof RenderError) throw badInput(field === 'endpoint' ? 'endpoint.bodyTemplate' : field, err.message);
        // A secret stored under a key this process lacks: a configuration problem to show, not to mask.
        if (err instanceof DecryptError) throw new AppError('SERVICE_UNAVAILABLE', err.message);
        throw err;
      }
    },
  }),
);

/** Signing secrets that sign one preview only: the signature has the real form, and no receiver accepts it. */
function throwawaySecret() {
  return { secret: generateSecret(), previousSecret: null, previousSecretExpiresAt: null };
}

/** Exactly one of two arguments: the name of the one given. */
function oneOf(args: Record<string, unknown>, a: string, b: string): string {
  const given = [a, b].filter((name) => args[name] != null);
  if (given.length !== 1) throw badInput(a, `give either ${a} or ${b}`);
  return given[0];
}

type PreviewArgs = {
  endpointId?: string | null;
  endpoint?: Record<string, unknown> | null;
  webhookId?: string | null;
  webhook?: Record<string, unknown> | null;
  eventId?: string | null;
  event?: Record<string, unknown> | null;
};

async function endpointOf(ctx: Context, args: PreviewArgs) {
  if (oneOf(args, 'endpointId', 'endpoint') === 'endpointId') {
    const endpoint = await visibleEndpoint(ctx, args.endpointId!);
    const webhook = endpoint && (await visibleWebhook(ctx, endpoint.webhookId));
    if (!endpoint || !webhook) throw notFound('endpointId', args.endpointId!);
    if (args.webhookId != null && args.webhookId !== webhook.id) throw badInput('webhookId', "is not the endpoint's webhook");
    if (args.webhook != null) throw badInput('webhook', 'is for an endpoint given as `endpoint`, not by endpointId');
    return { webhook, endpoint, field: 'endpointId' };
  }
  const values = parseInput(endpointSchema, args.endpoint, 'endpoint');
  const endpoint = { ...values, id: newId('Endpoint') };
  if (args.webhookId == null) {
    // A webhook still being created: what the caller says of it, and a secret that signs this preview only.
    const draft = parseInput(previewWebhook, args.webhook ?? {}, 'webhook');
    const webhook = { ...draft, id: newId('Webhook'), ...throwawaySecret() };
    return { webhook, endpoint, field: 'endpoint' };
  }
  if (args.webhook != null) throw badInput('webhook', 'give either webhookId or webhook');
  const webhook = await visibleWebhook(ctx, args.webhookId);
  if (!webhook) throw notFound('webhookId', args.webhookId);
  return { webhook, endpoint, field: 'endpoint' };
}

async function eventOf(ctx: Context, args: PreviewArgs): Promise<DeliveryJob['event']> {
  if (oneOf(args, 'eventId', 'event') === 'eventId') {
    const [event] = await selectVisibleEvents(ctx.services.db, ctx.viewer, [args.eventId!]);
    if (!event) throw notFound('eventId', args.eventId!);
    return event;
  }
  const sample = parseInput(sampleEvent, args.event, 'event');
  return { id: newId('Event'), type: sample.type, occurredAt: new Date(), data: sample.data, context: sample.context };
}
