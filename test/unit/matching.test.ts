import { describe, expect, it } from 'vitest';
import {
  jsonEqual,
  planDeliveries,
  splitEventType,
  triggerMatches,
  valueAtPath,
  webhookMatches,
  type CandidateWebhook,
  type MatchableEvent,
} from '../../src/events/matching.js';

const event = (type: string, data: unknown = {}, context: Record<string, unknown> | null = null): MatchableEvent => ({
  ...splitEventType(type)!,
  data,
  context,
});

describe('splitEventType', () => {
  it('splits at the first dot; the event keeps any further dots', () => {
    expect(splitEventType('contact.created')).toEqual({ resource: 'contact', event: 'created' });
    expect(splitEventType('contact.address.changed')).toEqual({ resource: 'contact', event: 'address.changed' });
    expect(splitEventType('user_2.log-in')).toEqual({ resource: 'user_2', event: 'log-in' });
  });

  it('refuses types without a dot, with empty segments or other characters', () => {
    for (const bad of ['contact', '.created', 'contact.', 'contact..created', 'con tact.created', 'contact.créé', 'a.b*']) {
      expect(splitEventType(bad), bad).toBeNull();
    }
  });
});

describe('valueAtPath', () => {
  const data = { customer: { country: 'SE', tags: ['a', { b: 1 }] }, 'n': null };
  it('follows dotted paths through objects and array indexes', () => {
    expect(valueAtPath(data, 'customer.country')).toBe('SE');
    expect(valueAtPath(data, 'customer.tags.1.b')).toBe(1);
    expect(valueAtPath(data, 'n')).toBeNull();
  });
  it('is undefined where the path does not exist', () => {
    expect(valueAtPath(data, 'customer.city')).toBeUndefined();
    expect(valueAtPath(data, 'customer.country.length')).toBeUndefined();
    expect(valueAtPath(data, 'customer.tags.x')).toBeUndefined();
    expect(valueAtPath(data, 'customer.toString')).toBeUndefined();
    expect(valueAtPath('text', 'a')).toBeUndefined();
  });
});

describe('jsonEqual', () => {
  it('compares objects by keys whatever their order, arrays in order', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEqual({ a: 1 }, [1])).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
    expect(jsonEqual(1, '1')).toBe(false);
    expect(jsonEqual(null, null)).toBe(true);
  });
});

describe('triggerMatches', () => {
  const t = (resource: string, ev: string, filter: Record<string, unknown> | null = null) => ({ resource, event: ev, filter });

  it('matches resource and event exactly or by *', () => {
    const e = event('contact.created');
    expect(triggerMatches(t('contact', 'created'), e)).toBe(true);
    expect(triggerMatches(t('contact', '*'), e)).toBe(true);
    expect(triggerMatches(t('*', 'created'), e)).toBe(true);
    expect(triggerMatches(t('*', '*'), e)).toBe(true);
    expect(triggerMatches(t('contact', 'deleted'), e)).toBe(false);
    expect(triggerMatches(t('user', '*'), e)).toBe(false);
    expect(triggerMatches(t('contact', 'address'), event('contact.address.changed'))).toBe(false);
    expect(triggerMatches(t('contact', 'address.changed'), event('contact.address.changed'))).toBe(true);
  });

  it('needs every filter path to equal its value, objects and arrays compared deeply', () => {
    const e = event('order.paid', { customer: { country: 'SE' }, total: 10, items: [{ sku: 'a' }], flag: null });
    expect(triggerMatches(t('order', 'paid', { 'customer.country': 'SE' }), e)).toBe(true);
    expect(triggerMatches(t('order', 'paid', { 'customer.country': 'SE', total: 10 }), e)).toBe(true);
    expect(triggerMatches(t('order', 'paid', { 'customer.country': 'SE', total: 11 }), e)).toBe(false);
    expect(triggerMatches(t('order', 'paid', { customer: { country: 'SE' } }), e)).toBe(true);
    expect(triggerMatches(t('order', 'paid', { items: [{ sku: 'a' }] }), e)).toBe(true);
    expect(triggerMatches(t('order', 'paid', { items: [{ sku: 'b' }] }), e)).toBe(false);
    expect(triggerMatches(t('order', 'paid', { total: '10' }), e)).toBe(false);
    expect(triggerMatches(t('order', 'paid', { flag: null }), e)).toBe(true);
    // A missing path is not null.
    expect(triggerMatches(t('order', 'paid', { missing: null }), e)).toBe(false);
    expect(triggerMatches(t('order', 'paid', {}), e)).toBe(true);
  });
});

describe('webhookMatches and planDeliveries', () => {
  const webhook = (id: string, triggers: CandidateWebhook['triggers'], endpointIds: string[], forLogin: string | null = null) => ({
    id,
    forLogin,
    triggers,
    endpointIds,
  });

  it('a forLogin webhook takes only events whose context.login is that login', () => {
    const w = webhook('wh_1', [{ resource: '*', event: '*', filter: null }], ['ep_1'], 'alice');
    expect(webhookMatches(w, event('user.login', {}, { login: 'alice' }))).toBe(true);
    expect(webhookMatches(w, event('user.login', {}, { login: 'bob' }))).toBe(false);
    expect(webhookMatches(w, event('user.login', {}, null))).toBe(false);
  });

  it('plans one delivery per (event, endpoint) even when several triggers match', () => {
    const webhooks = [
      webhook(
        'wh_a',
        [
          { resource: 'contact', event: '*', filter: null },
          { resource: '*', event: 'created', filter: null },
        ],
        ['ep_a1', 'ep_a2'],
      ),
      webhook('wh_b', [{ resource: 'contact', event: 'deleted', filter: null }], ['ep_b1']),
    ];
    const events = [event('contact.created'), event('contact.deleted'), event('invoice.sent')];
    expect(planDeliveries(events, webhooks)).toEqual([
      { eventIndex: 0, webhookId: 'wh_a', endpointId: 'ep_a1' },
      { eventIndex: 0, webhookId: 'wh_a', endpointId: 'ep_a2' },
      { eventIndex: 1, webhookId: 'wh_a', endpointId: 'ep_a1' },
      { eventIndex: 1, webhookId: 'wh_a', endpointId: 'ep_a2' },
      { eventIndex: 1, webhookId: 'wh_b', endpointId: 'ep_b1' },
    ]);
  });
});
