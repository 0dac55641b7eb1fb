import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Sql } from '../db/client.js';
import type { AttemptOutcome } from './job.js';

/**
 * Prometheus metrics of delivery. Counters move in the process that sends; the outbox gauges are read from the
 * database when /metrics is scraped, so every process reports the same, current values.
 */
export class DeliveryMetrics {
  readonly completed: Counter<'status'>;
  readonly attempts: Counter<'outcome'>;
  readonly attemptSeconds: Histogram<'kind'>;

  constructor(registry: Registry, sql: Sql, logger: Logger) {
    this.completed = new Counter({
      name: 'hookline_deliveries_completed_total',
      help: 'Deliveries that reached a final status',
      labelNames: ['status'],
      registers: [registry],
    });
    this.attempts = new Counter({
      name: 'hookline_delivery_attempts_total',
      help: 'Delivery attempts by outcome (success, http_error, timeout, refused, error)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.attemptSeconds = new Histogram({
      name: 'hookline_delivery_attempt_duration_seconds',
      help: 'Duration of delivery attempts, by endpoint kind',
      labelNames: ['kind'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    for (const status of ['SUCCEEDED', 'FAILED']) this.completed.inc({ status }, 0);

    new Gauge({
      name: 'hookline_outbox_deliveries',
      help: 'Deliveries not yet finished, by status (held ones of inactive endpoints included)',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        try {
          /* Counted through deliveries_status_created_idx: only unfinished rows are read. */
          const rows = await sql<{ status: string; count: number }[]>`
            select status, count(*)::int as count
              from deliveries
             where status in ('PENDING', 'RETRYING', 'SENDING')
             group by status`;
          for (const status of ['PENDING', 'RETRYING', 'SENDING']) {
            this.set({ status }, rows.find((r) => r.status === status)?.count ?? 0);
          }
        } catch (err) {
          logger.warn({ err }, 'metrics: could not count the outbox');
        }
      },
    });
    new Gauge({
      name: 'hookline_outbox_oldest_due_age_seconds',
      help: 'How long the oldest due delivery of an ACTIVE endpoint has been waiting (0 when none is due)',
      registers: [registry],
      async collect() {
        try {
          /* Per ACTIVE endpoint, its oldest due row through deliveries_endpoint_due_idx (see claim.sql.ts). */
          const [row] = await sql<{ age: number }[]>`
            select coalesce(extract(epoch from now() - min(d.next_attempt_at)), 0)::float8 as age
              from endpoints e
              join webhooks w on w.id = e.webhook_id and w.state = 'ACTIVE'
              cross join lateral (
                select d.next_attempt_at from deliveries d
                 where d.endpoint_id = e.id and d.status in ('PENDING', 'RETRYING') and d.next_attempt_at <= now()
                 order by d.next_attempt_at limit 1
              ) d
             where e.state = 'ACTIVE'`;
          this.set(row.age);
        } catch (err) {
          logger.warn({ err }, 'metrics: could not read the oldest due delivery');
        }
      },
    });
  }

  recordAttempt(kind: string, outcome: AttemptOutcome, durationMs: number): void {
    this.attempts.inc({ outcome });
    this.attemptSeconds.observe({ kind }, durationMs / 1000);
  }
}
