import { clearAllDataLoaders } from '@pothos/plugin-dataloader';
import { z } from 'zod';
import { replayJobKindEnum, replayJobs, replayJobStatusEnum } from '../../schema/db/integrations.js';
import { EndpointRef, visibleEndpoint } from '../endpoints/types.js';
import { badInput, notFound, parseInput } from '../errors.js';
import { EVENT_TYPE_PATTERN } from '../events/matching.js';
import { builder } from '../graphql/builder.js';
import { pageNewestFirst } from '../graphql/common.js';
import type { Context } from '../graphql/context.js';
import { Inbox, inboxIterator } from '../live/inbox.js';
import { whileAuthenticated } from '../live/types.js';
import { WebhookRef } from '../webhooks/types.js';
import { insertJob, listJobs, selectVisibleJobs, type RedeliverParams, type ReplayJobRow } from './queries.js';
import { replayJobWatch } from './watch.js';

const ReplayJobKindEnum = builder.enumType('ReplayJobKind', { values: replayJobKindEnum.enumValues });
const ReplayJobStatusEnum = builder.enumType('ReplayJobStatus', { values: replayJobStatusEnum.enumValues });

/** A background replay; visible to ADMIN and to the team of the webhook it was made for. */
export const ReplayJobRef = builder.loadableNodeRef('ReplayJob', {
  id: { resolve: (job: ReplayJobRow) => job.id },
  load: (ids: string[], ctx: Context) => selectVisibleJobs(ctx.services.db, ctx.viewer, ids),
  toKey: (job) => job.id,
  sort: true,
});

ReplayJobRef.implement({
  description:
    'A replay running in the background (redeliverEvents): QUEUED, RUNNING, then SUCCEEDED or FAILED. ' +
    'Progress is pushed live by Subscription.replayJobUpdated.',
  fields: (t) => ({
    kind: t.expose('kind', { type: ReplayJobKindEnum }),
    status: t.expose('status', { type: ReplayJobStatusEnum }),
    webhook: t.field({ type: WebhookRef, nullable: true, resolve: (job) => job.webhookId }),
    endpoint: t.field({ type: EndpointRef, nullable: true, resolve: (job) => job.endpointId }),
    params: t.expose('params', { type: 'JSON', description: 'The input as given (since, until, types)' }),
    dryRun: t.exposeBoolean('dryRun', { description: 'Only counts: `created` is what would have been created' }),
    total: t.exposeInt('total', { nullable: true, description: 'Events in the range (null until the job starts)' }),
    processed: t.exposeInt('processed', { description: 'Events looked at so far' }),
    created: t.exposeInt('created', { description: 'Deliveries created (dry run: that would be)' }),
    skipped: t.exposeInt('skipped', { description: "Events the webhook's triggers do not match now" }),
    progress: t.float({
      nullable: true,
      description: 'processed / total, 0..1 (1 once SUCCEEDED); null while the total is not known',
      resolve: (job) => (job.status === 'SUCCEEDED' ? 1 : job.total ? Math.min(1, job.processed / job.total) : job.total === 0 ? 1 : null),
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why a FAILED job stopped' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdBy: t.exposeString('createdBy', { nullable: true }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

const ReplayJobConnection = builder.connectionObject({ type: ReplayJobRef, name: 'ReplayJobConnection' }, { name: 'ReplayJobEdge' });

builder.queryFields((t) => ({
  replayJob: t.field({
    type: ReplayJobRef,
    nullable: true,
    description: 'A replay job this token may see, or null',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args) => args.id,
  }),
  replayJobs: t.connection(
    {
      type: ReplayJobRef,
      description: 'Replay jobs this token may see, newest first',
      resolve: (_root, args, ctx) =>
        pageNewestFirst(args, ctx.services.config.HOOKLINE_MAX_PAGE_SIZE, replayJobs.id, (page) =>
          listJobs(ctx.services.db, ctx.viewer, page),
        ),
    },
    ReplayJobConnection,
  ),
}));

const RedeliverEventsInput = builder.inputType('RedeliverEventsInput', {
  fields: (t) => ({
    endpointId: t.id({ required: true }),
    since: t.field({ type: 'DateTime', description: 'Events that occurred at or after this instant' }),
    until: t.field({ type: 'DateTime', description: 'Events that occurred before this instant' }),
    types: t.stringList({ description: 'Only events of these types (`<resource>.<event>`); default: all' }),
    dryRun: t.boolean({ defaultValue: false, description: 'Only count what would be delivered' }),
  }),
});

const MAX_TYPES = 100;

const redeliverInput = z
  .object({
    endpointId: z.string(),
    since: z.date().nullish(),
    until: z.date().nullish(),
    types: z
      .array(z.string().max(200, 'at most 200 characters').regex(EVENT_TYPE_PATTERN, 'must be <resource>.<event>, e.g. contact.created'))
      .max(MAX_TYPES, `at most ${MAX_TYPES} types`)
      .nullish(),
    dryRun: z.boolean().nullish(),
  })
  .refine((v) => !v.since || !v.until || v.until > v.since, { path: ['until'], message: 'must be later than since' })
  .refine((v) => !v.since || v.since <= new Date(), { path: ['since'], message: 'must not be in the future' });

builder.mutationFields((t) => ({
  redeliverEvents: t.field({
    type: builder.objectRef<{ job: ReplayJobRow | string }>('RedeliverEventsPayload').implement({
      fields: (f) => ({ job: f.field({ type: ReplayJobRef, resolve: (payload) => payload.job }) }),
    }),
    description:
      "Sends stored events to an endpoint: every event in the range that its webhook's triggers match NOW (events " +
      'that matched nothing when published included) gets a new PENDING delivery. Runs as a background job; ' +
      'follow it with replayJob(id) or Subscription.replayJobUpdated.',
    args: { input: t.arg({ type: RedeliverEventsInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const input = parseInput(redeliverInput, args.input, 'input');
      const endpoint = await visibleEndpoint(ctx, input.endpointId);
      if (!endpoint) throw notFound('input.endpointId', input.endpointId);
      if (endpoint.state !== 'ACTIVE') {
        throw badInput('input.endpointId', `the endpoint is ${endpoint.state}; only ACTIVE endpoints get deliveries`);
      }
      const [webhook] = await ctx.services.sql<{ state: string }[]>`select state from webhooks where id = ${endpoint.webhookId}`;
      if (webhook?.state !== 'ACTIVE') {
        throw badInput('input.endpointId', `its webhook is ${webhook?.state ?? 'deleted'}; only ACTIVE webhooks get deliveries`);
      }
      const params: RedeliverParams = {
        since: input.since?.toISOString() ?? null,
        until: input.until?.toISOString() ?? null,
        types: input.types?.length ? [...new Set(input.types)] : null,
      };
      const id = await insertJob(ctx.services.sql, {
        kind: 'REDELIVER_EVENTS',
        teamId: endpoint.teamId,
        webhookId: endpoint.webhookId,
        endpointId: endpoint.id,
        params: { ...params },
        dryRun: input.dryRun ?? false,
        createdBy: ctx.viewer!.name,
      });
      return { job: id };
    },
  }),
}));

builder.subscriptionField('replayJobUpdated', (t) =>
  t.field({
    type: ReplayJobRef,
    description:
      'A replay job: first as it is now, then after every change (status, each page of progress), from whichever ' +
      'process runs it. A subscriber that falls behind gets the newest state. A job of another team is NOT_FOUND.',
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_root, { id }, ctx) => {
      const load = async (): Promise<ReplayJobRow[]> => {
        clearAllDataLoaders(ctx); // the context lives as long as the subscription: a cached row would be stale
        const [job] = await ReplayJobRef.getDataloader(ctx).loadMany([id]);
        return job && !(job instanceof Error) ? [job] : [];
      };
      if ((await load()).length === 0) throw notFound('id', id);
      const inbox = new Inbox<true>('replayJobUpdated', 10_000);
      const stop = await replayJobWatch(ctx.services).watch(id, () => inbox.push([true]));
      // Loaded (again) once watching: no change falls between the first value and the updates.
      inbox.push([true]);
      return inboxIterator(inbox, Infinity, whileAuthenticated(ctx, load), stop);
    },
    resolve: (job: ReplayJobRow) => job,
  }),
);
