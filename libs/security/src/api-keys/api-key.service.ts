import { AppConfig, KeyLimits } from '@app/config';
import { getLogger } from '@app/logging';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { generateApiKey, matchesHash, prefixOf } from './api-key-format';
import { ApiKey } from './api-key.entity';
import { apiKeyStatus } from './api-key-status';

/** Who a verified key belongs to: what the request runs as. */
export interface ApiKeyIdentity {
  keyId: string;
  keyName: string;
  userId: string;
  admin: boolean;
  expiresAt: Date | null;
  /** The key's limits: its own values where set, the configured defaults elsewhere. */
  limits: KeyLimits;
}

/** A key's own limits; `null` clears one (back to the default), absent leaves it. */
export type KeyLimitOverrides = Partial<
  Pick<
    ApiKey,
    'rateLimitPerMinute' | 'generationsPerMinute' | 'maxActiveGenerations' | 'dailyTokenBudget'
  >
>;

export type VerifyFailure = 'malformed' | 'unknown' | 'revoked' | 'expired';

export interface CreateApiKeyInput {
  userId: string;
  name?: string;
  admin?: boolean;
  expiresInDays?: number;
  limits?: KeyLimitOverrides;
}

const LAST_USED_WRITE_MS = 60_000;
const logger = getLogger('ApiKeys');

/**
 * API keys: created random and shown once, stored as a hash, verified in constant time. A
 * verified key is trusted for API_KEY_CACHE_SECONDS without asking PostgreSQL, so a revoked key
 * stops working within that bound. `lastUsedAt` is written at most once a minute per key.
 */
@Injectable()
export class ApiKeyService {
  private readonly cache = new Map<
    string,
    { identity: ApiKeyIdentity; hash: string; until: number }
  >();
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    private readonly config: AppConfig,
  ) {}

  async create(input: CreateApiKeyInput): Promise<{ key: string; record: ApiKey }> {
    const { key, prefix, hash } = generateApiKey();
    const expiresAt =
      input.expiresInDays === undefined
        ? null
        : new Date(Date.now() + input.expiresInDays * 86_400_000);
    const record = await this.keys.save(
      this.keys.create({
        prefix,
        keyHash: hash,
        userId: input.userId,
        name: input.name ?? 'default',
        admin: input.admin ?? false,
        expiresAt,
        ...input.limits,
      }),
    );
    return { key, record };
  }

  list(): Promise<ApiKey[]> {
    return this.keys.find({ order: { createdAt: 'DESC' } });
  }

  /** Revokes by id or prefix; returns the revoked key, or undefined when none matched. */
  async revoke(idOrPrefix: string): Promise<ApiKey | undefined> {
    const record = await this.findActive(idOrPrefix);
    if (!record) return undefined;
    record.revokedAt = new Date();
    return this.keys.save(record);
  }

  /**
   * Changes a key's own limits (by id or prefix); returns the key, or undefined when no
   * active key matched. Replicas see the change within API_KEY_CACHE_SECONDS.
   */
  async updateLimits(idOrPrefix: string, limits: KeyLimitOverrides): Promise<ApiKey | undefined> {
    const record = await this.findActive(idOrPrefix);
    if (!record) return undefined;
    return this.keys.save(Object.assign(record, limits));
  }

  /** The limits a key works under: its own values where set, the defaults elsewhere. */
  limitsOf(record: ApiKey): KeyLimits {
    const defaults = this.config.keyLimits;
    return {
      perMinute: record.rateLimitPerMinute ?? defaults.perMinute,
      generationsPerMinute: record.generationsPerMinute ?? defaults.generationsPerMinute,
      maxActive: record.maxActiveGenerations ?? defaults.maxActive,
      dailyTokens: record.dailyTokenBudget ?? defaults.dailyTokens,
    };
  }

  private findActive(idOrPrefix: string): Promise<ApiKey | null> {
    const isUuid = /^[0-9a-f-]{36}$/i.test(idOrPrefix);
    return this.keys.findOne({
      where: isUuid
        ? { id: idOrPrefix, revokedAt: IsNull() }
        : { prefix: idOrPrefix, revokedAt: IsNull() },
    });
  }

  async verify(key: string): Promise<ApiKeyIdentity | VerifyFailure> {
    const prefix = prefixOf(key);
    if (!prefix) return 'malformed';
    const now = Date.now();
    const cached = this.fromCache(prefix, key, now);
    if (cached) {
      if (cached !== 'expired') this.touch(cached.keyId, now);
      return cached;
    }
    const record = await this.keys.findOne({ where: { prefix } });
    if (!record || !matchesHash(key, record.keyHash)) return 'unknown';
    const status = apiKeyStatus(record, now);
    if (status !== 'active') return status;
    const identity: ApiKeyIdentity = {
      keyId: record.id,
      keyName: record.name,
      userId: record.userId,
      admin: record.admin,
      expiresAt: record.expiresAt,
      limits: this.limitsOf(record),
    };
    if (this.config.auth.apiKeyCacheSeconds > 0) {
      this.cache.set(prefix, {
        identity,
        hash: record.keyHash,
        until: now + this.config.auth.apiKeyCacheSeconds * 1000,
      });
    }
    this.touch(record.id, now);
    return identity;
  }

  /**
   * What `verify` would answer from the cache alone, without a query or a use recorded: the
   * key's identity, or undefined when the cache cannot tell (unknown, malformed, stale, expired).
   */
  cachedIdentity(key: string): ApiKeyIdentity | undefined {
    const prefix = prefixOf(key);
    const cached = prefix ? this.fromCache(prefix, key, Date.now()) : undefined;
    return cached === 'expired' ? undefined : cached;
  }

  private fromCache(
    prefix: string,
    key: string,
    now: number,
  ): ApiKeyIdentity | 'expired' | undefined {
    const cached = this.cache.get(prefix);
    if (!cached || cached.until <= now || !matchesHash(key, cached.hash)) return undefined;
    // A cached key was not revoked when it was cached; it can have expired since.
    if (apiKeyStatus({ revokedAt: null, expiresAt: cached.identity.expiresAt }, now) !== 'active')
      return 'expired';
    return cached.identity;
  }

  /** Records use without a write per request: at most one UPDATE a minute per key. */
  private touch(keyId: string, now: number): void {
    const last = this.lastUsedWritten.get(keyId) ?? 0;
    if (now - last < LAST_USED_WRITE_MS) return;
    this.lastUsedWritten.set(keyId, now);
    this.keys
      .update({ id: keyId }, { lastUsedAt: new Date(now) })
      .catch((error: unknown) => logger.warn({ err: error }, 'Error recording key use'));
  }
}
