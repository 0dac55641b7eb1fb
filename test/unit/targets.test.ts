import { describe, expect, it } from 'vitest';
import { TargetPolicy, type HostResolver } from '../../src/security/targets.js';

/** Host names resolve only through this table: nothing is looked up off the machine. */
const fakeDns =
  (table: Record<string, string[]>): HostResolver =>
  async (host) => {
    if (host in table) return table[host];
    throw Object.assign(new Error(`no such host ${host}`), { code: 'ENOTFOUND' });
  };

const strict = new TargetPolicy(false, [], fakeDns({}));
const check = (policy: TargetPolicy, url: string) => policy.check(new URL(url));

describe('TargetPolicy: the contract\'s private ranges are refused', () => {
  it.each([
    ['127.0.0.0/8 (loopback)', ['127.0.0.1', '127.255.255.254']],
    ['::1 (IPv6 loopback)', ['::1']],
    ['0.0.0.0/8', ['0.0.0.0', '0.1.2.3']],
    ['10/8', ['10.0.0.1', '10.255.255.255']],
    ['172.16/12', ['172.16.0.1', '172.31.255.255']],
    ['192.168/16', ['192.168.0.1', '192.168.255.255']],
    ['169.254/16 (link-local, cloud metadata)', ['169.254.169.254', '169.254.0.1']],
    ['100.64/10 (carrier-grade NAT)', ['100.64.0.1', '100.127.255.255']],
    ['fc00::/7 (unique local)', ['fc00::1', 'fd12:3456::1']],
    ['fe80::/10 (IPv6 link-local)', ['fe80::1', 'febf::ffff']],
    ['IPv4-mapped IPv6 of private ranges', ['::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:a9fe:a9fe', '::ffff:192.168.1.1']],
    ['multicast, broadcast and the unspecified IPv6 address', ['224.0.0.1', '255.255.255.255', '::']],
  ])('%s', (_range, addresses) => {
    for (const address of addresses) expect(strict.isAllowedAddress(address), address).toBe(false);
  });

  it('allows public addresses just outside those ranges', () => {
    for (const address of ['172.32.0.1', '172.15.255.255', '100.128.0.1', '100.63.255.255', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) {
      expect(strict.isAllowedAddress(address), address).toBe(true);
    }
  });

  it('refuses what is not an address at all', () => {
    expect(strict.isAllowedAddress('not-an-ip')).toBe(false);
  });
});

describe('TargetPolicy.check on URLs', () => {
  it.each([
    ['decimal', 'http://2130706433/hook'],
    ['hexadecimal dotted', 'http://0x7f.1/hook'],
    ['hexadecimal whole', 'http://0x7f000001/hook'],
    ['octal', 'http://0177.0.0.1/hook'],
    ['short dotted', 'http://127.1/hook'],
    ['IPv4-mapped IPv6', 'http://[::ffff:127.0.0.1]/hook'],
    ['IPv4-mapped metadata, long form', 'http://[0:0:0:0:0:ffff:a9fe:a9fe]/latest/meta-data'],
    ['"0"', 'http://0/'],
  ])('refuses a numeric host form (%s) as the address `new URL` makes of it', async (_form, url) => {
    const result = await check(strict, url);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/private or reserved address/);
  });

  it('allows a public IP literal without asking the resolver', async () => {
    const policy = new TargetPolicy(false, [], async () => {
      throw new Error('the resolver must not be asked about an IP literal');
    });
    expect(await check(policy, 'https://93.184.216.34/hook')).toEqual({ ok: true, addresses: ['93.184.216.34'] });
    expect(await check(policy, 'https://[2606:4700::1111]/hook')).toEqual({ ok: true, addresses: ['2606:4700::1111'] });
  });

  it('checks every address a name resolves to: one private address refuses the host', async () => {
    const policy = new TargetPolicy(
      false,
      [],
      fakeDns({
        'public.test': ['93.184.216.34', '2606:4700::1111'],
        'rebind.test': ['93.184.216.34', '10.0.0.7'],
        'metadata.test': ['169.254.169.254'],
      }),
    );
    expect(await check(policy, 'https://public.test/x')).toEqual({ ok: true, addresses: ['93.184.216.34', '2606:4700::1111'] });
    const rebind = await check(policy, 'https://rebind.test/x');
    expect(rebind).toMatchObject({ ok: false });
    if (!rebind.ok) expect(rebind.reason).toMatch(/"rebind\.test" resolves to 10\.0\.0\.7/);
    expect((await check(policy, 'http://metadata.test/')).ok).toBe(false);
  });

  it('refuses a host the resolver cannot resolve, or that has no addresses, naming the host', async () => {
    const policy = new TargetPolicy(false, [], fakeDns({ 'empty.test': [] }));
    const missing = await check(policy, 'https://missing.test/');
    expect(missing).toEqual({ ok: false, reason: 'host "missing.test" could not be resolved (ENOTFOUND)' });
    const empty = await check(policy, 'https://empty.test/');
    expect(empty).toEqual({ ok: false, reason: 'host "empty.test" has no addresses' });
    const broken = new TargetPolicy(false, [], async () => {
      throw new Error('resolver exploded');
    });
    const result = await check(broken, 'https://any.test/');
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) expect(result.reason).toMatch(/host "any\.test" could not be resolved/);
  });
});

describe('HOOKLINE_ALLOWED_CIDRS and HOOKLINE_ALLOW_PRIVATE_TARGETS', () => {
  it('allows addresses inside an allowed range, and only those', async () => {
    const policy = new TargetPolicy(false, ['127.0.0.1/32', '10.1.0.0/16', 'fd00:1::/32'], fakeDns({ 'svc.test': ['10.1.2.3'] }));
    expect(policy.isAllowedAddress('127.0.0.1')).toBe(true);
    expect(policy.isAllowedAddress('127.0.0.2')).toBe(false);
    expect(policy.isAllowedAddress('10.1.255.255')).toBe(true);
    expect(policy.isAllowedAddress('10.2.0.1')).toBe(false);
    expect(policy.isAllowedAddress('fd00:1::5')).toBe(true);
    expect(policy.isAllowedAddress('fd00:2::5')).toBe(false);
    // An IPv4-mapped address is matched as the IPv4 address it carries.
    expect(policy.isAllowedAddress('::ffff:10.1.0.9')).toBe(true);
    expect(await check(policy, 'http://svc.test:8080/')).toEqual({ ok: true, addresses: ['10.1.2.3'] });
    expect((await check(policy, 'http://2130706433/')).ok).toBe(true);
  });

  it('refuses a malformed range, naming the setting', () => {
    expect(() => new TargetPolicy(false, ['10.0.0.0/33'])).toThrow(/HOOKLINE_ALLOWED_CIDRS: "10\.0\.0\.0\/33"/);
  });

  it('allows everything with the allow-all flag', async () => {
    const policy = new TargetPolicy(true, [], fakeDns({ 'intranet.test': ['192.168.1.10'] }));
    for (const address of ['127.0.0.1', '::1', '169.254.169.254', 'fd00::1', '::ffff:10.0.0.1']) {
      expect(policy.isAllowedAddress(address), address).toBe(true);
    }
    expect(await check(policy, 'http://intranet.test/')).toEqual({ ok: true, addresses: ['192.168.1.10'] });
    // Names that do not resolve are still refused: there is nowhere to send to.
    expect((await check(policy, 'http://nowhere.test/')).ok).toBe(false);
  });
});
