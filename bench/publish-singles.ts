/**
 * `npx tsx bench/publish-singles.ts`: the single-publish path alone. An api-only Hookline process (no worker) in a
 * fresh database; `CONNECTIONS` (16) loops each sending `publishEvent` one after another for `SECONDS` (5); prints
 * publishes/s, latency, and the Hookline process's CPU time and the database's commits per publish. `PROF=<dir>` writes a CPU profile of the process.
 */
import postgres from 'postgres';
import { gqlClient, processCpuMs, startHookline } from './hookline.js';
import { freshDatabase, messages, nowMs, round, summarize } from './lib.js';

const CONNECTIONS = Number(process.env.CONNECTIONS ?? 16);
const SECONDS = Number(process.env.SECONDS ?? 5);
const db = await freshDatabase('publish_singles');
const hookline = await startHookline(db.url, { HOOKLINE_ROLE: 'api' }, process.env.PROF);
const client = gqlClient(hookline.url, hookline.token);
const stats = postgres(db.url, { max: 1 });
const commits = async () =>
  Number((await stats`select xact_commit from pg_stat_database where datname = current_database()`)[0].xact_commit);
try {
  await client.gql('mutation ($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }', {
    input: { name: 'publish', endpoints: [{ url: 'http://127.0.0.1:9/none' }], triggers: [{ resource: 'bench', event: '*' }] },
  });
  const query = 'mutation ($input: PublishEventInput!) { publishEvent(input: $input) { duplicate } }';
  const pool = messages('ps_', 200_000);
  let next = 0;
  const latencies: number[] = [];
  const publishOne = async () => {
    const m = pool[next++];
    const started = nowMs();
    await client.gql(query, { input: { type: 'bench.message', data: m.data, idempotencyKey: m.id } });
    return nowMs() - started;
  };
  for (let i = 0; i < 200; i++) await publishOne(); // warm-up
  const c0 = await commits();
  const cpu0 = processCpuMs(hookline.pid);
  const end = nowMs() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (nowMs() < end) latencies.push(await publishOne());
    }),
  );
  const cpu1 = processCpuMs(hookline.pid);
  const c1 = await commits();
  const s = summarize(latencies);
  console.log(
    `publishEvent × ${CONNECTIONS} connections: ${Math.round(latencies.length / SECONDS)}/s, p50 ${s.p50} ms, p99 ${s.p99} ms, ` +
      `${round(((cpu1 - cpu0) * 1000) / latencies.length, 0)} µs CPU and ${round((c1 - c0) / latencies.length, 2)} commits per publish`,
  );
} finally {
  await stats.end();
  await client.close();
  await hookline.stop();
  await db.drop();
}
