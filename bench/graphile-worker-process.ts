/** The graphile-worker process of the bench (forked by bench/graphile-worker.ts): one task, `deliver`. */
import { createHmac, randomUUID } from 'node:crypto';
import { Logger, run } from 'graphile-worker';
import { Agent, request } from 'undici';

const setting = JSON.parse(process.env.BENCH_SETTING!);
const key = Buffer.from(process.env.WEBHOOK_SECRET!.replace(/^whsec_/, ''), 'base64');
const agent = new Agent({ connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
const logger = new Logger(() => (level, message) => {
  if (level === 'error' && !/receiver answered|Failed task/.test(message)) console.error(`[graphile-worker] ${message}`);
});

type Job = { url: string; type: string; id: string; data: Record<string, unknown>; eventId?: string };

/** POSTs the Standard Webhooks-signed envelope; throws unless 2xx. The webhook-id stays the same on retries. */
async function deliver(job: Job) {
  const id = job.eventId!;
  const body = JSON.stringify({ event_id: id, event_type: job.type, event_time: new Date().toISOString(), data: job.data });
  const ts = Math.floor(Date.now() / 1000).toString();
  const signature = 'v1,' + createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
  const res = await request(job.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': signature },
    body,
    dispatcher: agent,
  });
  await res.body.dump();
  if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`receiver answered HTTP ${res.statusCode}`);
}

const runner = await run({
  connectionString: process.env.DATABASE_URL,
  concurrency: setting.concurrency,
  maxPoolSize: setting.concurrency + 2,
  pollInterval: 2000,
  noHandleSignals: true,
  logger,
  crontab: '',
  preset: {
    worker: {
      localQueue: { size: setting.localQueueSize },
      completeJobBatchDelay: setting.completeJobBatchDelay,
      failJobBatchDelay: setting.failJobBatchDelay,
    },
  },
  taskList: {
    deliver: async (payload, helpers) => {
      const job = payload as Job;
      job.eventId ??= `evt_${randomUUID()}`;
      try {
        await deliver(job);
      } catch {
        await helpers.addJob('deliver', job); // immediate retry, same webhook-id
      }
    },
  },
});
process.send!({ ready: true });
process.on('message', async (m: { stop?: boolean }) => {
  if (!m?.stop) return;
  await runner.stop();
  await agent.close();
  process.exit(0);
});
process.on('disconnect', () => process.exit(0));
