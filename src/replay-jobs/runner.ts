import type { Logger } from 'pino';
import { isDatabaseUnavailable, type Db, type Sql } from '../db/client.js';
import { leaseHolderId } from '../ids.js';
import {
  claimJob,
  countRedeliverTotal,
  failJob,
  JOBS_CHANNEL,
  releaseJob,
  runRedeliverPage,
  runReplayDeliveriesPage,
  type ClaimedJob,
  type PageOutcome,
} from './queries.js';

export interface RunnerOptions {
  sql: Sql;
  db: Db;
  logger: Logger;
  /** A job whose runner stops renewing its lease for this long is taken over by another runner. */
  leaseMs: number;
  /** How often an idle runner looks for jobs (a new job wakes it at once; this finds expired leases). */
  pollMs: number;
  /** Events per transaction. */
  pageSize?: number;
}

const DEFAULT_PAGE_SIZE = 500;

/**
 * Runs replay jobs, one at a time per process, in worker processes (beside the delivery worker). Woken by NOTIFY
 * hookline_replay_jobs and by polling; each page is one transaction that also renews the lease, so a crash loses
 * at most the page in progress (rolled back) and another runner resumes from the cursor once the lease runs out.
 */
export class ReplayJobRunner {
  private readonly owner = leaseHolderId();
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private unlisten: (() => Promise<void>) | undefined;

  constructor(private readonly options: RunnerOptions) {}

  async start(): Promise<void> {
    const listening = await this.options.sql.listen(JOBS_CHANNEL, () => this.wake(), () => this.wake());
    this.unlisten = listening.unlisten;
    this.running = this.run();
  }

  /** Finishes the page in progress, gives the job back (its lease ends now) and stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.running;
    await this.unlisten?.().catch(() => {});
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  private async run(): Promise<void> {
    const { sql, logger, leaseMs, pollMs } = this.options;
    while (!this.stopping) {
      let job: ClaimedJob | undefined;
      try {
        job = await claimJob(sql, this.owner, leaseMs);
        if (job) await this.runJob(job);
      } catch (err) {
        logger.error({ err, job: job?.id }, 'replay job runner: error; trying again shortly');
      }
      if (job || this.stopping) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async runJob(job: ClaimedJob): Promise<void> {
    const { sql, db, logger, leaseMs, pageSize = DEFAULT_PAGE_SIZE } = this.options;
    logger.info({ job: job.id, kind: job.kind }, 'replay job started');
    try {
      // A replayDeliveries job knows its total when it is made; a redeliverEvents job counts it once, here.
      if (job.total === null) await countRedeliverTotal(sql, job.id);
      const runPage =
        job.kind === 'REDELIVER_EVENTS'
          ? () => runRedeliverPage(sql, job.id, this.owner, pageSize, leaseMs)
          : () => runReplayDeliveriesPage(db, job.id, this.owner, pageSize, leaseMs);
      let outcome: PageOutcome = 'more';
      while (outcome === 'more' && !this.stopping) outcome = await runPage();
      if (outcome === 'more') await releaseJob(sql, job.id, this.owner);
      logger.info({ job: job.id, outcome }, 'replay job ' + (outcome === 'more' ? 'given back' : 'ended'));
    } catch (err) {
      // A page that fails rolls back alone. A database that went away is waited out: the lease runs out and a
      // runner resumes the job from its cursor. Anything else ends the job FAILED rather than retrying forever.
      if (isDatabaseUnavailable(err)) {
        logger.warn({ err: String(err), job: job.id }, 'replay job interrupted: the database is not reachable; it resumes later');
        return;
      }
      logger.error({ err, job: job.id }, 'replay job failed');
      await failJob(sql, job.id, this.owner, err instanceof Error ? err.message : String(err));
    }
  }
}
