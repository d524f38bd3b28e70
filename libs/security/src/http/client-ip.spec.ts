import { AddressList, clientKey, normalizeIp } from './client-ip';

describe('client IP', () => {
  it('treats IPv4-mapped IPv6 as IPv4', () => {
    expect(normalizeIp('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeIp('2001:db8::1')).toBe('2001:db8::1');
    expect(normalizeIp(undefined)).toBe('unknown');
  });

  it('matches IPs and CIDRs of both families, mapped addresses included', () => {
    const list = new AddressList([
      '127.0.0.1',
      '::1',
      '10.0.0.0/8',
      'fd00::/8',
      '::ffff:192.0.2.0/120',
    ]);
    expect(list.has('127.0.0.1')).toBe(true);
    expect(list.has('::1')).toBe(true);
    expect(list.has('10.200.3.4')).toBe(true);
    expect(list.has('::ffff:10.1.1.1')).toBe(true);
    expect(list.has('fd12::5')).toBe(true);
    expect(list.has('192.0.2.77')).toBe(true);
    expect(list.has('11.0.0.1')).toBe(false);
    expect(list.has('127.0.0.2')).toBe(false);
    expect(list.has('not-an-ip')).toBe(false);
    expect(new AddressList([]).has('127.0.0.1')).toBe(false);
  });
});

describe('clientKey', () => {
  it('keys IPv4 (mapped or not) by the address and IPv6 by its prefix', () => {
    expect(clientKey('203.0.113.7', 64)).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7', 64)).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd', 64)).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::1', 64)).toBe(clientKey('2001:db8:1:2:ffff::9', 64));
    expect(clientKey('2001:db8:1:3::1', 64)).not.toBe(clientKey('2001:db8:1:2::1', 64));
    expect(clientKey('2001:db8:1:2:ff00::1', 72)).toBe('2001:db8:1:2:ff00::/72');
    expect(clientKey('2001:db8::1', 128)).toBe('2001:db8::1');
  });
});
