import type { State } from '../../schema/db/enums.js';
import {
  filterValueMatches,
  loginMatches,
  segmentMatches,
  splitEventType,
  valueAtPath,
  type MatchableEvent,
  type MatchableTrigger,
} from './matching.js';

/**
 * Why an event did or did not reach a webhook: every rule of the matcher (matching.ts) evaluated one by one,
 * through the same predicates, against the webhook's triggers and states as they are now.
 */

export interface ValueCheck {
  expected: unknown;
  actual: unknown;
  matched: boolean;
}

export interface FilterKeyCheck extends ValueCheck {
  path: string;
  /** Whether the path exists in the event's data at all. */
  found: boolean;
}

export interface TriggerCheck<T> {
  trigger: T;
  resource: ValueCheck;
  event: ValueCheck;
  filter: FilterKeyCheck[];
  matched: boolean;
}

export interface EndpointCheck<E> {
  endpoint: E;
  /** Whether the endpoint's state lets it receive new deliveries (ACTIVE). */
  allowed: boolean;
  reason: string;
}

export interface MatchExplanation<T, E> {
  /** The event matches the webhook: forLogin holds and at least one trigger matches. */
  matched: boolean;
  /** Matched, the webhook is ACTIVE and at least one endpoint is: a delivery would be made now. */
  wouldDeliver: boolean;
  webhookState: State;
  forLogin: ValueCheck;
  triggers: TriggerCheck<T>[];
  endpoints: EndpointCheck<E>[];
  summary: string;
}

export function explainMatch<T extends MatchableTrigger, E extends { state: State }>(
  event: { type: string; data: unknown; context: Record<string, unknown> | null },
  webhook: { state: State; forLogin: string | null },
  triggers: T[],
  endpoints: E[],
): MatchExplanation<T, E> {
  // Stored events always have a valid type; an unsplittable one simply matches no trigger.
  const parts = splitEventType(event.type) ?? { resource: event.type, event: '' };
  const matchable: MatchableEvent = { ...parts, data: event.data, context: event.context };
  const forLogin = {
    expected: webhook.forLogin,
    actual: event.context?.login ?? null,
    matched: loginMatches(webhook.forLogin, event.context),
  };
  const triggerChecks = triggers.map((trigger) => checkTrigger(trigger, matchable));
  const matched = forLogin.matched && triggerChecks.some((t) => t.matched);
  const endpointChecks = endpoints.map((endpoint) => ({
    endpoint,
    allowed: endpoint.state === 'ACTIVE',
    reason: endpoint.state === 'ACTIVE' ? 'ACTIVE: receives new deliveries' : `${endpoint.state}: gets no new deliveries`,
  }));
  const webhookActive = webhook.state === 'ACTIVE';
  const wouldDeliver = matched && webhookActive && endpointChecks.some((e) => e.allowed);
  return {
    matched,
    wouldDeliver,
    webhookState: webhook.state,
    forLogin,
    triggers: triggerChecks,
    endpoints: endpointChecks,
    summary: summarise({ matched, wouldDeliver, webhookActive, webhook, forLogin, triggerChecks, endpointChecks }),
  };
}

function checkTrigger<T extends MatchableTrigger>(trigger: T, event: MatchableEvent): TriggerCheck<T> {
  const resource = { expected: trigger.resource, actual: event.resource, matched: segmentMatches(trigger.resource, event.resource) };
  const eventName = { expected: trigger.event, actual: event.event, matched: segmentMatches(trigger.event, event.event) };
  const filter = Object.entries(trigger.filter ?? {}).map(([path, expected]) => {
    const actual = valueAtPath(event.data, path);
    return { path, expected, actual: actual ?? null, found: actual !== undefined, matched: filterValueMatches(actual, expected) };
  });
  return {
    trigger,
    resource,
    event: eventName,
    filter,
    matched: resource.matched && eventName.matched && filter.every((f) => f.matched),
  };
}

/** One sentence for people: the first reason that decided it. */
function summarise(x: {
  matched: boolean;
  wouldDeliver: boolean;
  webhookActive: boolean;
  webhook: { state: State; forLogin: string | null };
  forLogin: ValueCheck;
  triggerChecks: TriggerCheck<unknown>[];
  endpointChecks: EndpointCheck<unknown>[];
}): string {
  if (!x.forLogin.matched) {
    return `No match: the webhook is for login "${x.webhook.forLogin}", the event's context.login is ${JSON.stringify(x.forLogin.actual)}.`;
  }
  if (x.triggerChecks.length === 0) return 'No match: the webhook has no triggers.';
  if (!x.matched) return 'No match: none of the webhook\'s triggers matches the event.';
  if (!x.webhookActive) return `Matches, but the webhook is ${x.webhook.state}: it gets no new deliveries.`;
  if (!x.wouldDeliver) return 'Matches, but no endpoint is ACTIVE: none gets a delivery.';
  const count = x.endpointChecks.filter((e) => e.allowed).length;
  return `Matches: ${count} ACTIVE endpoint${count === 1 ? '' : 's'} would get a delivery.`;
}
