import type { Sql } from '../db/client.js';
import type { AttemptRecord } from './job.js';
import { notifyDeliveryUpdated } from './notify.sql.js';

/** The end of one attempt, as the worker decided it. */
export interface Settlement {
  deliveryId: string;
  leaseOwner: string;
  endpointId: string;
  attempt: AttemptRecord;
  succeeded: boolean;
  status: 'SUCCEEDED' | 'RETRYING' | 'FAILED';
  /** When RETRYING: how long from now (the database's now) the next attempt is due. */
  retryInMs: number | null;
}

export interface SettleResult {
  /** The settlements written. Others were dropped: their lease had run out and another worker took them over. */
  settled: Settlement[];
  /** Endpoints this settle switched from ACTIVE to TOO_MANY_ERRORS, with their count of failures in a row. */
  disabled: { endpointId: string; failures: number }[];
}

/**
 * Writes a batch of finished attempts in one transaction, in the order the attempts finished: the deliveries'
 * new status, the attempt rows, the endpoints' consecutive-failure counts and, at `disableAfter` failures in a
 * row, the switch to TOO_MANY_ERRORS (exactly once: only the transaction that finds the endpoint still ACTIVE
 * changes it and reports it), then one notification of the status changes.
 */
export async function settleBatch(sql: Sql, batch: Settlement[], disableAfter: number): Promise<SettleResult> {
  if (batch.length === 0) return { settled: [], disabled: [] };
  return sql.begin(async (tx) => {
    /* Only rows still leased to the claim that sent them are settled (lease_owner is unique per claim). */
    const updated = await tx<{ id: string }[]>`
      update deliveries d
         set status = s.status::delivery_status,
             attempt_count = s.number,
             next_attempt_at = now() + s.retry_in_ms * interval '1 millisecond',
             last_response_status = s.response_status,
             last_error = s.error,
             completed_at = case when s.status in ('SUCCEEDED', 'FAILED') then now() end,
             lease_owner = null,
             lease_expires_at = null,
             updated_at = now()
        from unnest(
               ${batch.map((s) => s.deliveryId)}::text[],
               ${batch.map((s) => s.leaseOwner)}::text[],
               ${batch.map((s) => s.status)}::text[],
               ${batch.map((s) => s.attempt.number)}::int[],
               ${batch.map((s) => s.retryInMs)}::int[],
               ${batch.map((s) => s.attempt.responseStatus)}::int[],
               ${batch.map((s) => s.attempt.error)}::text[]
             ) as s(id, lease_owner, status, number, retry_in_ms, response_status, error)
       where d.id = s.id and d.lease_owner = s.lease_owner and d.status = 'SENDING'
      returning d.id`;
    const kept = new Set(updated.map((r) => r.id));
    const settled = batch.filter((s) => kept.has(s.deliveryId));
    if (settled.length === 0) return { settled, disabled: [] };

    const attempts = settled.map((s) => s.attempt);
    /*
     * Times travel as text: postgres.js would type a Date array parameter as a lone timestamp, and the drizzle
     * client on this pool turns off its timestamp serializers anyway.
     */
    await tx`
      insert into delivery_attempts (delivery_id, number, started_at, duration_ms, request_url, request_headers,
                                     request_body, response_status, response_headers, response_body, error)
      select id, number, started_at::timestamptz, duration_ms, request_url, request_headers,
             request_body, response_status, response_headers, response_body, error
        from unnest(
               ${settled.map((s) => s.deliveryId)}::text[],
               ${attempts.map((a) => a.number)}::int[],
               ${attempts.map((a) => a.startedAt.toISOString())}::text[],
               ${attempts.map((a) => a.durationMs)}::int[],
               ${attempts.map((a) => a.requestUrl)}::text[],
               ${attempts.map((a) => JSON.stringify(a.requestHeaders))}::jsonb[],
               ${attempts.map((a) => a.requestBody)}::text[],
               ${attempts.map((a) => a.responseStatus)}::int[],
               ${attempts.map((a) => (a.responseHeaders ? JSON.stringify(a.responseHeaders) : null))}::jsonb[],
               ${attempts.map((a) => a.responseBody)}::text[],
               ${attempts.map((a) => a.error)}::text[]
             ) as a(id, number, started_at, duration_ms, request_url, request_headers,
                    request_body, response_status, response_headers, response_body, error)`;

    const counts = failureCounts(settled);
    const endpointIds = [...counts.keys()];
    /*
     * Endpoint rows are locked in id order first (the CTE), so two workers settling attempts of the same endpoints
     * cannot deadlock. The count goes on from the stored one, or from 0 when this batch had a success for the
     * endpoint (restart_from = 0 rather than a boolean: postgres.js cannot send a boolean array parameter).
     */
    await tx`
      with locked as (select id from endpoints where id = any(${endpointIds}::text[]) order by id for update)
      update endpoints e
         set consecutive_failures = coalesce(c.restart_from, e.consecutive_failures) + c.failures
        from locked l,
             unnest(${endpointIds}::text[],
                    ${endpointIds.map((id) => (counts.get(id)!.reset ? 0 : null))}::int[],
                    ${endpointIds.map((id) => counts.get(id)!.failures)}::int[]) as c(id, restart_from, failures)
       where e.id = l.id and e.id = c.id`;

    const failing = endpointIds.filter((id) => counts.get(id)!.failures > 0);
    const disabled = failing.length
      ? await tx<{ endpointId: string; failures: number }[]>`
          update endpoints
             set state = 'TOO_MANY_ERRORS', updated_at = now()
           where id = any(${failing}::text[]) and state = 'ACTIVE' and consecutive_failures >= ${disableAfter}
          returning id as "endpointId", consecutive_failures as failures`
      : [];

    await notifyDeliveryUpdated(
      tx,
      settled.map((s) => ({ id: s.deliveryId, status: s.status })),
    );
    return { settled, disabled: [...disabled] };
  });
}

/** Per endpoint: failures in a row at the end of the batch, and whether a success reset the count before them. */
function failureCounts(settled: Settlement[]): Map<string, { reset: boolean; failures: number }> {
  const counts = new Map<string, { reset: boolean; failures: number }>();
  for (const s of settled) {
    const count = counts.get(s.endpointId) ?? { reset: false, failures: 0 };
    if (s.succeeded) {
      count.reset = true;
      count.failures = 0;
    } else {
      count.failures += 1;
    }
    counts.set(s.endpointId, count);
  }
  return counts;
}

/** What the auto-disable notice needs about endpoints that were just disabled. */
export async function disabledEndpointDetails(sql: Sql, endpointIds: string[]) {
  return sql<DisabledEndpointRow[]>`
    select e.id as "endpointId", e.url, e.email_to as "emailTo",
           w.id as "webhookId", w.name as "webhookName", w.notify_email as "notifyEmail"
      from endpoints e
      join webhooks w on w.id = e.webhook_id
     where e.id = any(${endpointIds}::text[])`;
}

type DisabledEndpointRow = {
  endpointId: string;
  url: string | null;
  emailTo: string[] | null;
  webhookId: string;
  webhookName: string;
  notifyEmail: string | null;
};
