/**
 * GraphQL reads: the console's webhooks-page query (console/src/pages/Webhooks.tsx with health) over 100 webhooks.
 * Requests/s: autocannon against an api process on a direct database connection. SQL statements per request: a
 * second api process reaches Postgres through a counting TCP proxy (counts the Execute and simple Query messages
 * the client sends), so counting costs nothing in the measured run.
 */
import net from 'node:net';
import autocannon from 'autocannon';
import { gqlClient, startHookline } from './hookline.js';
import { round, settings } from './lib.js';

export const WEBHOOKS_PAGE_QUERY = `query Webhooks($first: Int, $after: String, $state: State, $search: String) {
  webhooks(first: $first, after: $after, state: $state, search: $search) {
    edges { node {
      id name description ownerLogin forLogin state
      team { id name }
      endpoints { id state }
      health { ...HealthNumbers }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
fragment HealthNumbers on WebhookHealth {
  webhookId updatedAt pendingCount endpoints { id state }
  attemptCount1h successRate1h p50LatencyMs1h p95LatencyMs1h
  attemptCount24h successRate24h p50LatencyMs24h p95LatencyMs24h
}`;

/** A TCP proxy to Postgres counting the statements clients send (frontend 'E' Execute and 'Q' Query messages). */
export async function countingProxy(target: URL) {
  let statements = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    let buf = Buffer.alloc(0);
    let started = false; // the startup message has no type byte
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (!started) {
          if (buf.length < 8) break;
          const len = buf.readInt32BE(0);
          if (buf.length < len) break;
          const code = buf.readInt32BE(4);
          buf = buf.subarray(len);
          if (code !== 80877103) started = true; // SSLRequest comes before the real startup message
          continue;
        }
        if (buf.length < 5) break;
        const len = buf.readInt32BE(1);
        if (buf.length < len + 1) break;
        const type = String.fromCharCode(buf[0]);
        if (type === 'E' || type === 'Q') statements++;
        buf = buf.subarray(len + 1);
      }
    });
    upstream.on('data', (c) => client.write(c));
    const end = () => (client.destroy(), upstream.destroy());
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return { url: url.toString(), count: () => statements, close: () => new Promise((r) => server.close(r)) };
}

/** Creates webhooks until there are 100 (each with two endpoints and two triggers), then measures. */
export async function measureReads(databaseUrl: string) {
  const api = await startHookline(databaseUrl, { HOOKLINE_ROLE: 'api' });
  const client = gqlClient(api.url, api.token);
  const existing = (await client.gql(WEBHOOKS_PAGE_QUERY, { first: 100 })).webhooks.edges.length as number;
  for (let i = existing; i < settings.readsWebhooks; i++) {
    await client.gql('mutation ($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }', {
      input: {
        name: `reads ${i}`,
        endpoints: [{ url: `http://127.0.0.1:9/a/${i}` }, { url: `http://127.0.0.1:9/b/${i}` }],
        triggers: [{ resource: 'reads', event: 'a' }, { resource: 'reads', event: 'b' }],
      },
    });
  }
  const body = JSON.stringify({ query: WEBHOOKS_PAGE_QUERY, variables: { first: 100 } });
  const page = await client.text(body);
  if (page.webhooks.edges.length !== settings.readsWebhooks) throw new Error(`webhooks page: ${page.webhooks.edges.length} rows`);
  await client.close();

  const result = await autocannon({
    url: `${api.url}/graphql`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${api.token}` },
    body,
    connections: 8,
    duration: settings.readsSeconds,
  });
  await api.stop();

  // Statements per request, through the counting proxy (sequential requests, after one warm-up).
  const proxy = await countingProxy(new URL(databaseUrl));
  const counted = await startHookline(proxy.url, { HOOKLINE_ROLE: 'api' });
  const c2 = gqlClient(counted.url, counted.token);
  await c2.text(body);
  const before = proxy.count();
  const N = 20;
  for (let i = 0; i < N; i++) await c2.text(body);
  const statements = (proxy.count() - before) / N;
  await c2.close();
  await counted.stop();
  await proxy.close();
  return {
    webhooks: settings.readsWebhooks,
    requestsPerS: round(result.requests.average, 0),
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
    non2xx: result.non2xx + result.errors,
    sqlStatementsPerRequest: round(statements, 1),
  };
}
