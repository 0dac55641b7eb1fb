import { describe, expect, it } from 'vitest';
import { changedFields, redact } from '../../src/audit/record.js';

describe('redact', () => {
  it('hides secrets by field name at any depth, and credential-like header values, keeping the rest', () => {
    const webhook = {
      name: 'orders',
      secret: 'whsec_abc',
      previousSecret: null,
      headers: [
        { key: 'Authorization', value: 'Bearer t0k' },
        { key: 'X-Api-Key', value: 'k3y' },
        { key: 'x-tenant', value: 'acme' },
      ],
      endpoints: [{ url: 'http://127.0.0.1/a', auth: { apiKey: 'k', apiKeyHeader: 'x-key' } }, { auth: { basicUser: 'ann', basicPassword: 'pw' } }],
    };
    expect(redact(webhook)).toEqual({
      name: 'orders',
      secret: '[redacted]',
      // no secret set stays null: the entry still tells there was none
      previousSecret: null,
      headers: [
        { key: 'Authorization', value: '[redacted]' },
        { key: 'X-Api-Key', value: '[redacted]' },
        { key: 'x-tenant', value: 'acme' },
      ],
      endpoints: [
        { url: 'http://127.0.0.1/a', auth: { apiKey: '[redacted]', apiKeyHeader: 'x-key' } },
        { auth: { basicUser: 'ann', basicPassword: '[redacted]' } },
      ],
    });
    expect(webhook.secret).toBe('whsec_abc'); // the input is left as it was
  });
});

describe('changedFields', () => {
  it('keeps only the top-level fields that differ, bookkeeping aside', () => {
    const before = { name: 'a', state: 'ACTIVE', headers: [{ key: 'k', value: 'v' }], updatedAt: '2026-01-01', description: null };
    const after = { name: 'b', state: 'ACTIVE', headers: [{ key: 'k', value: 'w' }], updatedAt: '2026-01-02', description: null };
    expect(changedFields(before, after)).toEqual({
      before: { name: 'a', headers: [{ key: 'k', value: 'v' }] },
      after: { name: 'b', headers: [{ key: 'k', value: 'w' }] },
    });
  });

  it('shows a field present on one side only as null on the other', () => {
    expect(changedFields({ a: 1 }, { b: 2 })).toEqual({ before: { a: 1, b: null }, after: { a: null, b: 2 } });
  });
});
