import type { Logger } from 'pino';
import type { Sql } from '../db/client.js';
import type { Services } from '../graphql/context.js';
import { JOB_UPDATED_CHANNEL } from './queries.js';

type JobListener = () => void;

/**
 * The process's one LISTEN on hookline_replay_job_updated (started by the first subscriber), fanned out to the
 * subscribers of each job. A notification only says "job X changed": subscribers load the row themselves, so
 * a subscriber that falls behind loads once and sees the newest progress. After a lost connection every watched
 * job is announced again, since changes made meanwhile were never heard.
 */
class ReplayJobWatch {
  private readonly listeners = new Map<string, Set<JobListener>>();
  private listening: Promise<unknown> | undefined;
  private listens = 0;

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
  ) {}

  /** Calls `listener` whenever the job changes, from once this resolves. Returns the function that stops it. */
  async watch(jobId: string, listener: JobListener): Promise<() => void> {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    const stop = () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(jobId) === set) this.listeners.delete(jobId);
    };
    try {
      this.listening ??= this.sql
        .listen(JOB_UPDATED_CHANNEL, (id) => this.announce(this.listeners.get(id)), () => this.onListen())
        .catch((err) => {
          this.listening = undefined; // the next subscriber tries again
          throw err;
        });
      await this.listening;
    } catch (err) {
      stop();
      throw err;
    }
    return stop;
  }

  private onListen(): void {
    if (this.listens++ === 0) return;
    this.logger.warn('replay job updates: LISTEN connection re-established; announcing every watched job again');
    for (const set of this.listeners.values()) this.announce(set);
  }

  private announce(set: Set<JobListener> | undefined): void {
    for (const listener of set ?? []) listener();
  }
}

const watches = new WeakMap<Services, ReplayJobWatch>();

export function replayJobWatch(services: Services): ReplayJobWatch {
  let watch = watches.get(services);
  if (!watch) watches.set(services, (watch = new ReplayJobWatch(services.sql, services.logger)));
  return watch;
}
