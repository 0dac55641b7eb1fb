/**
 * Which webhooks an event reaches: pure functions, no I/O. The publishing transaction loads the candidate
 * triggers and endpoints once per batch and uses these to decide every (event, endpoint) pair.
 */

/** `<resource>.<event>`: segments of letters, digits, `_` and `-`, separated by dots. */
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;

export interface EventTypeParts {
  resource: string;
  event: string;
}

/** Resource = the text before the first dot, event = the rest (`contact.address.changed` → contact / address.changed). */
export function splitEventType(type: string): EventTypeParts | null {
  if (!EVENT_TYPE_PATTERN.test(type)) return null;
  const dot = type.indexOf('.');
  return { resource: type.slice(0, dot), event: type.slice(dot + 1) };
}

export interface MatchableEvent extends EventTypeParts {
  data: unknown;
  context: Record<string, unknown> | null;
}

export interface MatchableTrigger {
  resource: string;
  event: string;
  /** Dotted path into the event's data → the value it must equal. */
  filter: Record<string, unknown> | null;
}

export interface CandidateWebhook {
  id: string;
  forLogin: string | null;
  triggers: MatchableTrigger[];
  /** The webhook's ACTIVE endpoints. */
  endpointIds: string[];
}

/** The value at a dotted path (`customer.country`, `items.0.sku`), or undefined where the path does not exist. */
export function valueAtPath(data: unknown, path: string): unknown {
  let value = data;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    if (Array.isArray(value)) {
      if (!/^\d+$/.test(key)) return undefined;
      value = value[Number(key)];
    } else {
      if (!Object.hasOwn(value, key)) return undefined;
      value = (value as Record<string, unknown>)[key];
    }
  }
  return value;
}

/** Structural equality of JSON values: arrays in order, objects by key whatever the key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  const aKeys = Object.keys(a);
  const bObj = b as Record<string, unknown>;
  return (
    aKeys.length === Object.keys(bObj).length &&
    aKeys.every((k) => Object.hasOwn(bObj, k) && jsonEqual((a as Record<string, unknown>)[k], bObj[k]))
  );
}

/*
 * The matching rules, one predicate each. triggerMatches and webhookMatches (publishing, the feed) short-circuit
 * through them; explainMatch (explain.ts) evaluates every one of them to say which held.
 */

/** A trigger's resource or event: `*` or equal. */
export function segmentMatches(pattern: string, value: string): boolean {
  return pattern === '*' || pattern === value;
}

/** A filter key holds when its path exists in the data with an equal value. */
export function filterValueMatches(actual: unknown, expected: unknown): boolean {
  return actual !== undefined && jsonEqual(actual, expected);
}

/** A webhook made for one login only takes events whose `context.login` is that login. */
export function loginMatches(forLogin: string | null, context: MatchableEvent['context']): boolean {
  return forLogin === null || context?.login === forLogin;
}

/** Resource and event equal (or `*`), and every filter path present in the data with an equal value. */
export function triggerMatches(trigger: MatchableTrigger, event: MatchableEvent): boolean {
  if (!segmentMatches(trigger.resource, event.resource) || !segmentMatches(trigger.event, event.event)) return false;
  if (!trigger.filter) return true;
  return Object.entries(trigger.filter).every(([path, expected]) => filterValueMatches(valueAtPath(event.data, path), expected));
}

/** forLogin holds and at least one trigger matches. */
export function webhookMatches(webhook: Pick<CandidateWebhook, 'forLogin' | 'triggers'>, event: MatchableEvent): boolean {
  return loginMatches(webhook.forLogin, event.context) && webhook.triggers.some((trigger) => triggerMatches(trigger, event));
}

export interface PlannedDelivery {
  /** Index into the events given to planDeliveries. */
  eventIndex: number;
  webhookId: string;
  endpointId: string;
}

/** One delivery per (event, ACTIVE endpoint of a matching webhook), however many of the webhook's triggers match. */
export function planDeliveries(events: MatchableEvent[], webhooks: CandidateWebhook[]): PlannedDelivery[] {
  const planned: PlannedDelivery[] = [];
  events.forEach((event, eventIndex) => {
    for (const webhook of webhooks) {
      if (!webhookMatches(webhook, event)) continue;
      for (const endpointId of webhook.endpointIds) planned.push({ eventIndex, webhookId: webhook.id, endpointId });
    }
  });
  return planned;
}
