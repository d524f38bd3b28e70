import { AppConfig } from '@app/config';
import { GenerationStore } from '@app/generations';
import type { Queue } from 'bull';
import { GenerationRetention } from './generation-retention';

function retentionWith(retentionDays: number, cutoffs: Date[]): GenerationRetention {
  const store = {
    deleteFinishedBefore: jest.fn(async (cutoff: Date) => {
      cutoffs.push(cutoff);
      return 3;
    }),
  } as unknown as GenerationStore;
  const config = { generations: { retentionDays } } as unknown as AppConfig;
  return new GenerationRetention({} as Queue, store, config);
}

describe('GenerationRetention', () => {
  it('deletes only finished generations completed before the retention window', async () => {
    const cutoffs: Date[] = [];
    const before = Date.now();
    expect(await retentionWith(30, cutoffs).deleteExpired()).toBe(3);
    const cutoff = cutoffs[0].getTime();
    expect(before - cutoff).toBeGreaterThanOrEqual(30 * 86_400_000 - 1000);
    expect(before - cutoff).toBeLessThan(30 * 86_400_000 + 1000);
  });

  it('keeps everything with GENERATION_RETENTION_DAYS=0', async () => {
    const cutoffs: Date[] = [];
    expect(await retentionWith(0, cutoffs).deleteExpired()).toBe(0);
    expect(cutoffs).toEqual([]);
  });
});
