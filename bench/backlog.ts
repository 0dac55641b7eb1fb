/**
 * A backlog of 200,000 deliveries (--quick: 20,000; BACKLOG_SIZE) for one endpoint whose receiver was down: the
 * endpoint is TOO_MANY_ERRORS, as auto-disable leaves it, with its deliveries held. Then the receiver (the sink) is
 * back and setEndpointState(ACTIVE) releases them. Measured:
 * - the worker's memory: its own `hookline serve` process (HOOKLINE_ROLE=worker), RSS before the drain, sampled
 *   during it, and its peak (VmHWM);
 * - the drain rate (deliveries/s from the release to the last first acceptance at the sink) and duplicates;
 * - the order: how far from its place in due order any delivery's first attempt started;
 * - the console's webhooks-page query (bench/reads.ts) against an api process meanwhile, one after another.
 * The backlog is written with SQL (generate_series) rather than published: publishing is what W1 measures, and
 * 200,000 events through publishEvents would take minutes here. Its endpoint has maxConcurrency 64
 * (BACKLOG_MAX_CONCURRENCY), the worker's slot count, so that the drain shows the worker's rate, not the cap's.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { spawnHookline } from '../test/helpers/processes.js';
import { gqlClient, startHookline } from './hookline.js';
import { freshDatabase, nowMs, quick, resetSink, round, settings, sinkStats, sleep, summarize } from './lib.js';
import { WEBHOOKS_PAGE_QUERY } from './reads.js';

const SIZE = Number(process.env.BACKLOG_SIZE ?? (quick ? 20_000 : 200_000));
const MAX_CONCURRENCY = Number(process.env.BACKLOG_MAX_CONCURRENCY ?? 64);
const PROBE_EVERY_MS = 100;

/** VmRSS and VmHWM (peak) of a process, MB. */
function memory(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: round(kb('VmRSS') / 1024, 1)!, peakMb: round(kb('VmHWM') / 1024, 1)! };
}

export async function measureBacklog(sinkUrl: string) {
  const db = await freshDatabase('backlog');
  const api = await startHookline(db.url, { HOOKLINE_ROLE: 'api' });
  const client = gqlClient(api.url, api.token);
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  const prefix = `bl_${Date.now().toString(36)}_`;
  let worker: ReturnType<typeof spawnHookline> | undefined;
  try {
    const { createWebhook } = await client.gql(
      'mutation ($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id endpoints { id } } } }',
      {
        input: {
          name: 'backlog',
          secret: settings.secret,
          endpoints: [{ url: `${sinkUrl}/backlog`, maxConcurrency: MAX_CONCURRENCY }],
          triggers: [{ resource: 'backlog', event: '*' }],
        },
      },
    );
    const webhookId: string = createWebhook.webhook.id;
    const endpointId: string = createWebhook.webhook.endpoints[0].id;

    // The held backlog, due one millisecond apart in seq order (so due order is seq order), all due already.
    const t0 = nowMs();
    await sql`update endpoints set state = 'TOO_MANY_ERRORS', consecutive_failures = 20 where id = ${endpointId}`;
    await sql`insert into events (id, type, occurred_at, data)
              select 'evt_bl_' || lpad(i::text, 7, '0'), 'backlog.item', now(),
                     jsonb_build_object('msg_id', ${prefix}::text || i, 'seq', i, 'enqueued_at', 0, 'note', repeat('x', 760))
                from generate_series(1, ${SIZE}::int) i`;
    await sql`insert into deliveries (id, event_id, webhook_id, endpoint_id, status, next_attempt_at)
              select 'dlv_bl_' || lpad(i::text, 7, '0'), 'evt_bl_' || lpad(i::text, 7, '0'), ${webhookId}, ${endpointId},
                     'PENDING', now() - interval '1 hour' + i * interval '1 millisecond'
                from generate_series(1, ${SIZE}::int) i`;
    await sql`analyze`;
    const writeS = round((nowMs() - t0) / 1000, 1);

    worker = spawnHookline({
      HOOKLINE_ROLE: 'worker',
      DATABASE_URL: db.url,
      HOOKLINE_DATA_DIR: mkdtempSync(join(tmpdir(), 'hookline-bench-worker-')),
      HOOKLINE_ADMIN_TOKEN: api.token,
      HOOKLINE_ALLOW_PRIVATE_TARGETS: '1',
      HOOKLINE_SHUTDOWN_GRACE: '2s',
      ...(JSON.parse(process.env.BENCH_HOOKLINE_ENV ?? '{}') as Record<string, string>),
    });
    await worker.url;
    const pid = worker.child.pid!;
    await sleep(1000); // settled after start: the baseline
    const before = memory(pid);

    await resetSink(0, prefix);
    const released = nowMs();
    await client.gql('mutation ($id: ID!) { setEndpointState(id: $id, state: ACTIVE) { state } }', { id: endpointId });

    const rss: number[] = [];
    const probe: number[] = [];
    let done = false;
    const probing = (async () => {
      const body = JSON.stringify({ query: WEBHOOKS_PAGE_QUERY, variables: { first: 100 } });
      while (!done) {
        const start = nowMs();
        await client.text(body);
        probe.push(nowMs() - start);
        rss.push(memory(pid).rssMb);
        await sleep(Math.max(0, start + PROBE_EVERY_MS - nowMs()));
      }
    })();
    const deadline = released + Math.max(180, SIZE / 100) * 1000;
    let st = await sinkStats();
    while (st.uniqueOk < SIZE && nowMs() < deadline) {
      await sleep(250);
      st = await sinkStats();
    }
    done = true;
    await probing;
    const peak = memory(pid);
    const spanS = ((st.uniqueOk >= SIZE ? st.lastFirstOk! : nowMs()) - released) / 1000;

    /* Each delivery's place when first attempts are ordered by start time, against its place in due order. */
    const [order] = await sql<{ maxDisplacement: number; outOfPlace: number }[]>`
      select coalesce(max(abs(by_start - by_due)), 0)::int as "maxDisplacement",
             count(*) filter (where by_start <> by_due)::int as "outOfPlace"
        from (select row_number() over (order by a.started_at, d.id) as by_start,
                     row_number() over (order by d.id) as by_due
                from deliveries d
                join delivery_attempts a on a.delivery_id = d.id and a.number = 1
               where d.endpoint_id = ${endpointId}) x`;
    return {
      backlog: SIZE,
      maxConcurrency: MAX_CONCURRENCY,
      writeS,
      delivered: st.uniqueOk,
      complete: st.uniqueOk >= SIZE,
      duplicates: st.duplicatesOk,
      drainS: round(spanS, 1),
      deliveriesPerS: round(st.uniqueOk / spanS, 0),
      workerRssMb: { beforeDrain: before.rssMb, duringDrainMax: Math.max(...rss), peak: peak.peakMb },
      order,
      webhooksPageDuringDrainMs: summarize(probe),
    };
  } finally {
    if (worker && worker.child.exitCode === null) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    await sql.end();
    await client.close();
    await api.stop();
    await db.drop();
  }
}
