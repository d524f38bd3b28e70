import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * What one API key used on one UTC day, in USAGE_SHARDS rows (a busy key's writers do not
 * queue for one row's lock; the day is their sum). Written only by `GenerationStore`, in the
 * same statement as the generation transition it counts; never deleted by retention.
 *
 * - `generations`: created that day (a POST the queue refused is taken back);
 * - `succeeded` / `failed` / `cancelled`: generations that ended that day that way;
 * - `promptTokens` / `completionTokens`: of the attempts that ended that day.
 */
@Entity('api_key_usage')
export class KeyUsage {
  @PrimaryColumn({ name: 'api_key_id', type: 'uuid', primaryKeyConstraintName: 'PK_api_key_usage' })
  apiKeyId: string;

  @PrimaryColumn({ type: 'date', primaryKeyConstraintName: 'PK_api_key_usage' })
  day: string;

  /** One of USAGE_SHARDS rows per key and day (a day's usage is their sum). */
  @PrimaryColumn({ type: 'smallint', default: 0, primaryKeyConstraintName: 'PK_api_key_usage' })
  shard: number;

  @Column({ type: 'int', default: 0 })
  generations: number;

  @Column({ type: 'int', default: 0 })
  succeeded: number;

  @Column({ type: 'int', default: 0 })
  failed: number;

  @Column({ type: 'int', default: 0 })
  cancelled: number;

  @Column({ name: 'prompt_tokens', type: 'bigint', default: 0 })
  promptTokens: string;

  @Column({ name: 'completion_tokens', type: 'bigint', default: 0 })
  completionTokens: string;
}
