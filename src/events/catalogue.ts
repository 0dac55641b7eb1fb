import type postgres from 'postgres';
import type { Logger } from 'pino';
import type { Sql } from '../db/client.js';

/**
 * Every publish of an already-known type would otherwise update that type's catalogue row inside its own
 * transaction, holding the row lock until commit: publishes of one type would run one at a time. So the
 * publishing transaction only inserts types seen for the first time (ON CONFLICT DO NOTHING takes no lock on an
 * existing row), and counts are added after commit by at most one UPDATE in flight per pool, which carries the
 * counts of every publish that finished meanwhile. Each publish waits for the update that carries its counts, so
 * a client reads its own counts back; a crash between commit and that update loses only those counts.
 */

/** Inside the publishing transaction: records types never seen before. */
export const insertNewTypes = (tx: postgres.TransactionSql, names: string[]) => tx`
  insert into event_types (name, resource, event)
  select n, split_part(n, '.', 1), substr(n, strpos(n, '.') + 1) from unnest(${names}::text[]) as u(n)
  on conflict (name) do nothing`;

class CountFlusher {
  private pending = new Map<string, number>();
  private waiting: (() => void)[] = [];
  private running = false;

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
  ) {}

  add(counts: Map<string, number>): Promise<void> {
    for (const [name, n] of counts) this.pending.set(name, (this.pending.get(name) ?? 0) + n);
    const done = new Promise<void>((resolve) => this.waiting.push(resolve));
    if (!this.running) void this.run();
    return done;
  }

  private async run() {
    this.running = true;
    while (this.pending.size > 0) {
      const counts = this.pending;
      const waiting = this.waiting;
      this.pending = new Map();
      this.waiting = [];
      // An upsert takes its rows in input order: sorted, so flushes of several processes cannot deadlock.
      const names = [...counts.keys()].sort();
      try {
        await this.sql`
          insert into event_types as c (name, resource, event, event_count)
          select n, split_part(n, '.', 1), substr(n, strpos(n, '.') + 1), k
          from unnest(${names}::text[], ${names.map((n) => counts.get(n)!)}::int[]) as u(n, k)
          on conflict (name) do update set event_count = c.event_count + excluded.event_count, last_seen_at = now()`;
      } catch (err) {
        // The events are committed; only the statistics are off. Publishing must not fail for this.
        this.logger.warn({ err }, 'could not update event type counts');
      }
      for (const resolve of waiting) resolve();
    }
    this.running = false;
  }
}

const flushers = new WeakMap<Sql, CountFlusher>();

/** After commit: adds these per-type counts (and now as last seen); resolves once they are stored. */
export function countEventTypes(sql: Sql, logger: Logger, counts: Map<string, number>): Promise<void> {
  let flusher = flushers.get(sql);
  if (!flusher) flushers.set(sql, (flusher = new CountFlusher(sql, logger)));
  return flusher.add(counts);
}
