import { AppException, errorMessage } from '@app/exceptions';
import { Injectable } from '@nestjs/common';
import { GenerationStore, UsageDay } from '../generation.store';
import { UsageQuery } from './usage.query';

const DAY_MS = 86_400_000;
/** The range a request gets without `from`: today and the 6 days before. */
const DEFAULT_DAYS = 7;
/** The longest range one request may ask for. */
export const MAX_USAGE_DAYS = 92;

const toDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function invalidRange(detail: string, field: 'from' | 'to'): AppException {
  return new AppException(400, errorMessage('reading usage', detail), {
    code: 'VALIDATION_FAILED',
    errors: [{ field, messages: [detail] }],
  });
}

/**
 * A key's usage per UTC day, read from the per-key, per-day table the generation transitions
 * keep in step: as cheap for a key with a million generations as for one with none, and kept
 * when retention deletes the generations themselves.
 */
@Injectable()
export class UsageService {
  constructor(private readonly store: GenerationStore) {}

  async usage(apiKeyId: string, query: UsageQuery, now = Date.now()): Promise<UsageDay[]> {
    const to = query.to ?? toDay(now);
    const from = query.from ?? toDay(Date.parse(to) - (DEFAULT_DAYS - 1) * DAY_MS);
    const days = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
    if (days < 1) throw invalidRange('from must not be after to', 'from');
    if (days > MAX_USAGE_DAYS)
      throw invalidRange(`the range must be at most ${MAX_USAGE_DAYS} days`, 'from');
    return this.store.usage(apiKeyId, from, to);
  }
}
