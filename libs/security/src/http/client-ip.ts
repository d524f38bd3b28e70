import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';
import type { Request } from 'express';

/** `::ffff:1.2.3.4` is the same client as `1.2.3.4` for limits, bans and exemptions. */
export function normalizeIp(address: string | undefined): string {
  if (!address) return 'unknown';
  return remember(normalized, address, () => {
    try {
      return ipaddr.process(address).toString();
    } catch {
      return address;
    }
  });
}

/**
 * Every request asks for its client's address several times, and parsing it showed in profiles:
 * answers are remembered per address string, in maps that start over when they fill up (so an
 * attacker rotating addresses costs memory of at most MEMO_SIZE entries).
 */
const MEMO_SIZE = 10_000;
const normalized = new Map<string, string>();

function remember<T>(memo: Map<string, T>, key: string, compute: () => T): T {
  const known = memo.get(key);
  if (known !== undefined) return known;
  const value = compute();
  if (memo.size >= MEMO_SIZE) memo.clear();
  memo.set(key, value);
  return value;
}

/**
 * The client's address: the socket's, unless TRUST_PROXY (Express's `trust proxy`, never
 * `true`) says which proxies may speak for it in X-Forwarded-For. A forwarded value that is not
 * an IP address is never a client key (it would let a client pick or rotate its own): the
 * socket's address is used instead.
 */
export function clientIp(req: Request): string {
  const forwarded = req.ip;
  return normalizeIp(forwarded && isIP(forwarded) ? forwarded : req.socket.remoteAddress);
}

const keys = new Map<string, string>();

/**
 * What limits and bans count a client by: an IPv4 address itself (IPv4-mapped IPv6 included),
 * an IPv6 address's /`ipv6Prefix` network — one subscriber's allocation, which a client can
 * otherwise walk through for a fresh budget per request. `2001:db8:1:2::7` → `2001:db8:1:2::/64`.
 */
export function clientKey(ip: string, ipv6Prefix: number): string {
  return remember(keys, `${ip}/${ipv6Prefix}`, () => {
    if (!ipaddr.isValid(ip)) return ip;
    const address = normalizeAddress(ipaddr.parse(ip));
    if (address.kind() === 'ipv4' || ipv6Prefix >= 128) return address.toString();
    const bytes = address.toByteArray();
    for (let bit = ipv6Prefix; bit < 128; bit += 1) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
    return `${ipaddr.fromByteArray(bytes).toString()}/${ipv6Prefix}`;
  });
}

/** Matches addresses against a list of IPs and CIDRs (RATE_LIMIT_EXEMPT_IPS). */
export class AddressList {
  private readonly ranges: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;

  constructor(entries: string[]) {
    this.ranges = entries.map((entry) => {
      if (entry.includes('/')) {
        const [address, prefix] = ipaddr.parseCIDR(entry);
        return [normalizeAddress(address), normalizePrefix(address, prefix)];
      }
      const address = normalizeAddress(ipaddr.parse(entry));
      return [address, address.kind() === 'ipv4' ? 32 : 128];
    });
  }

  private readonly answers = new Map<string, boolean>();

  has(ip: string): boolean {
    return remember(this.answers, ip, () => {
      if (!ipaddr.isValid(ip)) return false;
      const address = normalizeAddress(ipaddr.parse(ip));
      return this.ranges.some(
        ([range, prefix]) => range.kind() === address.kind() && address.match(range, prefix),
      );
    });
  }
}

function normalizeAddress(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
    ? (address as ipaddr.IPv6).toIPv4Address()
    : address;
}

function normalizePrefix(address: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): number {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
    ? Math.max(0, prefix - 96)
    : prefix;
}
