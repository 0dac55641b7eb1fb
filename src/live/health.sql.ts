import type { State } from '../../schema/db/enums.js';
import type { Sql } from '../db/client.js';
import { idTimePrefix } from '../ids.js';

/** A webhook's delivery numbers, as the console shows them. Rates and latencies are null without attempts. */
export interface WebhookHealth {
  webhookId: string;
  /** The webhook's team (null: ADMIN-only), for checking who may see a pushed value. */
  teamId: string | null;
  attemptCount1h: number;
  successRate1h: number | null;
  p50LatencyMs1h: number | null;
  p95LatencyMs1h: number | null;
  attemptCount24h: number;
  successRate24h: number | null;
  p50LatencyMs24h: number | null;
  p95LatencyMs24h: number | null;
  pendingCount: number;
  endpoints: { id: string; state: State }[];
  /** When these numbers were computed (database time, as text). */
  updatedAt: string;
}

const DAY_MS = 24 * 3_600_000;

/**
 * The health of these webhooks (those that still exist), one row each, in one query.
 *
 * Attempts: those started in the last 24 hours, of the webhook's deliveries. There is no index on attempt times,
 * so deliveries are narrowed through deliveries_webhook_idx (webhook_id, id): ids sort by creation time, and a
 * delivery attempted in the last day was created at most a day plus the whole retry schedule (`retrySpanMs`) ago.
 * Attempts of deliveries held longer than that (an endpoint disabled for days, then re-enabled) are not counted.
 * An attempt succeeded when it recorded no error (a 2xx in time, or a mail accepted).
 *
 * Pending: deliveries not finished yet (PENDING, SENDING, RETRYING), held ones included, counted per endpoint
 * through deliveries_endpoint_idx (endpoint_id, status).
 */
export async function loadHealth(sql: Sql, webhookIds: readonly string[], retrySpanMs: number): Promise<WebhookHealth[]> {
  const oldestDelivery = idTimePrefix('Delivery', Date.now() - DAY_MS - retrySpanMs);
  return sql<WebhookHealth[]>`
    select w.id as "webhookId", w.team_id as "teamId", s.*, p."pendingCount", e.endpoints, now()::text as "updatedAt"
      from webhooks w
     cross join lateral (
       select count(*) filter (where a.last_hour)::int as "attemptCount1h",
              (count(*) filter (where a.last_hour and a.ok))::float8 / nullif(count(*) filter (where a.last_hour), 0)
                as "successRate1h",
              percentile_disc(0.5) within group (order by a.duration_ms) filter (where a.last_hour) as "p50LatencyMs1h",
              percentile_disc(0.95) within group (order by a.duration_ms) filter (where a.last_hour) as "p95LatencyMs1h",
              count(*)::int as "attemptCount24h",
              (count(*) filter (where a.ok))::float8 / nullif(count(*), 0) as "successRate24h",
              percentile_disc(0.5) within group (order by a.duration_ms) as "p50LatencyMs24h",
              percentile_disc(0.95) within group (order by a.duration_ms) as "p95LatencyMs24h"
         from (select att.started_at >= now() - interval '1 hour' as last_hour, att.error is null as ok, att.duration_ms
                 from deliveries d
                 join delivery_attempts att on att.delivery_id = d.id
                where d.webhook_id = w.id and d.id >= ${oldestDelivery}
                  and d.updated_at >= now() - interval '24 hours'
                  and att.started_at >= now() - interval '24 hours') a
     ) s
     cross join lateral (
       select count(*)::int as "pendingCount"
         from endpoints pe
         join deliveries pd on pd.endpoint_id = pe.id
        where pe.webhook_id = w.id and pd.status in ('PENDING', 'SENDING', 'RETRYING')
     ) p
     cross join lateral (
       select coalesce(json_agg(json_build_object('id', ee.id, 'state', ee.state) order by ee.id), '[]'::json) as endpoints
         from endpoints ee
        where ee.webhook_id = w.id
     ) e
     where w.id = any(${[...webhookIds]}::text[])`;
}
