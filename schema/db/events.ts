import { bigint, index, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/** The catalogue: every event type seen, recorded when first published. */
export const eventTypes = pgTable('event_types', {
  name: text('name').primaryKey(),
  resource: text('resource').notNull(),
  event: text('event').notNull(),
  description: text('description'),
  eventCount: bigint('event_count', { mode: 'number' }).notNull().default(0),
  firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
});

export const events = pgTable(
  'events',
  {
    id: text('id').primaryKey(),
    type: text('type').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    context: jsonb('context').$type<Record<string, unknown> | null>(),
    data: jsonb('data').$type<unknown>().notNull(),
    idempotencyKey: text('idempotency_key'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    createdBy: text('created_by'),
  },
  (t) => [
    uniqueIndex('events_idempotency_key_idx').on(t.idempotencyKey),
    index('events_type_idx').on(t.type, t.id),
    index('events_created_idx').on(t.createdAt),
  ],
);
