/**
 * Shared pieces of `npm run bench`: settings, the ~1 KB event data, the sink control calls, fresh databases and
 * percentiles. The workloads follow ../shared/bench-peers (same sizes, same sink accounting).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

export const quick = process.argv.includes('--quick');
export const profile = process.argv.includes('--profile');
const env = process.env;
const num = (name: string, full: number, short: number) => Number(env[name] ?? (quick ? short : full));

export const settings = {
  adminUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  secret: env.WEBHOOK_SECRET ?? 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  sinkPort: Number(env.SINK_PORT ?? 18090),
  w1Messages: num('W1_MESSAGES', 20_000, 5_000),
  chunk: 1000,
  w2Rate: num('W2_RATE', 1000, 1000),
  w2Seconds: num('W2_SECONDS', 15, 5),
  w2MaxInflight: 256,
  w3Messages: num('W3_MESSAGES', 5_000, 1_000),
  w3FailRate: 0.2,
  fanWebhooks: num('FAN_WEBHOOKS', 50, 50),
  fanEvents: num('FAN_EVENTS', 400, 100),
  warmup: num('WARMUP_MESSAGES', 1000, 500),
  readsWebhooks: 100,
  readsSeconds: num('READS_SECONDS', 10, 3),
  subscribers: num('BENCH_SUBSCRIBERS', 200, 50),
  subscriptionUpdates: num('BENCH_UPDATES', 1000, 300),
  graceMs: quick ? 1000 : 2000,
  timeoutS: 180,
};

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const nowMs = () => performance.timeOrigin + performance.now();
export const round = (x: number | null | undefined, d = 1) =>
  x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 10 ** d) / 10 ** d;

export type Summary = { n: number; p50?: number; p95?: number; p99?: number; max?: number };
export function summarize(values: number[]): Summary {
  const a = Float64Array.from(values).sort();
  if (!a.length) return { n: 0 };
  const at = (p: number) => round(a[Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1))])!;
  return { n: a.length, p50: at(50), p95: at(95), p99: at(99), max: round(a[a.length - 1])! };
}

const PAD = 'x'.repeat(760);
/** A message's event data (~1 KB once wrapped in an envelope); `msg_id` is what the sink counts. */
export function eventData(msgId: string, seq: number) {
  return {
    enqueued_at: 0,
    seq,
    customer_id: `cus_${(seq * 7919) % 100000}`,
    invoice_id: `in_${seq.toString(36).padStart(8, '0')}`,
    amount_due: 1000 + (seq % 5000),
    currency: 'eur',
    lines: [
      { sku: 'plan-pro-monthly', qty: 1, unit_amount: 4900 },
      { sku: 'seat-addon', qty: 3, unit_amount: 900 },
    ],
    note: PAD,
    msg_id: msgId,
  };
}
export type Message = { id: string; path: string; data: ReturnType<typeof eventData> };
export function messages(prefix: string, n: number, path = '/hook'): Message[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, path, data: eventData(`${prefix}${i}`, i) }));
}

/** What each system must do: enqueue batches (one request in flight) and singles. */
export interface System {
  name: string;
  sinkUrl: string;
  enqueueBatch(msgs: Message[], eventType?: string): Promise<void>;
  enqueueOne(msg: Message): Promise<void>;
  /** Sets up the fan-out workload: `webhooks` receivers (sink paths /fan/<i>) for one event type. */
  prepareFanOut(webhooks: number): Promise<{ eventType: string; paths: string[] }>;
  stop(): Promise<{ cpuMs: number }>;
}

// ---- sink ----
export type SinkStats = {
  requests: number;
  ok: number;
  failed: number;
  uniqueOk: number;
  duplicatesOk: number;
  firstArrival: number | null;
  lastFirstOk: number | null;
  latencyMs: Summary;
  sigChecked: number;
  sigBad: number;
  idMissing: number;
  headerIdChanged: number;
  cpuMs: number;
};
const sinkBase = () => `http://127.0.0.1:${settings.sinkPort}`;
async function sinkCall<T>(path: string, method = 'GET'): Promise<T> {
  const res = await fetch(sinkBase() + path, { method });
  if (!res.ok) throw new Error(`sink ${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}
export const resetSink = (fail: number, prefix: string) =>
  sinkCall(`/__reset?fail=${fail}&prefix=${encodeURIComponent(prefix)}`, 'POST');
export const sinkStats = () => sinkCall<SinkStats>('/__stats');

export async function startSink(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./sink.ts', import.meta.url)), [String(settings.sinkPort)], {
    execArgv: ['--import', 'tsx'],
    env: { ...env, WEBHOOK_SECRET: settings.secret },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`sink exited with ${code}`)));
  });
  return {
    url: sinkBase(),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Polls the sink until `n` distinct messages were accepted (or the timeout). */
export async function waitForUnique(n: number, since: number, timeoutS = settings.timeoutS) {
  for (;;) {
    const st = await sinkStats();
    if (st.uniqueOk >= n || nowMs() > since + timeoutS * 1000) return st;
    await sleep(50);
  }
}

// ---- databases ----
/** Drops and creates `hookline_bench_<name>`; returns its URL and a drop function. */
export async function freshDatabase(name: string) {
  const db = `hookline_bench_${name}`;
  const admin = postgres(settings.adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${db}" with (force)`);
    await admin.unsafe(`create database "${db}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(settings.adminUrl);
  url.pathname = `/${db}`;
  return {
    url: url.toString(),
    drop: async () => {
      const a = postgres(settings.adminUrl, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists "${db}" with (force)`).finally(() => a.end());
    },
  };
}

/** Whole-machine CPU busy % between two samples of /proc/stat. */
export function cpuSample() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3] + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
}
export const cpuBusyPct = (a: ReturnType<typeof cpuSample>, b: ReturnType<typeof cpuSample>) =>
  round(100 * (1 - (b.idle - a.idle) / (b.total - a.total)));
