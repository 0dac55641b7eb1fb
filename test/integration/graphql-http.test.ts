import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.stop());

/** The audits' requests, with the admin token added: every operation needs one. */
const authorizedFetch: typeof fetch = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${t.adminToken}`);
  return fetch(input, { ...init, headers });
};

describe('GraphQL over HTTP conformance (graphql-http serverAudits)', () => {
  const audits = serverAudits({ url: () => `${t.url}/graphql`, fetchFn: authorizedFetch });

  it('has the full list of audits', () => {
    expect(audits.length).toBeGreaterThanOrEqual(61);
  });

  for (const audit of audits) {
    it(audit.name, async () => {
      const result = await audit.fn();
      // A failing audit reports why (status, body) in its reason and response.
      expect(result.status === 'ok' ? 'ok' : `${result.status}: ${(result as { reason?: string }).reason}`).toBe('ok');
    });
  }
});
