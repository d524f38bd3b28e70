import type { Request } from 'express';
import { RouteTemplates, UNMATCHED_ROUTE } from './http-metrics';

const layer = (path: string, ...methods: string[]) => ({
  route: { path, methods: Object.fromEntries(methods.map((method) => [method, true])) },
});

describe('RouteTemplates: the route Express gives a request, before or after routing', () => {
  const byId = layer('/api/v1/generations/:id', 'get');
  const stream = layer('/api/v1/generations/:id/events', 'get');
  const remove = layer('/api/v1/generations/:id', 'delete');
  const literal = layer('/api/v1/generations/:id', 'get');
  const stack = [{ name: 'query' }, remove, byId, literal, stream, layer('/{*path}', '_all')];
  const routes = new RouteTemplates(() => stack, ['/dashboard']);
  const request = (method: string, path: string) => ({ method, path }) as Request;

  it('finds the first registered route of the method whose template matches', () => {
    expect(routes.routeOf(request('GET', '/api/v1/generations/abc'))).toBe(byId.route);
    expect(routes.routeOf(request('HEAD', '/api/v1/generations/abc'))).toBe(byId.route);
    expect(routes.routeOf(request('DELETE', '/api/v1/generations/abc'))).toBe(remove.route);
    expect(routes.routeOf(request('GET', '/api/v1/generations/abc/events'))).toBe(stream.route);
    // case-insensitive, a trailing slash allowed: as Express matches by default
    expect(routes.routeOf(request('GET', '/API/v1/Generations/abc/'))).toBe(byId.route);
  });

  it("finds none for a path no route's template matches (Nest's not-found handler is none)", () => {
    expect(routes.routeOf(request('GET', '/api/v1/nothing-here'))).toBeUndefined();
    expect(routes.routeOf(request('POST', '/api/v1/generations/abc'))).toBeUndefined();
    expect(routes.of(request('GET', '/dashboard/queues'))).toBe('/dashboard');
    expect(routes.of(request('GET', '/api/v1/nothing-here'))).toBe(UNMATCHED_ROUTE);
  });

  it('labels a routed request by its own route, an unrouted one by the template it matches', () => {
    expect(routes.of(request('GET', '/api/v1/generations/abc'))).toBe('/api/v1/generations/:id');
    const routed = { ...request('GET', '/x'), route: { path: '/me' }, baseUrl: '/api/v1' };
    expect(routes.of(routed as unknown as Request)).toBe('/api/v1/me');
  });
});
