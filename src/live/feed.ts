import type { Logger } from 'pino';
import type { Sql } from '../db/client.js';
import { DELIVERY_UPDATED_CHANNEL, type DeliveryUpdatedPayload } from '../delivery/notify.sql.js';
import type { Services } from '../graphql/context.js';
import { changedSince, routeChanges, type DeliveryChange } from './feed.sql.js';

export type ChangeListener = (changes: DeliveryChange[]) => void;

/** Notifications routed per query when they arrive faster than they are routed. */
const ROUTE_BATCH = 1_000;
/** After a reconnection, changes are looked up from this long before the connection was last known alive. */
const CATCH_UP_MARGIN_MS = 10_000;
const CATCH_UP_LIMIT = 10_000;

type Task = { announced: DeliveryUpdatedPayload['deliveries'] } | { catchUpSince: Date };

/**
 * The process's one LISTEN on hookline_delivery_updated, fanned out to every live subscription of this process.
 * Workers of any process NOTIFY it (ids and statuses); each notification is routed (webhook, endpoint, team) by one
 * query, then handed to the listeners in the order the changes were committed.
 *
 * Connection loss: postgres.js re-LISTENs on a new connection by itself (retrying until the database is back) and
 * calls onlisten again. What was committed meanwhile was never delivered, so the deliveries changed since shortly
 * before the connection was last known alive are announced again with their current status. A subscriber may
 * therefore see a delivery's current status twice after a reconnection, but misses no final status.
 */
export class DeliveryFeed {
  private readonly listeners = new Set<ChangeListener>();
  /** The listeners whose add() has resolved (see size). */
  private readonly live = new Set<ChangeListener>();
  private listening: Promise<void> | undefined;
  private listens = 0;
  /** Date.now() when the LISTEN connection was last known alive (a (re)listen or a notification). */
  private aliveAt = 0;
  private readonly tasks: Task[] = [];
  private draining: Promise<void> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
  ) {}

  /** Listeners that are live: added, and this process LISTENs, so every change committed from now reaches them. */
  get size(): number {
    return this.live.size;
  }

  /**
   * Adds a listener and resolves once this process LISTENs (started on the first call), so that every change
   * committed after that reaches the listener. Returns the function that removes it.
   */
  async add(listener: ChangeListener): Promise<() => void> {
    this.listeners.add(listener);
    try {
      await this.start();
    } catch (err) {
      this.listeners.delete(listener);
      throw err;
    }
    this.live.add(listener);
    return () => {
      this.listeners.delete(listener);
      this.live.delete(listener);
    };
  }

  private start(): Promise<void> {
    this.listening ??= this.sql
      .listen(
        DELIVERY_UPDATED_CHANNEL,
        (payload) => this.onNotification(payload),
        () => this.onListen(),
      )
      .then(
        () => this.logger.debug('listening for delivery updates'),
        (err) => {
          this.listening = undefined; // the next subscription tries again
          throw err;
        },
      );
    return this.listening;
  }

  private onListen(): void {
    if (this.listens++ > 0 && this.listeners.size > 0) {
      this.logger.warn('delivery updates: LISTEN connection re-established; catching up on missed changes');
      this.enqueue({ catchUpSince: new Date(this.aliveAt - CATCH_UP_MARGIN_MS) });
    }
    this.aliveAt = Date.now();
  }

  private onNotification(payload: string): void {
    this.aliveAt = Date.now();
    if (this.listeners.size === 0) return;
    let announced: DeliveryUpdatedPayload['deliveries'];
    try {
      announced = (JSON.parse(payload) as DeliveryUpdatedPayload).deliveries;
    } catch (err) {
      this.logger.error({ err, payload }, 'delivery updates: unreadable notification');
      return;
    }
    // Notifications that arrive while others are being routed are routed together.
    const last = this.tasks.at(-1);
    if (last && 'announced' in last && last.announced.length < ROUTE_BATCH) last.announced.push(...announced);
    else this.enqueue({ announced: [...announced] });
  }

  private enqueue(task: Task): void {
    this.tasks.push(task);
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /** One task at a time, so listeners get changes in commit order. A failed task is logged and skipped. */
  private async drain(): Promise<void> {
    for (let task = this.tasks.shift(); task; task = this.tasks.shift()) {
      try {
        const changes =
          'announced' in task
            ? await routeChanges(this.sql, task.announced)
            : await changedSince(this.sql, task.catchUpSince, CATCH_UP_LIMIT);
        if ('catchUpSince' in task && changes.length === CATCH_UP_LIMIT) {
          this.logger.warn({ limit: CATCH_UP_LIMIT }, 'delivery updates: catch-up limited to the most recent changes');
        }
        if (changes.length > 0) this.emit(changes);
      } catch (err) {
        this.logger.error({ err }, 'delivery updates: could not load changes; live subscribers miss them');
      }
    }
  }

  private emit(changes: DeliveryChange[]): void {
    for (const listener of this.listeners) {
      try {
        listener(changes);
      } catch (err) {
        this.logger.error({ err }, 'delivery updates: a listener failed');
      }
    }
  }
}

const feeds = new WeakMap<Services, DeliveryFeed>();

/** The process's feed (one per app: its LISTEN starts with the first subscription). */
export function deliveryFeed(services: Services): DeliveryFeed {
  let feed = feeds.get(services);
  if (!feed) feeds.set(services, (feed = new DeliveryFeed(services.sql, services.logger)));
  return feed;
}
