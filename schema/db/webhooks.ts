import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { teams } from './auth.js';
import { endpointKindEnum, httpMethodEnum, stateEnum, type KeyValue } from './enums.js';

export const webhooks = pgTable(
  'webhooks',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    description: text('description'),
    state: stateEnum('state').notNull().default('ACTIVE'),
    teamId: text('team_id').references(() => teams.id, { onDelete: 'restrict' }),
    ownerLogin: text('owner_login'),
    forLogin: text('for_login'),
    notifyEmail: text('notify_email'),
    headers: jsonb('headers').$type<KeyValue[]>().notNull().default(sql`'[]'::jsonb`),
    properties: jsonb('properties').$type<Record<string, unknown> | null>(),
    /** whsec_<base64>. The previous secret stays valid until previous_secret_expires_at (rotation overlap). */
    secret: text('secret').notNull(),
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    createdBy: text('created_by'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    updatedBy: text('updated_by'),
  },
  (t) => [index('webhooks_team_idx').on(t.teamId, t.id)],
);

/** Receiver credentials for an endpoint; write-only through the API. */
export interface EndpointAuth {
  apiKey?: string;
  apiKeyHeader?: string;
  bearerToken?: string;
  basicUser?: string;
  basicPassword?: string;
}

export const endpoints = pgTable(
  'endpoints',
  {
    id: text('id').primaryKey(),
    webhookId: text('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    kind: endpointKindEnum('kind').notNull().default('HTTP'),
    state: stateEnum('state').notNull().default('ACTIVE'),
    url: text('url'),
    method: httpMethodEnum('method').notNull().default('POST'),
    queryParams: jsonb('query_params').$type<KeyValue[]>().notNull().default(sql`'[]'::jsonb`),
    headers: jsonb('headers').$type<KeyValue[]>().notNull().default(sql`'[]'::jsonb`),
    contentType: text('content_type').notNull().default('application/json'),
    bodyTemplate: text('body_template'),
    auth: jsonb('auth').$type<EndpointAuth | null>(),
    timeoutMs: integer('timeout_ms').notNull().default(10_000),
    /** At most this many attempts to this endpoint at once, across all workers (isolation between endpoints). */
    maxConcurrency: integer('max_concurrency').notNull().default(8),
    /** Optional cap on attempts started per second, across all workers. */
    rateLimitPerSecond: integer('rate_limit_per_second'),
    /** The rate limit's current one-second window, kept by the claim: when it opened and the attempts it started. */
    rateWindowStartedAt: timestamp('rate_window_started_at', { withTimezone: true }),
    rateWindowCount: integer('rate_window_count').notNull().default(0),
    emailTo: text('email_to').array(),
    /** Failed attempts in a row, in the order attempts finish; reset by a success. Drives auto-disable. */
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('endpoints_webhook_idx').on(t.webhookId, t.id)],
);

export const triggers = pgTable(
  'triggers',
  {
    id: text('id').primaryKey(),
    webhookId: text('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    resource: text('resource').notNull(),
    event: text('event').notNull(),
    filter: jsonb('filter').$type<Record<string, unknown> | null>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('triggers_webhook_idx').on(t.webhookId, t.id), index('triggers_match_idx').on(t.resource, t.event)],
);
