import { REDACTED, isSecretKey, redact } from './redact';

describe('redact', () => {
  it('replaces secret fields at any depth, in objects and arrays', () => {
    const input = {
      password: 'a',
      Authorization: 'Bearer b',
      nested: { deeper: { apiKey: 'c', list: [{ token: 'd' }, { 'x-api-key': 'e' }] } },
      headers: { cookie: 'f', 'set-cookie': ['g'] },
    };
    expect(redact(input)).toEqual({
      password: REDACTED,
      Authorization: REDACTED,
      nested: {
        deeper: { apiKey: REDACTED, list: [{ token: REDACTED }, { 'x-api-key': REDACTED }] },
      },
      headers: { cookie: REDACTED, 'set-cookie': REDACTED },
    });
  });

  it('keeps ordinary fields that merely contain the words', () => {
    expect(redact({ promptTokens: 1, completionTokens: 2, tokenizer: 'x' })).toEqual({
      promptTokens: 1,
      completionTokens: 2,
      tokenizer: 'x',
    });
    expect(isSecretKey('dbPassword')).toBe(true);
    expect(isSecretKey('webhookSecret')).toBe(true);
  });

  it('does not modify its input', () => {
    const input = { password: 'a' };
    redact(input);
    expect(input.password).toBe('a');
    const nested = { a: 1, b: { c: 'x', d: { token: 't' }, e: [1] }, f: 'y' };
    expect(redact(nested)).toEqual({ a: 1, b: { c: 'x', d: { token: REDACTED }, e: [1] }, f: 'y' });
    expect(nested.b.d.token).toBe('t');
    const clean = { method: 'GET', status: 200, nested: { path: '/health' } };
    expect(redact(clean)).toEqual({ method: 'GET', status: 200, nested: { path: '/health' } });
  });

  it('serializes errors and redacts what they carry', () => {
    const error = Object.assign(new Error('boom'), { config: { headers: { authorization: 'x' } } });
    const result = redact({ err: error }) as { err: Record<string, unknown> };
    expect(result.err.message).toBe('boom');
    expect(String(result.err.stack)).toContain('boom');
    expect(result.err.config).toEqual({ headers: { authorization: REDACTED } });
  });

  it('survives cycles and extreme depth', () => {
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic.self = cyclic;
    expect(redact(cyclic)).toEqual({ name: 'a', self: '[Circular]' });
    let deep: Record<string, unknown> = { password: 'bottom' };
    for (let i = 0; i < 50; i += 1) deep = { next: deep };
    expect(JSON.stringify(redact(deep))).not.toContain('bottom');
  });
});

describe('redact query errors', () => {
  it('replaces query parameters with their count', () => {
    const error = Object.assign(new Error('relation does not exist'), {
      query: 'INSERT INTO t VALUES ($1)',
      parameters: ['a user prompt', 42],
      driverError: new Error('inner'),
    });
    const result = redact({ err: error }) as { err: Record<string, unknown> };
    expect(result.err.parameters).toBe('[2 parameters]');
    expect(result.err.driverError).toBeUndefined();
    expect(JSON.stringify(result)).not.toContain('a user prompt');
  });
});

describe('redact compound names and URLs', () => {
  it('answers the same for a name seen before, and past the cache of known names', () => {
    for (let i = 0; i < 3000; i++) expect(isSecretKey(`field${i}`)).toBe(false);
    expect(isSecretKey('field7')).toBe(false);
    expect(isSecretKey('clientSecret')).toBe(true);
    expect(isSecretKey('clientSecret')).toBe(true);
    expect(isSecretKey('userToken9999')).toBe(false);
    expect(isSecretKey('newApiKey')).toBe(true); // classified after the cache is full
    expect(redact({ newApiKey: 'k', field1: 'v' })).toEqual({ newApiKey: REDACTED, field1: 'v' });
  });

  it('redacts compound credential names, and leaves token counts readable', () => {
    const result = redact({
      openaiApiKey: 'sk-1',
      metricsToken: 'm-1',
      db_passwd: 'p',
      usage: { promptTokens: 3, completionTokens: 4, maxTokens: 5 },
    });
    expect(result).toEqual({
      openaiApiKey: '[REDACTED]',
      metricsToken: '[REDACTED]',
      db_passwd: '[REDACTED]',
      usage: { promptTokens: 3, completionTokens: 4, maxTokens: 5 },
    });
  });

  it('redacts the password of a URL anywhere in a string', () => {
    const result = redact({
      url: 'postgres://app:s3cr3t@db.internal:5432/app',
      message: 'could not reach redis://:hunter2@cache:6379 (ECONNREFUSED)',
      plain: 'https://example.com/path?x=1',
    });
    expect(result).toEqual({
      url: 'postgres://app:[REDACTED]@db.internal:5432/app',
      message: 'could not reach redis://:[REDACTED]@cache:6379 (ECONNREFUSED)',
      plain: 'https://example.com/path?x=1',
    });
  });
});
