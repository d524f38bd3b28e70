import type { Request } from 'express';
import Redis, { Cluster } from 'ioredis';
import type { ApiKeyIdentity, ApiKeyService } from '../api-keys/api-key.service';
import { KeyCountedRoutes } from './key-counted-routes';

const KEY = 'rl_0123abcd_presented';

function identity(overrides: Partial<ApiKeyIdentity> = {}): ApiKeyIdentity {
  return {
    keyId: 'k1',
    keyName: 'default',
    userId: 'u1',
    admin: false,
    expiresAt: null,
    limits: { perMinute: 60, generationsPerMinute: 20, maxActive: 20, dailyTokens: 0 },
    ...overrides,
  };
}

function request(method = 'GET', headers: Record<string, string> = { 'x-api-key': KEY }): Request {
  return { method, headers } as unknown as Request;
}

describe('KeyCountedRoutes: which reads the per-IP layer counts for their key', () => {
  const route = {};
  let cachedIdentity: jest.Mock;
  let routes: KeyCountedRoutes;

  beforeEach(() => {
    cachedIdentity = jest.fn(() => identity());
    const keys = { cachedIdentity } as unknown as ApiKeyService;
    routes = new KeyCountedRoutes(keys, Object.create(Redis.prototype) as Redis);
    routes.findRoutesWith(() => route);
  });

  it('counts a GET or HEAD with a cached key on a route the guard marked, by the key id', () => {
    expect(routes.countFor(request())).toBeUndefined();
    routes.markKeyOnly(route, false);
    expect(routes.countFor(request())).toEqual({
      keyId: 'k1',
      counter: 'rl:key:{k1}:key',
      limit: 60,
    });
    expect(routes.countFor(request('HEAD'))).toMatchObject({ keyId: 'k1' });
    expect(cachedIdentity).toHaveBeenCalledWith(KEY);
  });

  it('leaves to the guard a write, a request without a key or with a body, a key the cache cannot vouch for, a policy switched off', () => {
    routes.markKeyOnly(route, false);
    for (const method of ['POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS'])
      expect(routes.countFor(request(method))).toBeUndefined();
    expect(routes.countFor(request('GET', {}))).toBeUndefined();
    // a body the parser could refuse (400, 413), an Expect answered with 417: before the guard
    const bodies: Record<string, string>[] = [
      { 'content-length': '2' },
      { 'content-length': '0' },
      { 'transfer-encoding': 'chunked' },
      { expect: '100-continue' },
    ];
    for (const extra of bodies)
      expect(routes.countFor(request('GET', { 'x-api-key': KEY, ...extra }))).toBeUndefined();
    cachedIdentity.mockReturnValueOnce(undefined);
    expect(routes.countFor(request())).toBeUndefined();
    cachedIdentity.mockReturnValueOnce(
      identity({ limits: { ...identity().limits, perMinute: 0 } }),
    );
    expect(routes.countFor(request())).toBeUndefined();
  });

  it('counts a key on an admin-only route only when the key is an admin key (the guard refuses the others first)', () => {
    routes.markKeyOnly(route, true);
    expect(routes.countFor(request())).toBeUndefined();
    cachedIdentity.mockReturnValueOnce(identity({ admin: true }));
    expect(routes.countFor(request())).toMatchObject({ keyId: 'k1' });
  });

  it('leaves to the guard a request Express routes elsewhere, or before routes exist', () => {
    routes.markKeyOnly(route, false);
    routes.findRoutesWith(() => ({}));
    expect(routes.countFor(request())).toBeUndefined();
    const early = new KeyCountedRoutes(
      { cachedIdentity } as unknown as ApiKeyService,
      Object.create(Redis.prototype) as Redis,
    );
    early.markKeyOnly(route, false);
    expect(early.countFor(request())).toBeUndefined();
  });

  it('counts nothing on a Redis Cluster, where an address and a key hash to different nodes', () => {
    const cluster = new KeyCountedRoutes(
      { cachedIdentity } as unknown as ApiKeyService,
      Object.create(Cluster.prototype) as Cluster,
    );
    cluster.findRoutesWith(() => route);
    cluster.markKeyOnly(route, false);
    expect(cluster.countFor(request())).toBeUndefined();
  });

  it('marks a route for reads that count the key policy alone', () => {
    expect(KeyCountedRoutes.countsKeyAlone('GET', [{ name: 'key' }])).toBe(true);
    expect(KeyCountedRoutes.countsKeyAlone('HEAD', [{ name: 'key' }])).toBe(true);
    expect(KeyCountedRoutes.countsKeyAlone('POST', [{ name: 'key' }])).toBe(false);
    expect(KeyCountedRoutes.countsKeyAlone('GET', [{ name: 'key' }, { name: 'generations' }])).toBe(
      false,
    );
    expect(KeyCountedRoutes.countsKeyAlone('GET', [{ name: 'generations' }])).toBe(false);
  });
});
