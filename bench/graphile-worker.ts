/**
 * graphile-worker 0.17.3 as the peer, with its best setting from ../shared/bench-peers/results/RESULTS.md
 * (concurrency 64, local queue 500, completeJobBatchDelay/failJobBatchDelay 50 ms). Producer here: addJobs batches
 * of 1,000 and addJob singles. The worker is its own process (bench/graphile-worker-process.ts), whose task POSTs
 * the same kind of signed ~1 KB body with undici. Its retry delay cannot be set below exp(attempts) s, so a failed
 * POST is re-added at once as a new job (the shared harness's "best+requeue", the peer's equivalent of `0ms`).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Logger, makeWorkerUtils, runMigrations, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import { processCpuMs } from './hookline.js';
import { settings, type Message, type System } from './lib.js';

const silent = new Logger(() => () => {});
export const GRAPHILE_SETTING = { concurrency: 64, localQueueSize: 500, completeJobBatchDelay: 50, failJobBatchDelay: 50 };

/** The job payload: where to POST and the event (the task builds and signs the body). */
const job = (m: Message, type: string, sinkUrl: string) => ({ url: sinkUrl + m.path, type, data: m.data, id: m.id });

export async function graphileSystem(databaseUrl: string, sinkUrl: string): Promise<System> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 16 });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  await runMigrations({ pgPool: pool, logger: silent });
  const utils: WorkerUtils = await makeWorkerUtils({ pgPool: pool, logger: silent });
  const child = fork(fileURLToPath(new URL('./graphile-worker-process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, DATABASE_URL: databaseUrl, WEBHOOK_SECRET: settings.secret, BENCH_SETTING: JSON.stringify(GRAPHILE_SETTING) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`graphile-worker process exited with ${code}`)));
  });
  const system: System = {
    name: 'graphile-worker',
    sinkUrl,
    async enqueueBatch(msgs, type = 'bench.message') {
      await utils.addJobs(msgs.map((m) => ({ identifier: 'deliver', payload: job(m, type, sinkUrl) })));
    },
    async enqueueOne(m) {
      await utils.addJob('deliver', job(m, 'bench.message', sinkUrl));
    },
    // Application-level fan-out: the producer adds one job per receiver.
    async prepareFanOut(webhooks) {
      const paths = Array.from({ length: webhooks }, (_, i) => `/fan/${i}`);
      const base = system.enqueueBatch;
      system.enqueueBatch = async (msgs, type) => {
        const jobs = msgs.flatMap((m) => paths.map((path) => ({ ...m, path })));
        for (let i = 0; i < jobs.length; i += settings.chunk) await base(jobs.slice(i, i + settings.chunk), type);
      };
      return { eventType: 'fan.out', paths };
    },
    async stop() {
      const cpuMs = processCpuMs(child.pid!);
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.send({ stop: true });
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      });
      await utils.release();
      await pool.end();
      return { cpuMs };
    },
  };
  return system;
}
