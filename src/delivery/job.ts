import type { KeyValue } from '../../schema/db/enums.js';
import type { events } from '../../schema/db/events.js';
import type { endpoints, webhooks } from '../../schema/db/webhooks.js';

/** What sending one attempt needs to know: the event, and the webhook and endpoint as they are now. */
export interface DeliveryJob {
  event: Pick<typeof events.$inferSelect, 'id' | 'type' | 'occurredAt' | 'context' | 'data'>;
  webhook: Pick<
    typeof webhooks.$inferSelect,
    'id' | 'name' | 'headers' | 'properties' | 'secret' | 'previousSecret' | 'previousSecretExpiresAt'
  >;
  endpoint: Pick<
    typeof endpoints.$inferSelect,
    | 'id'
    | 'kind'
    | 'url'
    | 'method'
    | 'queryParams'
    | 'headers'
    | 'contentType'
    | 'bodyTemplate'
    | 'auth'
    | 'timeoutMs'
    | 'emailTo'
  >;
  /** The number of this attempt, from 1. */
  attemptNumber: number;
}

/** One attempt as recorded in delivery_attempts (without the delivery id). */
export interface AttemptRecord {
  number: number;
  startedAt: Date;
  durationMs: number;
  requestUrl: string;
  requestHeaders: KeyValue[];
  requestBody: string | null;
  responseStatus: number | null;
  responseHeaders: KeyValue[] | null;
  responseBody: string | null;
  error: string | null;
}

/** How an attempt ended, for retry decisions and metrics. */
export type AttemptOutcome = 'success' | 'http_error' | 'timeout' | 'refused' | 'error';

export interface AttemptResult {
  attempt: AttemptRecord;
  outcome: AttemptOutcome;
  /** The answer's Retry-After header, if any. */
  retryAfter: string | null;
}
