/**
 * `npx tsx bench/publish-batch.ts`: the publish side alone. An api-only Hookline process (no worker) in a fresh
 * database; 25 `publishEvents` requests of 900 events (~1 MB, under the 1 MiB body limit), one after another;
 * prints the median time per request. `PROF=<dir>` also writes a CPU profile of the process there.
 */
import { gqlClient, startHookline } from './hookline.js';
import { freshDatabase, messages } from './lib.js';

const EVENTS = 900;
const db = await freshDatabase('publish_batch');
const hookline = await startHookline(db.url, { HOOKLINE_ROLE: 'api' }, process.env.PROF);
const client = gqlClient(hookline.url, hookline.token);
try {
  await client.gql('mutation ($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }', {
    input: { name: 'publish', endpoints: [{ url: 'http://127.0.0.1:9/none' }], triggers: [{ resource: 'bench', event: '*' }] },
  });
  const query = 'mutation ($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { results { duplicate } } }';
  const times: number[] = [];
  for (let round = 0; round < 25; round++) {
    const inputs = messages(`pb${round}_`, EVENTS).map((m) => ({ type: 'bench.message', data: m.data, idempotencyKey: m.id }));
    const body = JSON.stringify({ query, variables: { inputs } });
    const started = performance.now();
    await client.text(body);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1];
  console.log(`publishEvents(${EVENTS}): median ${median.toFixed(0)} ms, min ${times[0].toFixed(0)} ms → ${Math.round((EVENTS / median) * 1000)} events/s`);
} finally {
  await client.close();
  await hookline.stop();
  await db.drop();
}
