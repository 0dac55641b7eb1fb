import type { Sql } from '../db/client.js';
import { idTimePrefix } from '../ids.js';
import type { AttemptRecord } from './job.js';
import { DELIVERY_UPDATED_CHANNEL, PER_NOTIFICATION } from './notify.sql.js';

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
 * Writes a batch of finished attempts in one statement (so in one implicit transaction and one round trip), in
 * the order the attempts finished: the deliveries' new status, the attempt rows, the endpoints' consecutive-failure
 * counts and, at `disableAfter` failures in a row, the switch to TOO_MANY_ERRORS (exactly once: only the statement
 * that finds the endpoint still ACTIVE changes it and reports it), and the notifications of the status changes.
 */
export async function settleBatch(sql: Sql, batch: Settlement[], disableAfter: number): Promise<SettleResult> {
  if (batch.length === 0) return { settled: [], disabled: [] };
  /*
   * The batch travels as one JSON document (JSON.stringify is native; postgres.js would escape every element of a
   * text array in JavaScript, ~1 KB of request body per attempt), parsed as jsonb: 0.9 ms for 100 attempts, against
   * 1.6–3.5 ms as json (whose jsonb columns are parsed a second time). `ord` is the finishing order.
   *
   * kept: only rows still leased to the claim that sent them are settled (lease_owner is unique per claim); every
   * other CTE works from kept, so a settlement whose lease was taken over writes nothing.
   * counts: per endpoint, whether a kept success restarts the count (then it goes on from 0, else from the stored
   * one) and the kept failures after the last kept success.
   * locked: the endpoint rows are locked in id order before they are updated, so two workers settling attempts of
   * the same endpoints cannot deadlock; the count and state read there are the latest (as locked), and the state
   * tells whether this statement is the one that disabled the endpoint.
   * audited: the switch to TOO_MANY_ERRORS is an audit entry of Hookline itself (no actor), written by this same
   * statement; its id is idTimePrefix with a random tail, as for bulk replays.
   * notified: one notification per 100 settled deliveries (PostgreSQL refuses payloads of 8000 bytes or more);
   * the main query reads it, else a SELECT in WITH would not run. Listeners hear them only at commit.
   */
  const [row] = await sql<{ settled: string[] | string; disabled: SettleResult['disabled'] | string }[]>`
    with s as (
      select * from jsonb_to_recordset(${settlementsDocument(batch)}::jsonb) as s(
        ord int, id text, lease_owner text, endpoint_id text, succeeded boolean, status text, retry_in_ms int,
        number int, started_at timestamptz, duration_ms int, request_url text, request_headers jsonb,
        request_body text, response_status int, response_headers jsonb, response_body text, error text)
    ),
    kept as (
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
        from s
       where d.id = s.id and d.lease_owner = s.lease_owner and d.status = 'SENDING'
      returning s.*
    ),
    attempts as (
      insert into delivery_attempts (delivery_id, number, started_at, duration_ms, request_url, request_headers,
                                     request_body, response_status, response_headers, response_body, error)
      select id, number, started_at, duration_ms, request_url, request_headers,
             request_body, response_status, response_headers, response_body, error
        from kept
    ),
    last_success as (
      select endpoint_id, max(ord) filter (where succeeded) as ord from kept group by endpoint_id
    ),
    counts as (
      select k.endpoint_id as id, l.ord is not null as reset,
             (count(*) filter (where not k.succeeded and k.ord > coalesce(l.ord, -1)))::int as failures
        from kept k join last_success l on l.endpoint_id = k.endpoint_id
       group by k.endpoint_id, l.ord
    ),
    locked as materialized (
      select e.id, e.state, e.consecutive_failures
        from endpoints e join counts c on c.id = e.id
       order by e.id
         for update of e
    ),
    next as (
      select l.id, f.failures, c.failures > 0 and l.state = 'ACTIVE' and f.failures >= ${disableAfter} as disable
        from locked l
        join counts c on c.id = l.id
        cross join lateral (select (case when c.reset then 0 else l.consecutive_failures end) + c.failures as failures) f
    ),
    counted as (
      update endpoints e
         set consecutive_failures = n.failures,
             state = case when n.disable then 'TOO_MANY_ERRORS' else e.state end,
             updated_at = case when n.disable then now() else e.updated_at end
        from next n
       where e.id = n.id
      returning n.id as "endpointId", n.failures, n.disable, e.webhook_id
    ),
    audited as (
      insert into audit_log (id, team_id, action, target_type, target_id, webhook_id, before, after)
      select ${idTimePrefix('AuditEntry')} || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16),
             w.team_id, 'endpoint.state', 'Endpoint', c."endpointId", c.webhook_id, '{"state": "ACTIVE"}',
             jsonb_build_object('state', 'TOO_MANY_ERRORS', 'consecutiveFailures', c.failures)
        from counted c join webhooks w on w.id = c.webhook_id
       where c.disable
    ),
    notified as (
      select pg_notify(${DELIVERY_UPDATED_CHANNEL},
                       json_build_object('deliveries', json_agg(json_build_object('id', id, 'status', status) order by ord))::text)
        from kept
       group by ord / ${PER_NOTIFICATION}
    )
    select (select coalesce(json_agg(id), '[]') from kept) as settled,
           (select coalesce(json_agg(json_build_object('endpointId', "endpointId", 'failures', failures)), '[]')
              from counted where disable) as disabled,
           (select count(*) from notified) as notifications`;
  const kept = new Set(parsed<string[]>(row.settled));
  return { settled: batch.filter((s) => kept.has(s.deliveryId)), disabled: parsed(row.disabled) };
}

/** json columns arrive parsed, unless the pool's parsers were changed. */
const parsed = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

/** Lone UTF-16 surrogates (a template may cut a pair) cannot go into text: replaced, as UTF-8 encoding would. */
const wellFormed = (text: string | null) => (text === null ? null : (text as string & { toWellFormed(): string }).toWellFormed());

function settlementsDocument(batch: Settlement[]): string {
  return JSON.stringify(
    batch.map((s, ord) => ({
      ord,
      id: s.deliveryId,
      lease_owner: s.leaseOwner,
      endpoint_id: s.endpointId,
      succeeded: s.succeeded,
      status: s.status,
      retry_in_ms: s.retryInMs,
      number: s.attempt.number,
      started_at: s.attempt.startedAt.toISOString(),
      duration_ms: s.attempt.durationMs,
      request_url: wellFormed(s.attempt.requestUrl),
      request_headers: s.attempt.requestHeaders,
      request_body: wellFormed(s.attempt.requestBody),
      response_status: s.attempt.responseStatus,
      response_headers: s.attempt.responseHeaders,
      response_body: wellFormed(s.attempt.responseBody),
      error: wellFormed(s.attempt.error),
    })),
  );
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
