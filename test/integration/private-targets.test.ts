import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostResolver } from '../../src/security/targets.js';
import { startTestApp } from '../helpers/app.js';
import { createWebhook } from '../helpers/webhook-fixtures.js';

/**
 * Endpoint URLs are checked when they are saved. Nothing here sends traffic: the apps run without a delivery
 * worker (HOOKLINE_ROLE=api), and host names resolve only through this fake resolver.
 */
const FAKE_DNS: Record<string, string[]> = {
  'internal.example': ['10.1.2.3'],
  'mixed.example': ['93.184.216.34', '127.0.0.1'],
  'public.example': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
};
const looked: string[] = [];
const resolver: HostResolver = async (host) => {
  looked.push(host);
  const addresses = FAKE_DNS[host];
  if (!addresses) throw Object.assign(new Error(`no such host ${host}`), { code: 'ENOTFOUND' });
  return addresses;
};

const PRIVATE = [
  'http://127.0.0.2/',
  'http://10.0.0.1/',
  'http://169.254.169.254/',
  'http://[::1]/',
  'http://2130706433/',
  'http://0x7f.1/',
  'http://[::ffff:127.0.0.1]/',
];

const CREATE = `mutation ($input: CreateEndpointInput!) { createEndpoint(input: $input) { id url } }`;

async function appWith(env: Record<string, string>) {
  const t = await startTestApp({ HOOKLINE_ROLE: 'api', ...env }, { resolver });
  const { webhook } = await createWebhook(t.gql, { name: 'targets' });
  const save = (url: string) => t.gql(CREATE, { input: { webhookId: webhook.id, url } });
  return { t, save };
}

describe('by default', () => {
  let app: Awaited<ReturnType<typeof appWith>>;
  beforeAll(async () => {
    app = await appWith({ HOOKLINE_ALLOWED_CIDRS: '' });
  });
  afterAll(() => app?.t.stop());

  it.each(PRIVATE)('refuses %s', async (url) => {
    const result = await app.save(url);
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(/^input\.url: .*private or reserved address/);
    expect(result.data).toBeNull();
  });

  it('refuses a host name that resolves to a private address', async () => {
    const result = await app.save('http://internal.example/hook');
    expect(looked).toContain('internal.example');
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(/^input\.url: "internal\.example" resolves to 10\.1\.2\.3/);
  });

  it('refuses a host name with any private address among its addresses', async () => {
    const result = await app.save('https://mixed.example/');
    expect(result.errors?.[0].message).toMatch(/^input\.url: .*127\.0\.0\.1/);
  });

  it('refuses a host name that does not resolve', async () => {
    const result = await app.save('https://nowhere.example/');
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(/^input\.url: host "nowhere\.example" could not be resolved/);
  });

  it('accepts a host name with only public addresses', async () => {
    const result = await app.save('https://public.example/hook');
    expect(result.errors).toBeUndefined();
    expect(result.data.createEndpoint.url).toBe('https://public.example/hook');
  });
});

describe('with HOOKLINE_ALLOW_PRIVATE_TARGETS=1', () => {
  let app: Awaited<ReturnType<typeof appWith>>;
  beforeAll(async () => {
    app = await appWith({ HOOKLINE_ALLOWED_CIDRS: '', HOOKLINE_ALLOW_PRIVATE_TARGETS: '1' });
  });
  afterAll(() => app?.t.stop());

  it.each(PRIVATE)('accepts %s', async (url) => {
    const result = await app.save(url);
    expect(result.errors).toBeUndefined();
    expect(result.data.createEndpoint.id).toMatch(/^ep_/);
  });

  it('accepts a host name that resolves to a private address', async () => {
    expect((await app.save('http://internal.example/hook')).errors).toBeUndefined();
  });
});

describe('with HOOKLINE_ALLOWED_CIDRS', () => {
  let app: Awaited<ReturnType<typeof appWith>>;
  beforeAll(async () => {
    app = await appWith({ HOOKLINE_ALLOWED_CIDRS: '10.0.0.0/8, 169.254.169.254/32' });
  });
  afterAll(() => app?.t.stop());

  it('accepts addresses inside the listed ranges', async () => {
    for (const url of ['http://10.0.0.1/', 'http://169.254.169.254/latest', 'http://internal.example/hook']) {
      const result = await app.save(url);
      expect(result.errors, url).toBeUndefined();
    }
  });

  it('still refuses private addresses outside them', async () => {
    for (const url of ['http://127.0.0.2/', 'http://169.254.0.1/', 'http://192.168.0.1/', 'http://[::1]/']) {
      const result = await app.save(url);
      expect(result.errors?.[0].extensions?.code, url).toBe('BAD_USER_INPUT');
    }
  });
});
