import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { deliveryStatusEnum, type KeyValue } from './enums.js';
import { events } from './events.js';
import { endpoints, webhooks } from './webhooks.js';

/**
 * The outbox: one row per (event, endpoint), written in the publishing transaction. The delivery loop claims
 * due rows (PENDING/RETRYING with next_attempt_at <= now) and rows whose lease ran out (SENDING, lease expired).
 */
export const deliveries = pgTable(
  'deliveries',
  {
    id: text('id').primaryKey(),
    eventId: text('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    webhookId: text('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => endpoints.id, { onDelete: 'cascade' }),
    status: deliveryStatusEnum('status').notNull().default('PENDING'),
    attemptCount: integer('attempt_count').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).defaultNow(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }),
    lastResponseStatus: integer('last_response_status'),
    lastError: text('last_error'),
    replayOf: text('replay_of'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [
    // The claim query: per ACTIVE endpoint, its due work in order of due time. Keyed by endpoint first so that
    // a backlog held for a stopped endpoint is never scanned; partial, so finished rows cost nothing.
    index('deliveries_endpoint_due_idx')
      .on(t.endpointId, t.nextAttemptAt)
      .where(sql`status in ('PENDING', 'RETRYING')`),
    // Crash recovery: leases that ran out.
    index('deliveries_lease_idx')
      .on(t.leaseExpiresAt)
      .where(sql`status = 'SENDING'`),
    index('deliveries_webhook_idx').on(t.webhookId, t.id),
    index('deliveries_endpoint_idx').on(t.endpointId, t.status),
    index('deliveries_status_created_idx').on(t.status, t.createdAt),
    index('deliveries_event_idx').on(t.eventId),
    index('deliveries_created_idx').on(t.createdAt),
  ],
);

/** Every attempt, with the request as sent and the response truncated. */
export const deliveryAttempts = pgTable(
  'delivery_attempts',
  {
    deliveryId: text('delivery_id')
      .notNull()
      .references(() => deliveries.id, { onDelete: 'cascade' }),
    number: integer('number').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    durationMs: integer('duration_ms').notNull(),
    requestUrl: text('request_url').notNull(),
    requestHeaders: jsonb('request_headers').$type<KeyValue[]>().notNull(),
    requestBody: text('request_body'),
    responseStatus: integer('response_status'),
    responseHeaders: jsonb('response_headers').$type<KeyValue[] | null>(),
    responseBody: text('response_body'),
    error: text('error'),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.number] })],
);
