import { and, inArray, sql as drizzleSql } from 'drizzle-orm';
import type { TransactionSql } from 'postgres';
import { replayJobs } from '../../schema/db/integrations.js';
import type { DeliveryStatus } from '../../schema/db/enums.js';
import type { Db, Sql } from '../db/client.js';
import { recordAudit } from '../audit/record.js';
import { insertReplays, postgresTransaction } from '../deliveries/replay.js';
import { insertDeliveries } from '../deliveries/outbox.js';
import { planDeliveries, splitEventType, type CandidateWebhook, type MatchableEvent } from '../events/matching.js';
import type { KeysetPage } from '../graphql/common.js';
import type { Viewer } from '../graphql/context.js';
import { newId } from '../ids.js';
import { ownedByViewerTeam } from '../webhooks/access.js';

export type ReplayJobRow = typeof replayJobs.$inferSelect;

/** What redeliverEvents stores in `params`: the event range, as ISO text (JSON has no dates). */
export interface RedeliverParams {
  since: string | null;
  until: string | null;
  types: string[] | null;
}

/** Every job's `params` also hold who asked (insertJob adds it): a job stops once their token is revoked. */
interface Asker {
  viewer?: Viewer;
}

/**
 * What a REPLAY_DELIVERIES job stores in `params`: the replayDeliveries filter (dates as ISO text) and who asked
 * (the filter is applied with their visibility, and audited as theirs). `until` is at the latest the job's
 * creation: the replays it creates match the rest of the filter too, and must not be replayed in turn.
 */
export interface ReplayDeliveriesParams {
  webhookId: string | null;
  endpointId: string | null;
  status: DeliveryStatus[] | null;
  since: string | null;
  until: string;
  viewer: Viewer;
}

/** Runners LISTEN here for new jobs (sent at commit, like the delivery outbox's hookline_work). */
export const JOBS_CHANNEL = 'hookline_replay_jobs';
/** Every change of a job's progress or status, payload: the job's id; api processes fan it out to subscribers. */
export const JOB_UPDATED_CHANNEL = 'hookline_replay_job_updated';

const notifyJobUpdated = (tx: TransactionSql, id: string) => tx`select pg_notify(${JOB_UPDATED_CHANNEL}, ${id})`;

/** The job's team decides who sees it, like a webhook's: ADMIN sees all, a team token its team's jobs only. */
const jobVisibleTo = (viewer: Viewer | null) => ownedByViewerTeam(replayJobs.teamId, viewer);

export function selectVisibleJobs(db: Db, viewer: Viewer | null, ids: readonly string[]): Promise<ReplayJobRow[]> {
  return db
    .select()
    .from(replayJobs)
    .where(and(inArray(replayJobs.id, [...ids]), jobVisibleTo(viewer)));
}

/** One page of the viewer's jobs, newest first (see pageNewestFirst). */
export function listJobs(db: Db, viewer: Viewer | null, page: KeysetPage): Promise<ReplayJobRow[]> {
  return db
    .select()
    .from(replayJobs)
    .where(and(jobVisibleTo(viewer), page.where))
    .orderBy(page.orderBy)
    .limit(page.limit);
}

/** A QUEUED job, announced to runners (and subscribers) at commit, with its audit entry (unless a dry run). */
export async function insertJob(
  db: Db,
  viewer: Viewer,
  job: Pick<ReplayJobRow, 'kind' | 'teamId' | 'webhookId' | 'endpointId' | 'params' | 'dryRun'> & { total?: number },
): Promise<string> {
  const id = newId('ReplayJob');
  await db.transaction(async (tx) => {
    await tx.insert(replayJobs).values({ id, ...job, params: { ...job.params, viewer }, createdBy: viewer.name });
    // A dry run changes nothing, so it is not audited. Who asked is in the entry already, not repeated in params.
    if (!job.dryRun) {
      await recordAudit(tx, viewer, {
        action: job.kind === 'REDELIVER_EVENTS' ? 'endpoint.redeliver_events' : 'webhook.replay_deliveries',
        target: { id, teamId: job.teamId, webhookId: job.webhookId },
        after: { kind: job.kind, endpointId: job.endpointId, params: { ...job.params, viewer: undefined } },
      });
    }
    await tx.execute(drizzleSql`select pg_notify(${JOBS_CHANNEL}, ${id}), pg_notify(${JOB_UPDATED_CHANNEL}, ${id})`);
  });
  return id;
}

export type ClaimedJob = Pick<ReplayJobRow, 'id' | 'kind' | 'total'>;

/**
 * Takes the oldest job that is QUEUED, or RUNNING under a lease that ran out (its runner died or was stopped), and
 * leases it to `owner`. FOR UPDATE SKIP LOCKED: concurrent runners never take the same job.
 */
export async function claimJob(sql: Sql, owner: string, leaseMs: number): Promise<ClaimedJob | undefined> {
  return sql.begin(async (tx) => {
    const [job] = await tx<ClaimedJob[]>`
      select id, kind, total from replay_jobs
       where status = 'QUEUED' or (status = 'RUNNING' and lease_expires_at < now())
       order by created_at, id
       limit 1
       for update skip locked`;
    if (!job) return undefined;
    await tx`
      update replay_jobs
         set status = 'RUNNING', lease_owner = ${owner},
             lease_expires_at = now() + ${leaseMs} * interval '1 millisecond', updated_at = now()
       where id = ${job.id}`;
    await notifyJobUpdated(tx, job.id);
    return job;
  });
}

/** Ends a job this owner holds with FAILED and the reason. */
export async function failJob(sql: Sql, id: string, owner: string, error: string): Promise<void> {
  await sql.begin((tx) => finish(tx, id, 'FAILED', error, owner));
}

/** Gives a job back at once (shutdown): its lease ends now, so the next runner resumes it from its cursor. */
export async function releaseJob(sql: Sql, id: string, owner: string): Promise<void> {
  await sql`update replay_jobs set lease_expires_at = now() where id = ${id} and lease_owner = ${owner} and status = 'RUNNING'`;
}

export type PageOutcome = 'more' | 'done' | 'lost';

/**
 * Ends the job FAILED when the API token that asked for it has been revoked since ('done'), else undefined: a
 * revoked token, however leaked, stops doing things, its background jobs included.
 */
async function stopIfAskerRevoked(tx: TransactionSql, jobId: string, params: Asker): Promise<PageOutcome | undefined> {
  const tokenId = params.viewer?.tokenId;
  if (!tokenId) return undefined;
  const [revoked] = await tx`select 1 from api_tokens where id = ${tokenId} and revoked_at is not null`;
  return revoked ? finish(tx, jobId, 'FAILED', 'stopped: the API token that asked for it was revoked') : undefined;
}

/**
 * One page of a redeliverEvents job, in ONE transaction: the next `pageSize` events after the cursor in the job's
 * range, matched with the CURRENT triggers of the endpoint's webhook (events/matching.ts, the rules publishEvent
 * uses), a PENDING delivery per match (none for a dry run), and the cursor and counts moved on. Because the
 * deliveries and the cursor commit together, a runner that dies mid-job leaves either the whole page or none of
 * it, and whoever resumes starts after the cursor: no event is delivered twice by one job.
 *
 * The job row is locked FOR UPDATE and must still be leased to `owner` ('lost' otherwise: the lease ran out and
 * another runner took over). The webhook and endpoint are held FOR KEY SHARE until the inserts, as in publishing.
 */
export async function runRedeliverPage(sql: Sql, jobId: string, owner: string, pageSize: number, leaseMs: number): Promise<PageOutcome> {
  return sql.begin(async (tx) => {
    const [job] = await tx<{ endpointId: string; params: RedeliverParams & Asker; dryRun: boolean; cursor: string | null; createdAt: string }[]>`
      select endpoint_id as "endpointId", params, dry_run as "dryRun", cursor, created_at::text as "createdAt"
        from replay_jobs
       where id = ${jobId} and lease_owner = ${owner} and status = 'RUNNING'
       for update`;
    if (!job) return 'lost';
    const stopped = await stopIfAskerRevoked(tx, jobId, job.params);
    if (stopped) return stopped;
    const [target] = await tx<{ webhookId: string; forLogin: string | null; webhookState: string; endpointState: string }[]>`
      select w.id as "webhookId", w.for_login as "forLogin", w.state as "webhookState", e.state as "endpointState"
        from endpoints e join webhooks w on w.id = e.webhook_id
       where e.id = ${job.endpointId}
       for key share of e, w`;
    if (!target) return finish(tx, jobId, 'FAILED', 'the endpoint was deleted');
    if (target.webhookState !== 'ACTIVE' || target.endpointState !== 'ACTIVE') {
      const what = target.webhookState !== 'ACTIVE' ? `webhook is ${target.webhookState}` : `endpoint is ${target.endpointState}`;
      return finish(tx, jobId, 'FAILED', `stopped: the ${what}; only ACTIVE endpoints get deliveries`);
    }
    const { since, until, types } = job.params;
    const [triggerRows, eventRows] = await Promise.all([
      tx<{ resource: string; event: string; filter: Record<string, unknown> | null }[]>`
        select resource, event, filter from triggers where webhook_id = ${target.webhookId}`,
      // Paged by id (the primary key, time-sortable): the range and types narrow each page. Only events stored
      // before the job was asked for: a later one was matched when published and has its delivery already.
      tx<{ id: string; type: string; data: unknown; context: Record<string, unknown> | null }[]>`
        select id, type, data, context from events
         where id > ${job.cursor ?? ''}
           and created_at <= ${job.createdAt}::timestamptz
           and (${since}::timestamptz is null or occurred_at >= ${since}::timestamptz)
           and (${until}::timestamptz is null or occurred_at < ${until}::timestamptz)
           and (${types}::text[] is null or type = any(${types}::text[]))
         order by id
         limit ${pageSize}`,
    ]);
    const candidate: CandidateWebhook = {
      id: target.webhookId,
      forLogin: target.forLogin,
      triggers: triggerRows,
      endpointIds: [job.endpointId],
    };
    const matchable: MatchableEvent[] = eventRows.map((e) => ({ ...splitEventType(e.type)!, data: e.data, context: e.context }));
    const planned = planDeliveries(matchable, [candidate]);
    if (!job.dryRun) await insertDeliveries(tx, planned.map((p) => ({ ...p, eventId: eventRows[p.eventIndex].id })));
    const done = eventRows.length < pageSize;
    await tx`
      update replay_jobs
         set processed = processed + ${eventRows.length}, created = created + ${planned.length},
             skipped = skipped + ${eventRows.length - planned.length}, cursor = coalesce(${eventRows.at(-1)?.id ?? null}, cursor),
             lease_expires_at = now() + ${leaseMs} * interval '1 millisecond', updated_at = now()
       where id = ${jobId}`;
    if (done) return finish(tx, jobId, 'SUCCEEDED', null);
    await notifyJobUpdated(tx, jobId);
    return 'more';
  });
}

/**
 * One page of a REPLAY_DELIVERIES job: the next `pageSize` matching deliveries after the cursor (in id order) are
 * replayed by the same INSERT … SELECT as a small replayDeliveries, in the transaction that moves the cursor, as
 * for redeliverEvents.
 */
export async function runReplayDeliveriesPage(db: Db, jobId: string, owner: string, pageSize: number, leaseMs: number): Promise<PageOutcome> {
  return db.transaction(async (drizzleTx) => {
    const tx = postgresTransaction(drizzleTx);
    const [job] = await tx<{ params: ReplayDeliveriesParams; cursor: string | null }[]>`
      select params, cursor from replay_jobs
       where id = ${jobId} and lease_owner = ${owner} and status = 'RUNNING'
       for update`;
    if (!job) return 'lost';
    const stopped = await stopIfAskerRevoked(tx, jobId, job.params);
    if (stopped) return stopped;
    const { viewer, since, until, ...filter } = job.params;
    const dates = { since: since ? new Date(since) : null, until: new Date(until) };
    const created = await insertReplays(drizzleTx, viewer, { ...filter, ...dates }, { after: job.cursor, limit: pageSize });
    const cursor = created.reduce((last, c) => (c.replay_of > last ? c.replay_of : last), job.cursor ?? '');
    await tx`
      update replay_jobs
         set processed = processed + ${created.length}, created = created + ${created.length}, cursor = ${cursor || null},
             lease_expires_at = now() + ${leaseMs} * interval '1 millisecond', updated_at = now()
       where id = ${jobId}`;
    if (created.length < pageSize) return finish(tx, jobId, 'SUCCEEDED', null);
    await notifyJobUpdated(tx, jobId);
    return 'more';
  });
}

/** Counts the events in a job's range, once, so progress can be shown as a fraction. */
export async function countRedeliverTotal(sql: Sql, jobId: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`
      update replay_jobs j
         set total = (select count(*)::int from events
                       where created_at <= j.created_at
                         and (j.params->>'since' is null or occurred_at >= (j.params->>'since')::timestamptz)
                         and (j.params->>'until' is null or occurred_at < (j.params->>'until')::timestamptz)
                         and (j.params->'types' is null or jsonb_typeof(j.params->'types') = 'null'
                              or type in (select jsonb_array_elements_text(j.params->'types'))))
       where id = ${jobId} and total is null`;
    await notifyJobUpdated(tx, jobId);
  });
}

/** Ends a job; with `owner`, only while that runner still holds it. */
async function finish(
  tx: TransactionSql,
  jobId: string,
  status: 'SUCCEEDED' | 'FAILED',
  error: string | null,
  owner?: string,
): Promise<PageOutcome> {
  await tx`
    update replay_jobs set status = ${status}, error = ${error}, finished_at = now(), updated_at = now(),
                           lease_owner = null, lease_expires_at = null
     where id = ${jobId} ${owner === undefined ? tx`` : tx`and lease_owner = ${owner}`}`;
  await notifyJobUpdated(tx, jobId);
  return 'done';
}
