import { AppConfig } from '@app/config';
import type { Queue } from 'bull';
import { FindOperator, Repository } from 'typeorm';
import { Generation } from '../generation.entity';
import { GenerationJobData } from '../generation-queue';
import { GenAiProvider } from '../providers/genai-provider';
import { GenerationWorker } from './generation.worker';

function workerWith(
  retentionDays: number,
  deleted: Array<Record<string, unknown>>,
): GenerationWorker {
  const repository = {
    delete: jest.fn(async (criteria: Record<string, unknown>) => {
      deleted.push(criteria);
      return { affected: 3, raw: [] };
    }),
  } as unknown as Repository<Generation>;
  const config = { generations: { retentionDays } } as unknown as AppConfig;
  return new GenerationWorker(
    {} as Queue<GenerationJobData>,
    repository,
    {} as GenAiProvider,
    config,
  );
}

describe('GenerationWorker retention', () => {
  it('deletes only finished generations completed before the retention window', async () => {
    const deleted: Array<Record<string, unknown>> = [];
    const before = Date.now();
    expect(await workerWith(30, deleted).deleteExpired()).toBe(3);
    const criteria = deleted[0] as {
      status: FindOperator<string[]>;
      completedAt: FindOperator<Date>;
    };
    expect(criteria.status.value).toEqual(['succeeded', 'failed', 'cancelled']);
    expect(criteria.completedAt.type).toBe('lessThan');
    const cutoff = criteria.completedAt.value.getTime();
    expect(before - cutoff).toBeGreaterThanOrEqual(30 * 86_400_000 - 1000);
    expect(before - cutoff).toBeLessThan(30 * 86_400_000 + 1000);
  });

  it('keeps everything with GENERATION_RETENTION_DAYS=0', async () => {
    const deleted: Array<Record<string, unknown>> = [];
    expect(await workerWith(0, deleted).deleteExpired()).toBe(0);
    expect(deleted).toEqual([]);
  });
});
