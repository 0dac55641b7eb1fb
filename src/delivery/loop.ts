import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { WORK_CHANNEL } from '../deliveries/outbox.js';
import type { Sql } from '../db/client.js';
import { jittered } from '../duration.js';
import { leaseHolderId } from '../ids.js';
import type { Mailer } from '../mail/mailer.js';
import { endpointDisabledMail } from '../mail/messages.js';
import { claimDue, releaseClaims, type ClaimedDelivery } from './claim.sql.js';
import type { AttemptResult } from './job.js';
import type { DeliveryMetrics } from './metrics.js';
import { nextRetry } from './retry.js';
import type { Sender } from './send.js';
import { disabledEndpointDetails, settleBatch, type SettleResult, type Settlement } from './settle.sql.js';

export interface WorkerOptions {
  config: Config;
  sql: Sql;
  logger: Logger;
  sender: Sender;
  mailer: Mailer;
  metrics: DeliveryMetrics;
}

/** Settlements written per transaction (also keeps each status notification small). */
const MAX_SETTLE_BATCH = 100;
/** Time kept back at shutdown for settling what finished and releasing what did not. */
const SHUTDOWN_RESERVE_MS = 1_000;
const MAX_BACKOFF_MS = 5_000;
/**
 * How long a claim waits for its batch of free slots at most. Slots held by endpoints that hang until their timeout
 * may keep the free count below the batch size for that long: the other endpoints' work must not wait for them.
 */
const CLAIM_BATCH_WAIT_MS = 50;
/** The longest lease a claim takes, beyond HOOKLINE_LEASE_MARGIN: the largest endpoint timeoutMs allowed. */
const MAX_ENDPOINT_TIMEOUT_MS = 30_000;
/**
 * Wake-up times kept (the earliest ones): a worker draining a backlog against a dead receiver schedules a retry per
 * attempt, and keeping them all would grow with the backlog. A time dropped here is found by the next poll instead.
 */
const MAX_WAKE_TIMES = 1_000;

/**
 * The delivery worker: claims due deliveries, sends them concurrently (at most HOOKLINE_WORKER_CONCURRENCY at a
 * time), settles the results in batches and shuts down without losing anything.
 *
 * It claims when woken: by NOTIFY hookline_work (new work), when a retry it scheduled comes due, when a send
 * finishes after a full claim (there is probably more), and every HOOKLINE_POLL_INTERVAL as the fallback (work
 * from other workers' retries, expired leases, missed notifications). An error is logged and retried with backoff;
 * the loop itself never stops before stop().
 */
export class DeliveryWorker {
  private readonly workerId = leaseHolderId();
  private claimCount = 0;
  private stopping = false;
  /** Cuts off sends still running when the shutdown grace period is nearly over. */
  private readonly abort = new AbortController();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Claims cut off by shutdown: released, never settled. */
  private readonly unfinished: ClaimedDelivery[] = [];
  /** Finished attempts waiting to be written, in the order they finished. */
  private readonly toSettle: Settlement[] = [];
  private flushing: Promise<void> | undefined;
  private readonly notices = new Set<Promise<void>>();

  /** Set by stop(): past it, nothing is retried any more. */
  private deadline = Infinity;
  private claimNow = true;
  private lastClaimAt = 0;
  /** When the retries this worker scheduled, and rate windows that held work back, come due (epoch ms), ascending. */
  private readonly wakeTimes: number[] = [];
  /** The wake time (in wakeTimes) for claims that may have committed although their answer was lost; 0: none. */
  private lostClaimsDue = 0;
  /** Endpoints at their maxConcurrency with more due, when this worker last claimed: a settle of theirs frees a slot. */
  private readonly saturated = new Set<string>();
  private wakeUp: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private unlisten: (() => Promise<void>) | undefined;

  constructor(private readonly options: WorkerOptions) {}

  async start(): Promise<void> {
    const { sql } = this.options;
    // The callback on (re)connect also wakes the loop: notifications sent while disconnected are lost.
    const listening = await sql.listen(WORK_CHANNEL, () => this.wake(true), () => this.wake(true));
    this.unlisten = listening.unlisten;
    this.running = this.run();
    this.options.logger.info({ worker: this.workerId }, 'delivery worker started');
  }

  /** Stops claiming; lets sends finish until shortly before `deadline` (epoch ms), settles them, releases the rest. */
  async stop(deadline: number): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.deadline = deadline;
    this.wake(false);
    await this.unlisten?.().catch(() => {});
    await this.running;

    const cutoff = deadline - SHUTDOWN_RESERVE_MS;
    await withTimeout(Promise.allSettled(this.inFlight.values()), cutoff - Date.now());
    if (this.inFlight.size > 0) {
      this.abort.abort();
      await Promise.allSettled(this.inFlight.values());
    }
    await withTimeout(this.flush(), deadline - Date.now());
    try {
      const released = await releaseClaims(this.options.sql, this.unfinished);
      if (released > 0) this.options.logger.info({ released }, 'released unfinished deliveries');
    } catch (err) {
      this.options.logger.error({ err }, 'could not release unfinished deliveries; their leases will run out');
    }
    await withTimeout(Promise.allSettled(this.notices), deadline - Date.now());
    this.options.logger.info({ worker: this.workerId }, 'delivery worker stopped');
  }

  private wake(claim: boolean): void {
    if (claim) this.claimNow = true;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    const { config, sql, logger } = this.options;
    // Claims wait for at least this many free slots, so that a busy worker claims in batches, not one by one.
    const minClaim = Math.ceil(Math.min(config.HOOKLINE_WORKER_CONCURRENCY, config.HOOKLINE_WORKER_BATCH) / 2);
    let backoff = 0;
    while (!this.stopping) {
      const free = config.HOOKLINE_WORKER_CONCURRENCY - this.inFlight.size;
      const batchAt = free >= minClaim ? 0 : free > 0 ? this.lastClaimAt + CLAIM_BATCH_WAIT_MS : Infinity;
      if (this.claimNow && Date.now() >= batchAt) {
        this.claimNow = false;
        this.lastClaimAt = Date.now();
        const limit = Math.min(free, config.HOOKLINE_WORKER_BATCH);
        try {
          const { claims, saturated, resumeInMs } = await claimDue(sql, {
            leaseOwner: `${this.workerId}:${++this.claimCount}`,
            limit,
            leaseMarginMs: config.HOOKLINE_LEASE_MARGIN,
          });
          backoff = 0;
          for (const claim of claims) this.dispatch(claim);
          for (const id of saturated) this.saturated.add(id);
          if (resumeInMs !== null) insertSorted(this.wakeTimes, Date.now() + resumeInMs);
          // A full batch: there is probably more; claim again as soon as there is room.
          if (claims.length === limit) this.claimNow = true;
        } catch (err) {
          backoff = nextBackoff(backoff);
          const wait = jittered(backoff);
          logger.error({ err, retryInMs: wait }, 'claiming deliveries failed');
          // A connection lost after the claim committed leaves rows SENDING under a lease nobody here knows of:
          // claimable again once it runs out, so claim again then, whatever the poll interval. One such wake-up,
          // moved on at each failure, covers every claim that failed before it.
          const stale = this.wakeTimes.indexOf(this.lostClaimsDue);
          if (stale !== -1) this.wakeTimes.splice(stale, 1);
          this.lostClaimsDue = Date.now() + MAX_ENDPOINT_TIMEOUT_MS + config.HOOKLINE_LEASE_MARGIN;
          insertSorted(this.wakeTimes, this.lostClaimsDue);
          await this.sleep(wait);
          this.claimNow = true;
        }
        continue;
      }
      const wakeAt = Math.min(
        this.lastClaimAt + config.HOOKLINE_POLL_INTERVAL,
        this.wakeTimes[0] ?? Infinity,
        this.claimNow ? batchAt : Infinity,
      );
      await this.sleep(wakeAt - Date.now());
      if (Date.now() >= wakeAt) {
        this.claimNow = true;
        const now = Date.now();
        const past = this.wakeTimes.findIndex((time) => time > now);
        this.wakeTimes.splice(0, past === -1 ? this.wakeTimes.length : past);
      }
    }
  }

  /** Waits `ms`, or less if woken. */
  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wakeUp = done;
    });
  }

  private dispatch(claim: ClaimedDelivery): void {
    const sending = this.options.sender
      .send(claim, this.abort.signal)
      .then((result) => {
        if (this.abort.signal.aborted) return void this.unfinished.push(claim);
        this.options.metrics.recordAttempt(claim.endpoint.kind, result.outcome, result.attempt.durationMs);
        this.settleLater(claim, result);
      })
      .catch((err) => this.options.logger.error({ err, delivery: claim.deliveryId }, 'delivery attempt crashed'))
      .finally(() => {
        this.inFlight.delete(claim.deliveryId);
        this.wake(false);
      });
    this.inFlight.set(claim.deliveryId, sending);
  }

  /** Success, a retry per the schedule (or Retry-After), or FAILED once the schedule is used up. */
  private settleLater(claim: ClaimedDelivery, result: AttemptResult): void {
    const succeeded = result.outcome === 'success';
    const retry = succeeded
      ? ({ retry: false } as const)
      : nextRetry(
          this.options.config.HOOKLINE_RETRY_SCHEDULE,
          { attemptNumber: claim.attemptNumber, status: result.attempt.responseStatus, retryAfter: result.retryAfter },
          Math.random(),
          new Date(),
        );
    this.toSettle.push({
      deliveryId: claim.deliveryId,
      leaseOwner: claim.leaseOwner,
      endpointId: claim.endpoint.id,
      attempt: result.attempt,
      succeeded,
      status: succeeded ? 'SUCCEEDED' : retry.retry ? 'RETRYING' : 'FAILED',
      retryInMs: retry.retry ? retry.delayMs : null,
    });
    void this.flush();
  }

  /**
   * Writes finished attempts, a batch per transaction, in the order they finished. While one batch is written the
   * next one gathers, so a busy worker writes many per transaction and an idle one writes each at once. A failed
   * write is retried with backoff (at shutdown, until the deadline): the leases keep the deliveries safe meanwhile.
   */
  private flush(): Promise<void> {
    this.flushing ??= (async () => {
      let backoff = 0;
      while (this.toSettle.length > 0) {
        const batch = this.toSettle.splice(0, MAX_SETTLE_BATCH);
        try {
          const result = await settleBatch(this.options.sql, batch, this.options.config.HOOKLINE_DISABLE_AFTER_FAILURES);
          backoff = 0;
          this.afterSettle(batch, result);
        } catch (err) {
          if (Date.now() >= this.deadline) {
            const unsettled = this.toSettle.length + batch.length;
            this.options.logger.error({ err, unsettled }, 'gave up settling at shutdown; these are sent again later');
            this.toSettle.length = 0;
            return;
          }
          this.toSettle.unshift(...batch);
          backoff = nextBackoff(backoff);
          const wait = jittered(backoff);
          this.options.logger.error({ err, retryInMs: wait }, 'settling deliveries failed');
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
    })().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private afterSettle(batch: Settlement[], result: SettleResult): void {
    const { metrics, logger } = this.options;
    for (const s of result.settled) {
      if (s.status !== 'RETRYING') metrics.completed.inc({ status: s.status });
      // Its endpoint's slot is free only now that the lease is gone: claiming at the end of the send would not see it.
      if (this.saturated.delete(s.endpointId)) this.claimNow = true;
      // Wake up for the earliest retry. Timed from now, after the commit: the row's next_attempt_at was computed
      // from the transaction's start, so it is due by then (timed from before the write, the claim could find it
      // not yet due, and the retry would wait for the next poll).
      if (s.retryInMs !== null) insertSorted(this.wakeTimes, Date.now() + s.retryInMs);
    }
    this.wake(false); // re-times the loop's sleep

    const lost = batch.length - result.settled.length;
    if (lost > 0) logger.warn({ lost }, 'leases ran out before settling; other workers own those deliveries now');
    if (result.disabled.length === 0) return;
    const notice = this.sendDisabledNotices(batch, result.disabled).catch((err) =>
      logger.error({ err }, 'could not send the endpoint-disabled notice'),
    );
    this.notices.add(notice);
    void notice.finally(() => this.notices.delete(notice));
  }

  /** One mail per endpoint switched to TOO_MANY_ERRORS, to the webhook's notifyEmail, else HOOKLINE_NOTIFY_EMAIL. */
  private async sendDisabledNotices(batch: Settlement[], disabled: SettleResult['disabled']): Promise<void> {
    const { sql, config, mailer, logger } = this.options;
    const details = await disabledEndpointDetails(
      sql,
      disabled.map((d) => d.endpointId),
    );
    for (const { endpointId, failures } of disabled) {
      const info = details.find((d) => d.endpointId === endpointId);
      if (!info) continue; // deleted meanwhile
      const lastError = batch.findLast((s) => s.endpointId === endpointId && !s.succeeded)?.attempt.error;
      logger.warn({ endpoint: endpointId, webhook: info.webhookId, failures, lastError }, 'endpoint disabled');
      const to = info.notifyEmail ?? config.HOOKLINE_NOTIFY_EMAIL;
      if (!to) {
        logger.warn({ endpoint: endpointId }, 'no notifyEmail or HOOKLINE_NOTIFY_EMAIL: nobody was told');
        continue;
      }
      await mailer.send(
        endpointDisabledMail(to, {
          webhookId: info.webhookId,
          webhookName: info.webhookName,
          endpointId,
          target: info.url ?? (info.emailTo ?? []).join(', '),
          failures,
          lastError: lastError ?? 'unknown',
        }),
      );
    }
  }
}

/** The wait after one more failure in a row: doubling from 100 ms, at most MAX_BACKOFF_MS (before jitter). */
function nextBackoff(ms: number): number {
  return Math.min(Math.max(ms * 2, 100), MAX_BACKOFF_MS);
}

/** Inserts in order, keeping only the MAX_WAKE_TIMES earliest. */
function insertSorted(times: number[], time: number): void {
  if (times.length >= MAX_WAKE_TIMES && time >= times[times.length - 1]) return;
  let low = 0;
  let high = times.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (times[mid] <= time) low = mid + 1;
    else high = mid;
  }
  times.splice(low, 0, time);
  if (times.length > MAX_WAKE_TIMES) times.pop();
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}
