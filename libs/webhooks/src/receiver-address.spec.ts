import { addressLiteralOf, isPublicAddress } from './receiver-address';

describe('isPublicAddress', () => {
  it.each([
    ['8.8.8.8'],
    ['93.184.215.14'],
    ['1.1.1.1'],
    ['2606:4700:4700::1111'],
    ['2a00:1450:4001:80b::200e'],
    ['::ffff:8.8.8.8'],
  ])('allows the public unicast address %s', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'IPv6 loopback'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'IPv6 unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.10', 'private'],
    ['169.254.169.254', 'link-local metadata'],
    ['169.254.170.2', 'ECS metadata'],
    ['168.63.129.16', 'Azure wire server (public range)'],
    ['100.64.0.1', 'CGNAT'],
    ['100.100.100.200', 'CGNAT metadata'],
    ['fd00::1', 'unique-local'],
    ['fd00:ec2::254', 'unique-local metadata'],
    ['fc00::1', 'unique-local'],
    ['fe80::1', 'IPv6 link-local'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'IPv6 multicast'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['240.0.0.1', 'reserved'],
    ['2001:db8::1', 'IPv6 documentation'],
    ['2002:7f00:1::', '6to4 of loopback'],
    ['64:ff9b::7f00:1', 'NAT64 of loopback'],
    ['2001::1', 'Teredo'],
    ['100::1', 'discard-only'],
    ['not-an-address', 'not an address'],
  ])('refuses %s (%s)', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });
});

describe('addressLiteralOf', () => {
  it('reads URL hosts that are addresses, brackets removed, and nothing else', () => {
    expect(addressLiteralOf('[::1]')).toBe('::1');
    expect(addressLiteralOf('10.0.0.1')).toBe('10.0.0.1');
    expect(addressLiteralOf('hooks.example.com')).toBeUndefined();
  });
});
