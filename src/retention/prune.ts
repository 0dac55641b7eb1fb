import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Sql } from '../db/client.js';
import { deleteEventsWithoutDeliveries, deleteFinishedDeliveries, pruneUnlock, tryPruneLock } from './prune.sql.js';

export interface PruneOptions {
  /** The clock: rows older than `now` minus a retention are pruned (tests pass a fixed one). */
  now: Date;
  /** How long SUCCEEDED and CANCELLED deliveries, and events, are kept (ms). */
  retentionMs: number;
  /** How long FAILED deliveries are kept (ms). */
  failedRetentionMs: number;
  /** Rows deleted per statement (each its own short transaction). */
  batchSize?: number;
  /** Asked between statements: a stopping process ends its run there. */
  stopping?: () => boolean;
}

export interface PruneResult {
  deliveries: number;
  attempts: number;
  events: number;
  /** DELETE statements run. */
  statements: number;
}

const DEFAULT_BATCH_SIZE = 1_000;

/**
 * Deletes what retention no longer keeps, oldest first, a batch per statement: finished deliveries (with their
 * attempts), then events left without any delivery. Deliveries still to be sent (PENDING, RETRYING, SENDING) are
 * never touched, nor their events. The audit log is not pruned: it is the record of who changed what.
 *
 * Returns null without doing anything when another process is pruning (see tryPruneLock).
 */
export async function prune(sql: Sql, options: PruneOptions): Promise<PruneResult | null> {
  const { now, batchSize = DEFAULT_BATCH_SIZE, stopping = () => false } = options;
  const conn = await sql.reserve();
  try {
    if (!(await tryPruneLock(conn))) return null;
    try {
      const result: PruneResult = { deliveries: 0, attempts: 0, events: 0, statements: 0 };
      /** Runs `step` until it deletes less than a full batch (nothing more to prune) or the process stops. */
      const drain = async (step: () => Promise<number>) => {
        for (let deleted = batchSize; deleted === batchSize && !stopping(); ) {
          deleted = await step();
          result.statements++;
        }
      };
      const deliveries = (status: 'SUCCEEDED' | 'CANCELLED' | 'FAILED', retentionMs: number) => async () => {
        const gone = await deleteFinishedDeliveries(conn, status, new Date(now.getTime() - retentionMs), batchSize);
        result.deliveries += gone.deliveries;
        result.attempts += gone.attempts;
        return gone.deliveries;
      };
      await drain(deliveries('SUCCEEDED', options.retentionMs));
      await drain(deliveries('CANCELLED', options.retentionMs));
      await drain(deliveries('FAILED', options.failedRetentionMs));
      const eventsBefore = new Date(now.getTime() - options.retentionMs);
      let from: string | null = null;
      await drain(async () => {
        const gone = await deleteEventsWithoutDeliveries(conn, eventsBefore, from, batchSize);
        result.events += gone.events;
        from = gone.last ?? from;
        return gone.events;
      });
      return result;
    } finally {
      await pruneUnlock(conn);
    }
  } finally {
    conn.release();
  }
}

/**
 * Runs prune() every HOOKLINE_PRUNE_INTERVAL in a worker process (the first run soon after start), counting what
 * it deleted in hookline_pruned_rows_total. A failed run (the database unreachable) is logged and tried again at
 * the next interval; nothing depends on pruning being on time.
 */
export class Pruner {
  private readonly pruned: Counter<'table'>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly options: { config: Config; sql: Sql; logger: Logger; registry: Registry },
  ) {
    this.pruned = new Counter({
      name: 'hookline_pruned_rows_total',
      help: 'Rows deleted by retention (HOOKLINE_RETENTION), by table',
      labelNames: ['table'],
      registers: [options.registry],
    });
    for (const table of ['deliveries', 'delivery_attempts', 'events']) this.pruned.inc({ table }, 0);
  }

  start(): void {
    // Jittered, so that workers started together do not all try at the same moment.
    this.schedule(5_000 + Math.random() * 5_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
        this.schedule(this.options.config.HOOKLINE_PRUNE_INTERVAL);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async runOnce(): Promise<void> {
    const { config, sql, logger } = this.options;
    try {
      const result = await prune(sql, {
        now: new Date(),
        retentionMs: config.HOOKLINE_RETENTION,
        failedRetentionMs: config.HOOKLINE_RETENTION_FAILED ?? config.HOOKLINE_RETENTION,
        stopping: () => this.stopped,
      });
      if (!result) return logger.debug('retention: another process is pruning');
      this.pruned.inc({ table: 'deliveries' }, result.deliveries);
      this.pruned.inc({ table: 'delivery_attempts' }, result.attempts);
      this.pruned.inc({ table: 'events' }, result.events);
      if (result.deliveries + result.events > 0) logger.info(result, 'retention: pruned old deliveries and events');
    } catch (err) {
      logger.warn({ err }, 'retention: pruning failed; trying again at the next interval');
    }
  }
}
