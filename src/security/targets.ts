import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/** Resolves a host name to every address it has. Tests inject their own, so nothing leaves the machine. */
export type HostResolver = (hostname: string) => Promise<string[]>;

export const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

export type TargetCheck = { ok: true; addresses: string[] } | { ok: false; reason: string };

/**
 * Which addresses Hookline may connect to. Only globally routable unicast addresses are allowed by default:
 * loopback, private, link-local (cloud metadata), carrier-grade NAT, unique-local, multicast, reserved and the
 * unspecified ranges are refused, including IPv4 inside IPv6 (::ffff:127.0.0.1). WHATWG URL parsing already turns
 * numeric host forms (2130706433, 0x7f.1) into dotted IPv4, so they are checked as what they are.
 */
export class TargetPolicy {
  private readonly allowed: [ipaddr.IPv4 | ipaddr.IPv6, number][];

  constructor(
    private readonly allowPrivate: boolean,
    allowedCidrs: string[],
    private readonly resolver: HostResolver = systemResolver,
  ) {
    this.allowed = allowedCidrs.map((cidr) => {
      try {
        return ipaddr.parseCIDR(cidr);
      } catch {
        throw new Error(`HOOKLINE_ALLOWED_CIDRS: "${cidr}" is not a CIDR range`);
      }
    });
  }

  isAllowedAddress(address: string): boolean {
    if (this.allowPrivate) return true;
    let parsed: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      parsed = ipaddr.parse(address);
    } catch {
      return false;
    }
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
      parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    }
    for (const [range, bits] of this.allowed) {
      if (range.kind() === parsed.kind() && parsed.match(range, bits)) return true;
    }
    return parsed.range() === 'unicast';
  }

  /** Resolves the URL's host and checks every address; a host with any refused address is refused. */
  async check(url: URL): Promise<TargetCheck> {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    let addresses: string[];
    if (ipaddr.isValid(host)) {
      addresses = [host];
    } else {
      try {
        addresses = await this.resolver(host);
      } catch (err) {
        return { ok: false, reason: `host "${host}" could not be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
      }
      if (addresses.length === 0) return { ok: false, reason: `host "${host}" has no addresses` };
    }
    const refused = addresses.find((address) => !this.isAllowedAddress(address));
    if (refused) {
      return {
        ok: false,
        reason: `"${host}" resolves to ${refused}, a private or reserved address (allow it with HOOKLINE_ALLOWED_CIDRS or HOOKLINE_ALLOW_PRIVATE_TARGETS=1)`,
      };
    }
    return { ok: true, addresses };
  }
}
