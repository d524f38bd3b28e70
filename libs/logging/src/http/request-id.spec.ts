import { acceptRequestId } from './request-id';

describe('acceptRequestId', () => {
  it.each(['abc', 'A-Z_0.9:x', 'a'.repeat(128)])('keeps %s', (id) => {
    expect(acceptRequestId(id)).toBe(id);
  });

  it.each([undefined, '', 'a'.repeat(129), 'a b', 'a\nb', 'a"b', 'é', ['a', 'b']])(
    'replaces %p with a UUID',
    (id) => {
      expect(acceptRequestId(id as string | undefined)).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
    },
  );
});
