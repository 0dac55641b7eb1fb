import type { Config } from '../config.js';
import type { Services } from '../graphql/context.js';
import { deliveryFeed, type DeliveryFeed } from './feed.js';
import type { DeliveryChange } from './feed.sql.js';
import { loadHealth, type WebhookHealth } from './health.sql.js';

/** At most one computation (and push) per webhook per this long. */
export const HEALTH_THROTTLE_MS = 1_000;

/**
 * Numbers computed this recently are served again: a page that many people (or one busy client) load costs at most
 * one computation per webhook per this long, however many requests ask. A change to the webhook's deliveries seen
 * while it is watched ends the reuse at once, and a new watcher always starts from freshly computed numbers.
 */
const REUSE_MS = HEALTH_THROTTLE_MS;

type HealthListener = (health: WebhookHealth) => void;

interface Watched {
  listeners: Set<HealthListener>;
  lastRunAt: number;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
  /** A change arrived while computing: compute again (throttled) afterwards. */
  stale: boolean;
}

/** The span of the retry schedule: how long after its creation a delivery may still be attempted. */
export const retrySpanMs = (config: Config) => config.HOOKLINE_RETRY_SCHEDULE.reduce((sum, ms) => sum + ms, 0);

/**
 * Recomputes a webhook's health when its deliveries change, for as long as someone watches it: one query per
 * webhook shared by all of its watchers in this process, at most once per HEALTH_THROTTLE_MS (changes in between
 * are folded into the next computation, which runs when the second is up).
 */
export class HealthWatch {
  private readonly watched = new Map<string, Watched>();
  /** The latest computation per webhook (possibly still running), reused until `until`. */
  private readonly recent = new Map<string, { until: number; health: Promise<WebhookHealth | undefined> }>();
  private stopFeed: Promise<() => void> | undefined;

  constructor(
    private readonly services: Services,
    private readonly feed: DeliveryFeed,
  ) {}

  /** Current numbers (for a new watcher or the Webhook.health field): at most REUSE_MS old. */
  async load(webhookIds: readonly string[]): Promise<WebhookHealth[]> {
    const now = Date.now();
    const stale = webhookIds.filter((id) => !((this.recent.get(id)?.until ?? 0) > now));
    if (stale.length > 0) void this.compute(stale);
    const found = await Promise.all(webhookIds.map((id) => this.recent.get(id)!.health));
    return found.filter((health): health is WebhookHealth => health !== undefined);
  }

  /** Computes these webhooks' numbers now, in one query, and keeps them for reuse. */
  compute(webhookIds: readonly string[]): Promise<WebhookHealth[]> {
    const now = Date.now();
    for (const [id, entry] of this.recent) if (entry.until <= now) this.recent.delete(id);
    const rows = loadHealth(this.services.sql, webhookIds, retrySpanMs(this.services.config));
    for (const id of webhookIds) {
      const health = rows.then((all) => all.find((row) => row.webhookId === id));
      this.recent.set(id, { until: now + REUSE_MS, health });
      // A failed computation is not reused; the caller that awaits it sees the error.
      health.catch(() => this.recent.get(id)?.health === health && this.recent.delete(id));
    }
    return rows;
  }

  /** Calls `listener` with new numbers after the webhook's deliveries change. Returns the function that stops it. */
  async watch(webhookId: string, listener: HealthListener): Promise<() => void> {
    let entry = this.watched.get(webhookId);
    if (!entry) {
      entry = { listeners: new Set(), lastRunAt: 0, timer: undefined, running: false, stale: false };
      this.watched.set(webhookId, entry);
    }
    entry.listeners.add(listener);
    const unwatch = () => this.unwatch(webhookId, listener);
    try {
      this.stopFeed ??= this.feed.add((changes) => this.onChanges(changes));
      await this.stopFeed;
    } catch (err) {
      this.stopFeed = undefined;
      unwatch();
      throw err;
    }
    return unwatch;
  }

  get size(): number {
    let n = 0;
    for (const entry of this.watched.values()) n += entry.listeners.size;
    return n;
  }

  private unwatch(webhookId: string, listener: HealthListener): void {
    const entry = this.watched.get(webhookId);
    if (!entry) return;
    entry.listeners.delete(listener);
    if (entry.listeners.size > 0) return;
    clearTimeout(entry.timer);
    this.watched.delete(webhookId);
    if (this.watched.size === 0 && this.stopFeed) {
      const stopping = this.stopFeed;
      this.stopFeed = undefined;
      void stopping.then((stop) => stop(), () => {});
    }
  }

  private onChanges(changes: DeliveryChange[]): void {
    for (const webhookId of new Set(changes.map((c) => c.webhookId))) {
      this.recent.delete(webhookId); // no longer current
      const entry = this.watched.get(webhookId);
      if (entry) this.schedule(webhookId, entry);
    }
  }

  private schedule(webhookId: string, entry: Watched): void {
    if (entry.timer || entry.running) {
      entry.stale = true;
      return;
    }
    const delay = Math.max(0, entry.lastRunAt + HEALTH_THROTTLE_MS - Date.now());
    entry.timer = setTimeout(() => void this.run(webhookId, entry), delay);
    entry.timer.unref();
  }

  private async run(webhookId: string, entry: Watched): Promise<void> {
    entry.timer = undefined;
    entry.running = true;
    entry.stale = false;
    entry.lastRunAt = Date.now();
    try {
      // Always fresh: it runs because the deliveries changed.
      const [health] = await this.compute([webhookId]);
      // Watchers may have left meanwhile; a deleted webhook has no health any more.
      if (health && this.watched.get(webhookId) === entry) for (const listener of entry.listeners) listener(health);
    } catch (err) {
      this.services.logger.error({ err, webhook: webhookId }, 'webhook health: could not compute');
    } finally {
      entry.running = false;
      if (entry.stale && this.watched.get(webhookId) === entry) this.schedule(webhookId, entry);
    }
  }
}

const watches = new WeakMap<Services, HealthWatch>();

/** The process's health watch (one per app). */
export function healthWatch(services: Services): HealthWatch {
  let watch = watches.get(services);
  if (!watch) watches.set(services, (watch = new HealthWatch(services, deliveryFeed(services))));
  return watch;
}
