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
import { visibleWebhook, WebhookRef } from '../webhooks/types.js';
import type { DeliveryFilter } from '../deliveries/queries.js';
import {
  insertJob,
  listJobs,
  selectVisibleJobs,
  type RedeliverParams,
  type ReplayDeliveriesParams,
  type ReplayJobRow,
} from './queries.js';
import { replayJobWatch } from './watch.js';

const ReplayJobKindEnum = builder.enumType('ReplayJobKind', { values: replayJobKindEnum.enumValues });
const ReplayJobStatusEnum = builder.enumType('ReplayJobStatus', { values: replayJobStatusEnum.enumValues });

/** Above this many deliveries, replayDeliveries runs as a background job instead of within the request. */
export const REPLAY_JOB_THRESHOLD = 1_000;

/** A background replay; visible to ADMIN and to the team of the webhook it was made for. */
export const ReplayJobRef = builder.loadableNodeRef('ReplayJob', {
  id: { resolve: (job: ReplayJobRow) => job.id },
  load: (ids: string[], ctx: Context) => selectVisibleJobs(ctx.services.db, ctx.viewer, ids),
  toKey: (job) => job.id,
  sort: true,
});

ReplayJobRef.implement({
  description:
    `A replay running in the background (redeliverEvents, replayDeliveries of more than ${REPLAY_JOB_THRESHOLD}): ` +
    'QUEUED, RUNNING, then SUCCEEDED or FAILED. ' +
    'Progress is pushed live by Subscription.replayJobUpdated.',
  fields: (t) => ({
    kind: t.expose('kind', { type: ReplayJobKindEnum }),
    status: t.expose('status', { type: ReplayJobStatusEnum }),
    webhook: t.field({ type: WebhookRef, nullable: true, resolve: (job) => job.webhookId }),
    endpoint: t.field({ type: EndpointRef, nullable: true, resolve: (job) => job.endpointId }),
    params: t.field({
      type: 'JSON',
      description: 'The input as given (redeliverEvents: since, until, types; replayDeliveries: its filter)',
      // Who asked is kept for running the job as them; it is not part of the input.
      resolve: ({ params: { viewer: _viewer, ...input } }) => input,
    }),
    dryRun: t.exposeBoolean('dryRun', { description: 'Only counts: `created` is what would have been created' }),
    total: t.exposeInt('total', {
      nullable: true,
      description: 'Events in the range (redeliverEvents; null until the job starts) or deliveries to replay',
    }),
    processed: t.exposeInt('processed', { description: 'Events (or deliveries) looked at so far' }),
    created: t.exposeInt('created', { description: 'Deliveries created (dry run: that would be)' }),
    skipped: t.exposeInt('skipped', { description: "redeliverEvents: events the webhook's triggers do not match now" }),
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
      const webhook = await visibleWebhook(ctx, endpoint.webhookId);
      if (!webhook) throw notFound('input.endpointId', input.endpointId);
      if (webhook.state !== 'ACTIVE') {
        throw badInput('input.endpointId', `its webhook is ${webhook.state}; only ACTIVE webhooks get deliveries`);
      }
      const params: RedeliverParams = {
        since: input.since?.toISOString() ?? null,
        until: input.until?.toISOString() ?? null,
        types: input.types?.length ? [...new Set(input.types)] : null,
      };
      const id = await insertJob(ctx.services.db, ctx.viewer!, {
        kind: 'REDELIVER_EVENTS',
        teamId: endpoint.teamId,
        webhookId: endpoint.webhookId,
        endpointId: endpoint.id,
        params: { ...params },
        dryRun: input.dryRun ?? false,
      });
      return { job: id };
    },
  }),
}));

/**
 * replayDeliveries as a job: the filter is kept with who asked (the job replays what they may see) and an `until`
 * of now at the latest (the database's clock, which stamps the replays: they must not be replayed in turn).
 */
export async function replayDeliveriesJob(ctx: Context, filter: DeliveryFilter, count: number): Promise<string> {
  const viewer = ctx.viewer!;
  const [scope] = await ctx.services.sql<{ now: string; webhookId: string | null; teamId: string | null }[]>`
    select now()::text as now, w.id as "webhookId", w.team_id as "teamId"
      from (select 1) one
      left join endpoints e on e.id = ${filter.endpointId ?? null}
      left join webhooks w on w.id = coalesce(${filter.webhookId ?? null}, e.webhook_id)`;
  const now = new Date(scope.now);
  const params: ReplayDeliveriesParams = {
    webhookId: filter.webhookId ?? null,
    endpointId: filter.endpointId ?? null,
    status: filter.status ?? null,
    since: filter.since?.toISOString() ?? null,
    until: (filter.until && filter.until < now ? filter.until : now).toISOString(),
    viewer,
  };
  return insertJob(ctx.services.db, viewer, {
    kind: 'REPLAY_DELIVERIES',
    // Narrowed to a webhook: its team's job; else the asker's (an ADMIN's is ADMIN-only).
    teamId: scope.webhookId ? scope.teamId : viewer.teamId,
    webhookId: scope.webhookId,
    endpointId: filter.endpointId ?? null,
    params: { ...params },
    dryRun: false,
    total: count,
  });
}

builder.subscriptionField('replayJobUpdated', (t) =>
  t.field({
    type: ReplayJobRef,
    description:
      'A replay job: first as it is now, then after every change (status, each page of progress), from whichever ' +
      'process runs it; it completes after SUCCEEDED or FAILED. A subscriber that falls behind gets the newest ' +
      'state. A job of another team is NOT_FOUND.',
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_root, { id }, ctx) => {
      const inbox = new Inbox<true>('replayJobUpdated', 10_000);
      const load = async (): Promise<ReplayJobRow[]> => {
        clearAllDataLoaders(ctx); // the context lives as long as the subscription: a cached row would be stale
        const [job] = await ReplayJobRef.getDataloader(ctx).loadMany([id]);
        return job && !(job instanceof Error) ? [job] : [];
      };
      if ((await load()).length === 0) throw notFound('id', id);
      const next = async (): Promise<ReplayJobRow[]> => {
        const rows = await load();
        // A finished job changes no more: this is the last value, then the subscription completes.
        if (rows.some((job) => job.status === 'SUCCEEDED' || job.status === 'FAILED')) inbox.close();
        return rows;
      };
      const stop = await replayJobWatch(ctx.services).watch(id, () => inbox.push([true]));
      // Loaded (again) once watching: no change falls between the first value and the updates.
      inbox.push([true]);
      return inboxIterator(inbox, Infinity, whileAuthenticated(ctx, next), stop);
    },
    resolve: (job: ReplayJobRow) => job,
  }),
);
