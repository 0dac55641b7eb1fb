import { boolean, index, integer, jsonb, pgEnum, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { teams } from './auth.js';
import { webhooks } from './webhooks.js';

/**
 * Pull-feed credentials: a third party pulls a webhook's matching events from GET /feed/<token>. Stored as a
 * SHA-256 hash, like API tokens; the clear token is shown once.
 */
export const feedTokens = pgTable(
  'feed_tokens',
  {
    id: text('id').primaryKey(),
    webhookId: text('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    createdBy: text('created_by'),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('feed_tokens_webhook_idx').on(t.webhookId, t.id)],
);

export const replayJobKindEnum = pgEnum('replay_job_kind', ['REDELIVER_EVENTS', 'REPLAY_DELIVERIES']);
export const replayJobStatusEnum = pgEnum('replay_job_status', ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED']);

/**
 * Background replays (redeliverEvents, large replayDeliveries): run by any process in pages, resumable from
 * `cursor` after a crash (the lease tells a dead runner from a live one), progress counted as it goes.
 */
export const replayJobs = pgTable(
  'replay_jobs',
  {
    id: text('id').primaryKey(),
    kind: replayJobKindEnum('kind').notNull(),
    status: replayJobStatusEnum('status').notNull().default('QUEUED'),
    teamId: text('team_id').references(() => teams.id, { onDelete: 'cascade' }),
    webhookId: text('webhook_id').references(() => webhooks.id, { onDelete: 'cascade' }),
    endpointId: text('endpoint_id'),
    /** The input as given (range, types, statuses). */
    params: jsonb('params').$type<Record<string, unknown>>().notNull(),
    dryRun: boolean('dry_run').notNull().default(false),
    total: integer('total'),
    processed: integer('processed').notNull().default(0),
    created: integer('created').notNull().default(0),
    skipped: integer('skipped').notNull().default(0),
    /** The last id handled: a resumed job continues after it. */
    cursor: text('cursor'),
    error: text('error'),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    createdBy: text('created_by'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('replay_jobs_status_idx').on(t.status, t.createdAt)],
);
