import { stdSerializers } from 'pino';

export const REDACTED = '[REDACTED]';

/** Field names (lower case) whose values never reach a log line, at any depth. */
const SECRET_KEYS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'password',
  'passwd',
  'apikey',
  'api_key',
  'token',
  'secret',
  'accesstoken',
  'access_token',
  'refreshtoken',
  'refresh_token',
  'clientsecret',
  'client_secret',
]);
/**
 * Compound names such as `dbPassword`, `webhookSecret`, `openaiApiKey` or `metricsToken`;
 * `promptTokens` and `maxTokens` (counts, plural) stay readable.
 */
const SECRET_SUFFIX = /(password|passwd|secret|api_?key|token)$/i;
/** `scheme://user:password@host`: the password part of a URL's credentials. */
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]*@/gi;
const MAX_DEPTH = 12;
/**
 * Field names already classified: log lines repeat the same few dozen, and each would otherwise
 * be lower-cased and matched again. Bounded, so that names made of data cannot grow it.
 */
const classified = new Map<string, boolean>();
const MAX_CLASSIFIED = 2000;

export function isSecretKey(key: string): boolean {
  const known = classified.get(key);
  if (known !== undefined) return known;
  const secret = SECRET_KEYS.has(key.toLowerCase()) || SECRET_SUFFIX.test(key);
  if (classified.size < MAX_CLASSIFIED) classified.set(key, secret);
  return secret;
}

/**
 * Returns `value` with secret fields replaced by "[REDACTED]" at any depth, and the password of
 * any URL in a string too — as a copy where anything changed, `value` itself where nothing did
 * (the input is never modified). Errors are serialized (type, message, stack, cause) on
 * the way, so they can be redacted too.
 */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string')
    return value.includes('://') ? value.replace(URL_CREDENTIALS, `$1${REDACTED}@`) : value;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[Truncated]';
  if (seen.has(value)) return '[Circular]';
  seen.add(value);

  if (value instanceof Error) {
    const serialized = stdSerializers.errWithCause(value) as unknown as Record<string, unknown>;
    // Query errors carry the query's parameters: user data, never logged (their count is).
    if (Array.isArray(serialized.parameters)) {
      serialized.parameters = `[${serialized.parameters.length} parameters]`;
    }
    delete serialized.driverError;
    return redact(serialized, depth + 1, seen);
  }
  if (Array.isArray(value)) {
    return value.map((item) => redact(item, depth + 1, seen));
  }
  if (value instanceof Date || Buffer.isBuffer(value)) return value;

  // copied only from the first field that changes: most lines have nothing to redact
  const source = value as Record<string, unknown>;
  const keys = Object.keys(source);
  let copy: Record<string, unknown> | undefined;
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index];
    const item = source[key];
    const redacted = isSecretKey(key) ? REDACTED : redact(item, depth + 1, seen);
    if (copy === undefined && redacted !== item) {
      copy = {};
      for (const earlier of keys.slice(0, index)) copy[earlier] = source[earlier];
    }
    if (copy !== undefined) copy[key] = redacted;
  }
  return copy ?? value;
}
