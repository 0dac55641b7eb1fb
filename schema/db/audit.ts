import { index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The audit trail: one row per change made through the API (create, update, delete, state change, secret
 * rotation, replay, token and team changes). Secrets are redacted before a row is written. No foreign keys: an
 * entry outlives the object it describes.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: text('id').primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    /** The API token that made the change (its id and name at the time), null for Hookline itself. */
    actorTokenId: text('actor_token_id'),
    actor: text('actor'),
    /** The team the changed object belongs to (null: none, or an admin-wide object); drives visibility. */
    teamId: text('team_id'),
    /** `<target>.<verb>`, e.g. `webhook.create`, `endpoint.state`, `webhook.rotate_secret`, `delivery.replay`. */
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    webhookId: text('webhook_id'),
    before: jsonb('before').$type<Record<string, unknown> | null>(),
    after: jsonb('after').$type<Record<string, unknown> | null>(),
  },
  (t) => [index('audit_log_webhook_idx').on(t.webhookId, t.id), index('audit_log_team_idx').on(t.teamId, t.id)],
);
