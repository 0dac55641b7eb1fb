/**
 * Hookline under test: `node bin/hookline.js serve` as a child process against its own fresh database; events enter
 * through the public GraphQL API only (publishEvents in requests under the 1 MiB body limit, one in flight, and
 * publishEvent singles), exactly like ../shared/bench-peers/src/adapters/hookline.mjs.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { ROOT, settings, type Message, type System } from './lib.js';

const EVENT_TYPE = 'bench.message';
const BODY_LIMIT = 1024 * 1024;
const Q_CREATE = `mutation ($input: CreateWebhookInput!) {
  createWebhook(input: $input) { secret webhook { id state } }
}`;
const Q_ONE = 'mutation ($input: PublishEventInput!) { publishEvent(input: $input) { duplicate } }';
const Q_MANY = 'mutation ($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { results { duplicate } } }';
const MANY_HEAD = `{"query":${JSON.stringify(Q_MANY)},"variables":{"inputs":[`;
const ONE_HEAD = `{"query":${JSON.stringify(Q_ONE)},"variables":{"input":`;

const input = (m: Message, type: string) => JSON.stringify({ type, data: m.data, idempotencyKey: `${type}:${m.id}` });

export type HookProcess = { url: string; token: string; pid: number; stop: () => Promise<{ cpuMs: number }> };

/** Starts `hookline serve`; resolves once it printed its GraphQL URL. `extraEnv` e.g. HOOKLINE_ROLE=api. */
export async function startHookline(databaseUrl: string, extraEnv: Record<string, string> = {}, cpuProf?: string) {
  const token = `hl_bench_${randomBytes(16).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-bench-'));
  const node = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [];
  const child = spawn(process.execPath, [...node, 'bin/hookline.js', 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      DATABASE_URL: databaseUrl,
      HOOKLINE_ADMIN_TOKEN: token,
      HOOKLINE_DATA_DIR: dataDir,
      HOOKLINE_ALLOW_PRIVATE_TARGETS: '1',
      // The smallest delay the schedule syntax allows, 25 retries (as the shared harness).
      HOOKLINE_RETRY_SCHEDULE: Array(25).fill('0ms').join(','),
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      ...(JSON.parse(process.env.BENCH_HOOKLINE_ENV ?? '{}') as Record<string, string>),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output = (output + c).slice(-20_000)));
  child.stderr.on('data', (c) => (output = (output + c).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    const cpuMs = processCpuMs(child.pid!);
    if (child.exitCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(killer);
    rmSync(dataDir, { recursive: true, force: true });
    return { cpuMs };
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const match = /GraphQL:\s+(http:\/\/\S+)\/graphql/.exec(output);
    if (match) return { url: match[1], token, pid: child.pid!, stop } satisfies HookProcess;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`hookline did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** utime + stime of a running process, ms (Linux /proc, 100 clock ticks/s); 0 if it is gone. */
export function processCpuMs(pid: number) {
  let st: string;
  try {
    st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** A GraphQL client over one undici pool (16 connections, like the peers' producer pool). */
export function gqlClient(base: string, token: string) {
  const agent = new Agent({ connections: 16, pipelining: 1, keepAliveTimeout: 30_000 });
  const text = async (body: string) => {
    const res = await request(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
      dispatcher: agent,
    });
    const json = (await res.body.json()) as { data?: any; errors?: { message: string }[] };
    if (json.errors?.length || res.statusCode !== 200 || !json.data)
      throw new Error(`GraphQL HTTP ${res.statusCode}: ${JSON.stringify(json.errors ?? json).slice(0, 500)}`);
    return json.data;
  };
  return {
    text,
    gql: (query: string, variables: unknown) => text(JSON.stringify({ query, variables })),
    close: () => agent.close(),
  };
}

export async function hooklineSystem(databaseUrl: string, sinkUrl: string, cpuProf?: string): Promise<System> {
  const proc = await startHookline(databaseUrl, {}, cpuProf);
  const client = gqlClient(proc.url, proc.token);
  const createWebhook = async (name: string, url: string, resource: string) => {
    const { createWebhook: c } = await client.gql(Q_CREATE, {
      input: {
        name,
        secret: settings.secret,
        // No per-endpoint cap in effect (the highest maxConcurrency; default 8), as the peer has none: W1–W3 go to
        // one receiver. A cap equal to the worker's concurrency would bind too: finished sends hold their lease
        // until settled, and the worker claims for a capped endpoint only after a settle.
        endpoints: [{ kind: 'HTTP', url, method: 'POST', timeoutMs: 10_000, maxConcurrency: 1000 }],
        triggers: [{ resource, event: '*' }],
      },
    });
    if (c.secret !== settings.secret || c.webhook.state !== 'ACTIVE') throw new Error(`createWebhook: ${JSON.stringify(c)}`);
  };
  await createWebhook('bench', `${sinkUrl}/hook`, 'bench');
  let duplicates = 0;
  const check = (results: { duplicate: boolean }[], n: number) => {
    if (results.length !== n) throw new Error(`publishEvents: ${results.length} results for ${n} inputs`);
    duplicates += results.filter((r) => r.duplicate).length;
    if (duplicates) throw new Error('publish answered duplicate: true for a new idempotencyKey');
  };
  return {
    name: 'hookline',
    sinkUrl,
    async enqueueBatch(msgs, type = EVENT_TYPE) {
      // Split under the body limit, sent one after another (the peers have one enqueue statement in flight).
      let items: string[] = [];
      let bytes = MANY_HEAD.length + 4;
      const flush = async () => {
        const data = await client.text(MANY_HEAD + items.join(',') + ']}}');
        check(data.publishEvents.results, items.length);
        items = [];
        bytes = MANY_HEAD.length + 4;
      };
      for (const m of msgs) {
        const s = input(m, type);
        if (items.length && bytes + Buffer.byteLength(s) + 1 >= BODY_LIMIT) await flush();
        items.push(s);
        bytes += Buffer.byteLength(s) + 1;
      }
      if (items.length) await flush();
    },
    async enqueueOne(m) {
      const data = await client.text(ONE_HEAD + input(m, EVENT_TYPE) + '}}');
      check([data.publishEvent], 1);
    },
    async prepareFanOut(webhooks) {
      const paths = Array.from({ length: webhooks }, (_, i) => `/fan/${i}`);
      for (const [i, path] of paths.entries()) await createWebhook(`fan ${i}`, sinkUrl + path, 'fan');
      return { eventType: 'fan.out', paths };
    },
    async stop() {
      await client.close();
      return proc.stop();
    },
  };
}
