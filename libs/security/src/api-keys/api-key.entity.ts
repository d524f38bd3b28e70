import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** An API key. Only a hash of the secret is stored; the key itself is shown once. */
@Entity('api_keys')
export class ApiKey {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_api_keys' })
  id: string;

  /** The readable, non-secret start of the key (`rl_ab12cd34`), used to find the record. */
  @Index('IDX_api_keys_prefix', { unique: true })
  @Column({ type: 'varchar', length: 16 })
  prefix: string;

  /** SHA-256 of the whole key, hex. */
  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash: string;

  @Index('IDX_api_keys_user_id')
  @Column({ name: 'user_id', type: 'varchar', length: 128 })
  userId: string;

  @Column({ type: 'varchar', length: 128 })
  name: string;

  @Column({ type: 'boolean', default: false })
  admin: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  // The key's own limits; null means the configured default (KEY_RATE_LIMIT_PER_MINUTE, …).
  @Column({ name: 'rate_limit_per_minute', type: 'int', nullable: true })
  rateLimitPerMinute: number | null;

  @Column({ name: 'generations_per_minute', type: 'int', nullable: true })
  generationsPerMinute: number | null;

  @Column({ name: 'max_active_generations', type: 'int', nullable: true })
  maxActiveGenerations: number | null;

  /** Prompt + completion tokens per UTC day; 0 means none for this key. */
  @Column({ name: 'daily_token_budget', type: 'int', nullable: true })
  dailyTokenBudget: number | null;
}
