import ipaddr from 'ipaddr.js';

/**
 * Cloud metadata endpoints that a public-looking range would let through (Azure's wire server,
 * ECS task metadata) or that are worth naming although their range already refuses them.
 */
const METADATA_ADDRESSES = new Set([
  '169.254.169.254',
  '169.254.170.2',
  '168.63.129.16',
  '100.100.100.200',
  'fd00:ec2:0:0:0:0:0:254',
]);

/** IPv6's global unicast space, 2000::/3: everything else is special by assignment. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/** IPv4-compatible `::a.b.c.d` (deprecated, ::/96): read as the IPv4 address it embeds. */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  if (address.isIPv4MappedAddress()) return address.toIPv4Address();
  const parts = address.parts;
  if (parts.slice(0, 6).every((part) => part === 0) && (parts[6] !== 0 || parts[7] > 1)) {
    return ipaddr.IPv4.parse(
      `${parts[6] >> 8}.${parts[6] & 0xff}.${parts[7] >> 8}.${parts[7] & 0xff}`,
    );
  }
  return undefined;
}

/**
 * Whether a webhook may be sent to `address`: a public unicast address, decided from the
 * address alone. IPv4-mapped and IPv4-compatible forms are unmapped first; loopback, private,
 * link-local, CGNAT (100.64/10), unique-local (fc00::/7), unspecified (`0.0.0.0`, `::`),
 * broadcast, multicast, documentation, benchmarking, reserved, the IPv6 transition ranges that
 * embed an IPv4 address (6to4, Teredo, NAT64) and the metadata addresses are all refused.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v4 = embeddedIPv4(parsed as ipaddr.IPv6);
    if (v4) parsed = v4;
  }
  if (METADATA_ADDRESSES.has(parsed.toNormalizedString())) return false;
  if (parsed.range() !== 'unicast') return false;
  return parsed.kind() === 'ipv4' || (parsed as ipaddr.IPv6).match(GLOBAL_UNICAST_V6);
}

/** The host of a URL as an address, when it is one (`[::1]` → `::1`). */
export function addressLiteralOf(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) ? bare : undefined;
}
