import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { PUBLISH_MANY, teamToken } from '../helpers/event-fixtures.js';
import type { GraphqlClient } from '../helpers/gql.js';
import { eventually, startReceiver, type Receiver } from '../helpers/receiver.js';
import { createWebhook, openSql } from '../helpers/webhook-fixtures.js';
import { wsClient, type WsClient } from '../helpers/ws-client.js';

/*
 * redeliverEvents end to end: a real app with the replay runner and the delivery worker (role all), events
 * published BEFORE the webhook existed (so they matched nothing), a real receiver, and graphql-ws for progress.
 */

let t: TestApp;
let sql: postgres.Sql;
let receiver: Receiver;
let ws: WsClient;

const JOB_FIELDS = 'id kind status dryRun total processed created skipped progress error finishedAt endpoint { id } webhook { id }';
const REDELIVER = `mutation ($input: RedeliverEventsInput!) { redeliverEvents(input: $input) { job { ${JOB_FIELDS} } } }`;
const JOB = `query ($id: ID!) { replayJob(id: $id) { ${JOB_FIELDS} } }`;

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();

async function publishMany(inputs: Record<string, unknown>[]): Promise<string[]> {
  const data = await t.gql.ok(PUBLISH_MANY, { inputs });
  return data.publishEvents.results.map((r: { event: { id: string } }) => r.event.id);
}

async function finished(gql: GraphqlClient, id: string) {
  return eventually(async () => {
    const { replayJob } = await gql.ok(JOB, { id });
    return ['SUCCEEDED', 'FAILED'].includes(replayJob.status) && replayJob;
  }, 30_000);
}

const deliveriesTo = (endpointId: string) =>
  sql<{ event_id: string }[]>`select event_id from deliveries where endpoint_id = ${endpointId} order by event_id`;

/** Events published before any webhook: they matched nothing and have no deliveries. */
let early: { seMatch: string; noFilterMiss: string; paid: string; recentSe: string; login: string };
let endpointId: string;
let webhookId: string;

beforeAll(async () => {
  t = await startTestApp({ LOG_LEVEL: 'error', HOOKLINE_POLL_INTERVAL: '200ms' });
  sql = openSql(t.database.url);
  receiver = await startReceiver();
  ws = wsClient(t.url, t.adminToken);
  const [seMatch, noFilterMiss, paid, recentSe, login] = await publishMany([
    { type: 'order.created', data: { country: 'SE', n: 1 }, occurredAt: hoursAgo(3) },
    { type: 'order.created', data: { country: 'NO', n: 2 }, occurredAt: hoursAgo(2.5) },
    { type: 'order.paid', data: { country: 'SE', n: 3 }, occurredAt: hoursAgo(2) },
    { type: 'order.created', data: { country: 'SE', n: 4 }, occurredAt: hoursAgo(0.5) },
    { type: 'user.login', data: { country: 'SE', n: 5 }, occurredAt: hoursAgo(2) },
  ]);
  early = { seMatch, noFilterMiss, paid, recentSe, login };
  const { webhook } = await createWebhook(t.gql, {
    name: 'late webhook',
    endpoints: [{ url: `${receiver.url}/hooks` }],
    triggers: [{ resource: 'order', event: 'created', filter: { country: 'SE' } }],
  });
  webhookId = webhook.id;
  endpointId = webhook.endpoints[0].id;
});
afterAll(async () => {
  await ws?.close();
  await receiver?.close();
  await sql?.end();
  await t?.stop();
});

describe('redeliverEvents', () => {
  it('delivers stored events that matched nothing when published, if the triggers match them now, within the range', async () => {
    expect(await sql`select id from deliveries where event_id = any(${Object.values(early)})`).toHaveLength(0);

    const { redeliverEvents } = await t.gql.ok(REDELIVER, {
      input: { endpointId, since: hoursAgo(4), until: hoursAgo(1), types: ['order.created', 'order.paid'] },
    });
    expect(redeliverEvents.job).toMatchObject({ kind: 'REDELIVER_EVENTS', status: 'QUEUED', dryRun: false });
    expect(redeliverEvents.job.endpoint.id).toBe(endpointId);

    const job = await finished(t.gql, redeliverEvents.job.id);
    // In range and of those types: seMatch, noFilterMiss, paid. Only seMatch passes the trigger and its filter.
    expect(job).toMatchObject({ status: 'SUCCEEDED', total: 3, processed: 3, created: 1, skipped: 2, progress: 1, error: null });
    expect((await deliveriesTo(endpointId)).map((d) => d.event_id)).toEqual([early.seMatch]);

    // The receiver gets it like any delivery: webhook-id is the event's id.
    const [request] = await receiver.waitFor(1);
    expect(request.headers['webhook-id']).toBe(early.seMatch);
    expect(JSON.parse(request.body)).toMatchObject({ event_id: early.seMatch, event_type: 'order.created', data: { n: 1 } });
  });

  it('dry run counts what it would deliver and creates nothing', async () => {
    const before = await deliveriesTo(endpointId);
    const received = receiver.requests.length;
    const { redeliverEvents } = await t.gql.ok(REDELIVER, { input: { endpointId, since: hoursAgo(4), dryRun: true } });
    const job = await finished(t.gql, redeliverEvents.job.id);
    // Every event since 4 h ago: the two SE order.created events match.
    expect(job).toMatchObject({ status: 'SUCCEEDED', dryRun: true, total: 5, processed: 5, created: 2, skipped: 3 });
    expect(await deliveriesTo(endpointId)).toEqual(before);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests.length).toBe(received);
  });

  it('pushes progress over replayJobUpdated, page by page, until SUCCEEDED', async () => {
    const count = 1_100; // three pages of 500
    for (let i = 0; i < count; i += 550) {
      await publishMany(Array.from({ length: 550 }, (_, j) => ({ type: 'bulk.item', data: { i: i + j } })));
    }
    const { webhook } = await createWebhook(t.gql, {
      name: 'bulk',
      endpoints: [{ url: `${receiver.url}/bulk` }],
      triggers: [{ resource: 'bulk', event: '*' }],
    });
    const bulkEndpoint = webhook.endpoints[0].id;

    // Holding the endpoint row FOR UPDATE stops the runner before its first page (it takes FOR KEY SHARE), so the
    // subscriber sees the job before any progress, whatever the machine's speed.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holding = sql.begin(async (tx) => {
      await tx`select id from endpoints where id = ${bulkEndpoint} for update`;
      locked();
      await held;
    });
    await isLocked;

    const { redeliverEvents } = await t.gql.ok(REDELIVER, { input: { endpointId: bulkEndpoint, types: ['bulk.item'], dryRun: true } });
    const sub = ws.subscribe(
      `subscription ($id: ID!) { replayJobUpdated(id: $id) { id status total processed created skipped progress } }`,
      { id: redeliverEvents.job.id },
      (data) => data.replayJobUpdated,
    );
    await sub.until((values) => values.some((v) => v.status === 'RUNNING' && v.total === count && v.processed === 0));
    release();
    await holding;
    const values = await sub.until((vs) => vs.at(-1)?.status === 'SUCCEEDED');
    await sub.done; // a finished job changes no more: the subscription completes
    expect(sub.errors).toEqual([]);

    // Subscribing to a finished job gives its final state once, then completes.
    const late = ws.subscribe(
      `subscription ($id: ID!) { replayJobUpdated(id: $id) { status processed } }`,
      { id: redeliverEvents.job.id },
      (data) => data.replayJobUpdated,
    );
    await late.done;
    expect(late.values).toEqual([{ status: 'SUCCEEDED', processed: count }]);

    expect(values[0].id).toBe(redeliverEvents.job.id);
    expect(values.at(-1)).toMatchObject({ status: 'SUCCEEDED', total: count, processed: count, created: count, skipped: 0, progress: 1 });
    const processed = values.map((v) => v.processed);
    expect(processed).toEqual([...processed].sort((a, b) => a - b)); // never goes backwards
  });

  it('a job whose runner died resumes after its cursor: nothing before it is delivered again', async () => {
    // Sorted: the job goes through events in id order (ids made in one millisecond are not in input order).
    const ids = (await publishMany(Array.from({ length: 6 }, (_, i) => ({ type: 'resume.item', data: { i } })))).sort();
    const { webhook } = await createWebhook(t.gql, {
      name: 'resume',
      endpoints: [{ url: `${receiver.url}/resume` }],
      triggers: [{ resource: 'resume', event: 'item' }],
    });
    const resumeEndpoint = webhook.endpoints[0].id;
    // What a runner that died after its first page (3 events) leaves behind: RUNNING, a cursor, an expired lease.
    const jobId = `job_resume${Date.now()}`;
    await sql`
      insert into replay_jobs (id, kind, status, webhook_id, endpoint_id, params, total, processed, created, cursor,
                               lease_owner, lease_expires_at)
      values (${jobId}, 'REDELIVER_EVENTS', 'RUNNING', ${webhook.id}, ${resumeEndpoint},
              ${sql.json({ since: null, until: null, types: ['resume.item'] })}, 6, 3, 3, ${ids[2]},
              'dead-runner', now() - interval '1 second')`;
    await sql`select pg_notify('hookline_replay_jobs', ${jobId})`;

    const job = await finished(t.gql, jobId);
    expect(job).toMatchObject({ status: 'SUCCEEDED', total: 6, processed: 6, created: 6, skipped: 0 });
    expect((await deliveriesTo(resumeEndpoint)).map((d) => d.event_id)).toEqual(ids.slice(3));
  });

  it('refuses bad input with BAD_USER_INPUT naming the field, and writes nothing', async () => {
    const [{ n: jobsBefore }] = await sql<{ n: number }[]>`select count(*)::int as n from replay_jobs`;
    const cases: [Record<string, unknown>, string][] = [
      [{ endpointId, types: ['order'] }, 'input.types[0]'],
      [{ endpointId, since: hoursAgo(1), until: hoursAgo(2) }, 'input.until'],
      [{ endpointId, since: new Date(Date.now() + 3_600_000).toISOString() }, 'input.since'],
    ];
    for (const [input, field] of cases) {
      const { errors } = await t.gql(REDELIVER, { input });
      expect(errors?.[0].extensions?.code, field).toBe('BAD_USER_INPUT');
      expect(errors?.[0].message).toContain(field);
    }
    const { webhook } = await createWebhook(t.gql, {
      name: 'stopped',
      endpoints: [{ url: `${receiver.url}/stopped` }],
      triggers: [{ resource: 'order', event: '*' }],
    });
    await t.gql.ok('mutation ($id: ID!) { setEndpointState(id: $id, state: STOPPED) { id } }', { id: webhook.endpoints[0].id });
    const stopped = await t.gql(REDELIVER, { input: { endpointId: webhook.endpoints[0].id } });
    expect(stopped.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(stopped.errors?.[0].message).toMatch(/input\.endpointId.*STOPPED/);

    // Another team's endpoint does not exist for this token, and its jobs are not visible either.
    const other = t.gql.as((await teamToken(t.gql, 'redeliver-other')).token);
    const foreign = await other(REDELIVER, { input: { endpointId } });
    expect(foreign.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const { replayJobs } = await other.ok('{ replayJobs(first: 10) { edges { node { id } } } }');
    expect(replayJobs.edges).toEqual([]);

    const [{ n: jobsAfter }] = await sql<{ n: number }[]>`select count(*)::int as n from replay_jobs`;
    expect(jobsAfter).toBe(jobsBefore);
  });

  it('replayDeliveries of more than 1,000 deliveries runs as a job, and never replays its own replays', async () => {
    const { webhook } = await createWebhook(t.gql, {
      name: 'bulk replay',
      endpoints: [{ url: `${receiver.url}/bulk-replay` }],
      triggers: [{ resource: 'bulkreplay', event: '*' }],
    });
    const [eventId] = await publishMany([{ type: 'unmatched.thing', data: {} }]);
    const count = 1_005;
    // Old FAILED deliveries, written directly: sending 1,005 originals first would only slow the test down.
    await sql`
      insert into deliveries (id, event_id, webhook_id, endpoint_id, status)
      select 'dlv_seed' || lpad(n::text, 6, '0'), ${eventId}, ${webhook.id}, ${webhook.endpoints[0].id}, 'FAILED'
        from generate_series(1, ${count}) n`;

    // No status filter: the replays the job creates match the rest of the filter, and must not be replayed again.
    const { replayDeliveries } = await t.gql.ok(
      `mutation ($input: ReplayDeliveriesInput!) { replayDeliveries(input: $input) { count job { id kind status total } } }`,
      { input: { webhookId: webhook.id } },
    );
    expect(replayDeliveries.count).toBe(count);
    expect(replayDeliveries.job).toMatchObject({ kind: 'REPLAY_DELIVERIES', total: count });
    const job = await finished(t.gql, replayDeliveries.job.id);
    expect(job).toMatchObject({ status: 'SUCCEEDED', total: count, processed: count, created: count, progress: 1 });
    const [row] = await sql<{ replays: number; originals: number; all: number }[]>`
      select count(distinct replay_of)::int as originals, count(replay_of)::int as replays, count(*)::int as all
        from deliveries where webhook_id = ${webhook.id}`;
    expect(row).toEqual({ originals: count, replays: count, all: 2 * count });
    const [{ n }] = await sql<{ n: number }[]>`
      select count(*)::int as n from deliveries where webhook_id = ${webhook.id} and replay_of not like 'dlv_seed%'`;
    expect(n).toBe(0);

    // A small one stays synchronous: no job.
    const small = await t.gql.ok(
      `mutation ($input: ReplayDeliveriesInput!) { replayDeliveries(input: $input) { count job { id } } }`,
      { input: { webhookId, status: ['SUCCEEDED', 'FAILED', 'PENDING', 'SENDING', 'RETRYING'] } },
    );
    expect(small.replayDeliveries.job).toBeNull();
  });

  it('lists jobs newest first for the admin, with webhook and endpoint', async () => {
    const { replayJobs } = await t.gql.ok(`{ replayJobs(first: 2) { edges { node { id webhook { id } createdAt } } pageInfo { hasNextPage } } }`);
    expect(replayJobs.edges).toHaveLength(2);
    expect(replayJobs.pageInfo.hasNextPage).toBe(true);
    expect(replayJobs.edges[0].node.id > replayJobs.edges[1].node.id).toBe(true);
    expect(webhookId).toMatch(/^wh_/);
  });
});

describe('redeliverEvents and events published while its job waits or runs', () => {
  it('sends only the events stored when it was asked for: later ones get their usual delivery, not a second one', async () => {
    // An api process alone (no runner) takes the request, so the job is still QUEUED when the next event arrives;
    // a worker process on the same database runs it afterwards.
    const api = await startTestApp({ LOG_LEVEL: 'error', HOOKLINE_ROLE: 'api' });
    const apiSql = openSql(api.database.url);
    try {
      const { webhook } = await createWebhook(api.gql, {
        name: 'history and now',
        endpoints: [{ url: `${receiver.url}/history-and-now` }],
        triggers: [{ resource: 'later', event: 'item' }],
      });
      const endpoint = webhook.endpoints[0].id;
      const publish = async (i: number) =>
        (await api.gql.ok(PUBLISH_MANY, { inputs: [{ type: 'later.item', data: { i } }] })).publishEvents.results[0].event.id as string;
      const before = await publish(1);
      const { redeliverEvents } = await api.gql.ok(REDELIVER, { input: { endpointId: endpoint } });
      expect(redeliverEvents.job.status).toBe('QUEUED');
      const after = await publish(2);

      const worker = await startTestApp({ LOG_LEVEL: 'error', HOOKLINE_ROLE: 'worker', HOOKLINE_POLL_INTERVAL: '200ms' }, { database: api.database });
      try {
        const job = await eventually(async () => {
          const { replayJob } = await api.gql.ok(JOB, { id: redeliverEvents.job.id });
          return replayJob.status === 'SUCCEEDED' && replayJob;
        }, 30_000);
        expect(job).toMatchObject({ total: 1, processed: 1, created: 1 });
        const rows = await apiSql<{ event_id: string; n: number }[]>`
          select event_id, count(*)::int as n from deliveries where endpoint_id = ${endpoint} group by event_id order by event_id`;
        // The earlier event: its publish's delivery and the job's; the later one: its publish's delivery only.
        expect(rows).toEqual([
          { event_id: before, n: 2 },
          { event_id: after, n: 1 },
        ]);
      } finally {
        await worker.stop();
      }
    } finally {
      await apiSql.end();
      await api.stop();
    }
  });
});

describe('replay jobs of a token revoked meanwhile', () => {
  it('stop FAILED at their next page, creating nothing more, once the token that asked for them is revoked', async () => {
    // As above: an api process takes the request, the job waits for a worker process, started after the revocation.
    const api = await startTestApp({ LOG_LEVEL: 'error', HOOKLINE_ROLE: 'api' });
    const apiSql = openSql(api.database.url);
    try {
      const teamId = (await api.gql.ok('mutation { createTeam(name: "revoked later") { id } }')).createTeam.id;
      const { createApiToken } = await api.gql.ok(
        'mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id } } }',
        { input: { name: 'leaked', role: 'EDITOR', teamId } },
      );
      const editor = api.gql.as(createApiToken.token);
      const { webhook } = await createWebhook(editor, {
        name: 'revoked asker',
        endpoints: [{ url: `${receiver.url}/revoked-asker` }],
        triggers: [{ resource: 'revoked', event: 'item' }],
      });
      const endpoint = webhook.endpoints[0].id;
      // Published while the webhook is stopped: no delivery of their own, so any delivery would be the job's.
      await editor.ok('mutation ($id: ID!) { setWebhookState(id: $id, state: STOPPED) { id } }', { id: webhook.id });
      await editor.ok(PUBLISH_MANY, { inputs: [1, 2, 3].map((i) => ({ type: 'revoked.item', data: { i } })) });
      await editor.ok('mutation ($id: ID!) { setWebhookState(id: $id, state: ACTIVE) { id } }', { id: webhook.id });
      const { redeliverEvents } = await editor.ok(REDELIVER, { input: { endpointId: endpoint } });
      await api.gql.ok('mutation ($id: ID!) { revokeApiToken(id: $id) { apiToken { revokedAt } } }', { id: createApiToken.apiToken.id });

      const worker = await startTestApp({ LOG_LEVEL: 'error', HOOKLINE_ROLE: 'worker', HOOKLINE_POLL_INTERVAL: '200ms' }, { database: api.database });
      try {
        const job = await eventually(async () => {
          const { replayJob } = await api.gql.ok(JOB, { id: redeliverEvents.job.id });
          return ['SUCCEEDED', 'FAILED'].includes(replayJob.status) && replayJob;
        }, 30_000);
        expect(job).toMatchObject({ status: 'FAILED', created: 0, error: expect.stringMatching(/token .*revoked/) });
        expect(await apiSql`select id from deliveries where endpoint_id = ${endpoint}`).toHaveLength(0);
      } finally {
        await worker.stop();
      }
    } finally {
      await apiSql.end();
      await api.stop();
    }
  });
});
