import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signatureHeaders } from '../../src/delivery/sign.js';

const current = `whsec_${Buffer.from('c'.repeat(32)).toString('base64')}`;
const previous = `whsec_${Buffer.from('p'.repeat(32)).toString('base64')}`;
const body = JSON.stringify({ event_id: 'evt_1', data: { n: 1 } });

describe('signatureHeaders', () => {
  it('signs so that the standardwebhooks verifier accepts it, with the event id as webhook-id', () => {
    const now = new Date();
    const headers = signatureHeaders({ secret: current, previousSecret: null, previousSecretExpiresAt: null }, 'evt_1', body, now);
    expect(headers['webhook-id']).toBe('evt_1');
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(now.getTime() / 1000)));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(current).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(previous).verify(body, headers)).toThrow(/No matching signature/);
    expect(() => new Webhook(current).verify(body + ' ', headers)).toThrow();
  });

  it('signs with both secrets while the old one is within its overlap, and only the new one after', () => {
    const now = new Date();
    const during = signatureHeaders(
      { secret: current, previousSecret: previous, previousSecretExpiresAt: new Date(now.getTime() + 60_000) },
      'evt_2',
      body,
      now,
    );
    expect(during['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(current).verify(body, during)).toBeTruthy();
    expect(new Webhook(previous).verify(body, during)).toBeTruthy();

    const after = signatureHeaders(
      { secret: current, previousSecret: previous, previousSecretExpiresAt: new Date(now.getTime() - 1) },
      'evt_2',
      body,
      now,
    );
    expect(after['webhook-signature'].split(' ')).toHaveLength(1);
    expect(() => new Webhook(previous).verify(body, after)).toThrow();
  });

  it('signs an empty body (GET)', () => {
    const headers = signatureHeaders({ secret: current, previousSecret: null, previousSecretExpiresAt: null }, 'evt_3', '', new Date());
    expect(new Webhook(current).verify('', headers)).toBeUndefined();
  });
});
