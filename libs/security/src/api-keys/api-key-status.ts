export type ApiKeyStatus = 'active' | 'revoked' | 'expired';

/** The one rule for a key's state: revoked wins; a key is expired from its `expiresAt` on. */
export function apiKeyStatus(
  key: { revokedAt: Date | null; expiresAt: Date | null },
  now = Date.now(),
): ApiKeyStatus {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && key.expiresAt.getTime() <= now) return 'expired';
  return 'active';
}
