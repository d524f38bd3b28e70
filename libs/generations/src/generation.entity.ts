import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const GENERATION_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type GenerationStatus = (typeof GENERATION_STATUSES)[number];
export const FINISHED_STATUSES: GenerationStatus[] = ['succeeded', 'failed', 'cancelled'];

/** A completion webhook's delivery: pending until delivered, or failed for good. */
export const CALLBACK_STATES = ['pending', 'delivered', 'failed'] as const;
export type CallbackState = (typeof CALLBACK_STATES)[number];

/**
 * One generation request and its outcome; the queue's job id is this record's id. The
 * decorators declare what the migrations create (a schema diff finds nothing to change); the
 * table is read and written by `GenerationStore` only.
 */
@Entity('generations')
@Check(
  'CHK_generations_status',
  `"status" IN (${GENERATION_STATUSES.map((status) => `'${status}'`).join(', ')})`,
)
@Check(
  'CHK_generations_callback_state',
  `"callback_state" IN (${CALLBACK_STATES.map((state) => `'${state}'`).join(', ')})`,
)
@Index('IDX_generations_status_completed', ['status', 'completedAt'])
@Index('IDX_generations_callback_pending', ['completedAt', 'id'], {
  where: `"callback_state" = 'pending' AND "status" IN ('succeeded', 'failed', 'cancelled')`,
})
@Index('IDX_generations_owner_created', ['ownerId', 'createdAt', 'id'])
@Index('IDX_generations_api_key_active', ['apiKeyId'], {
  where: `"status" IN ('queued', 'running')`,
})
@Index('UQ_generations_owner_idempotency', ['ownerId', 'idempotencyKey'], {
  unique: true,
  where: '"idempotency_key" IS NOT NULL',
})
export class Generation {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_generations' })
  id: string;

  @Column({ name: 'owner_id', type: 'varchar', length: 128 })
  ownerId: string;

  /** The API key that created it: its quotas count it. Null for rows made before keys counted. */
  @Column({ name: 'api_key_id', type: 'uuid', nullable: true })
  apiKeyId: string | null;

  @Column({ type: 'varchar', length: 16 })
  status: GenerationStatus;

  @Column({ type: 'text' })
  prompt: string;

  @Column({ type: 'varchar', length: 128 })
  model: string;

  @Column({ name: 'max_tokens', type: 'int', nullable: true })
  maxTokens: number | null;

  @Column({ type: 'real', nullable: true })
  temperature: number | null;

  @Column({ type: 'text', nullable: true })
  result: string | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ name: 'prompt_tokens', type: 'int', nullable: true })
  promptTokens: number | null;

  @Column({ name: 'completion_tokens', type: 'int', nullable: true })
  completionTokens: number | null;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId: string | null;

  /** The creating request's W3C traceparent when tracing was on: a re-queue links to it. */
  @Column({ type: 'varchar', length: 55, nullable: true })
  traceparent: string | null;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 255, nullable: true })
  idempotencyKey: string | null;

  /** SHA-256 of the request body, to tell a replay from a reuse of the key with another body. */
  @Column({ name: 'request_hash', type: 'char', length: 64, nullable: true })
  requestHash: string | null;

  /** Where the completion webhook goes (SPEC §14); null: none was asked for. */
  @Column({ name: 'callback_url', type: 'varchar', length: 2048, nullable: true })
  callbackUrl: string | null;

  /** The webhook's delivery; null without a callbackUrl. */
  @Column({ name: 'callback_state', type: 'varchar', length: 16, nullable: true })
  callbackState: CallbackState | null;

  @Column({ name: 'callback_attempts', type: 'int', default: 0 })
  callbackAttempts: number;

  /** The HTTP status of the last attempt; null before one, or when none was answered. */
  @Column({ name: 'callback_last_status', type: 'int', nullable: true })
  callbackLastStatus: number | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt: Date | null;
}
