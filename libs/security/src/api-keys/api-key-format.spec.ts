import { generateApiKey, hashApiKey, matchesHash, prefixOf } from './api-key-format';

describe('API key format', () => {
  it('makes random keys with a readable prefix and at least 32 bytes of secret', () => {
    const first = generateApiKey();
    const second = generateApiKey();
    expect(first.key).toMatch(/^rl_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(first.key.slice(12), 'base64url')).toHaveLength(32);
    expect(first.key).not.toBe(second.key);
    expect(prefixOf(first.key)).toBe(first.prefix);
    expect(first.hash).toBe(hashApiKey(first.key));
    expect(first.hash).not.toContain(first.key.slice(12));
  });

  it('compares against the stored hash', () => {
    const { key, hash } = generateApiKey();
    expect(matchesHash(key, hash)).toBe(true);
    expect(matchesHash(`${key.slice(0, -1)}x`, hash)).toBe(false);
    expect(matchesHash(key, 'short')).toBe(false);
  });

  it('rejects malformed keys', () => {
    for (const bad of [
      '',
      'rl_',
      'rl_zzzzzzzz_x',
      `rl_0123abcd_${'a'.repeat(42)}`,
      `Bearer rl_0123abcd_${'a'.repeat(43)}`,
    ]) {
      expect(prefixOf(bad)).toBeUndefined();
    }
  });
});
