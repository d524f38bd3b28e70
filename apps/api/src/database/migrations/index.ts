import type { MigrationInterface } from 'typeorm';
import { CreateApiKeys1764115200000 } from './1764115200000-create-api-keys';
import { CreateGenerations1764201600000 } from './1764201600000-create-generations';
import { PerKeyLimits1764979200000 } from './1764979200000-per-key-limits';
import { UsageShards1765065600000 } from './1765065600000-usage-shards';
import { ActiveGenerationsFunction1765152000000 } from './1765152000000-active-generations-function';
import { HotPathFunctions1765238400000 } from './1765238400000-hot-path-functions';
import { TraceContext1765324800000 } from './1765324800000-trace-context';
import { ClaimStartedAt1765411200000 } from './1765411200000-claim-started-at';
import { Webhooks1765497600000 } from './1765497600000-webhooks';
import { CreateBatches1765584000000 } from './1765584000000-create-batches';
import { LeaseClaims1765670400000 } from './1765670400000-lease-claims';

/** Every migration, in order; imported explicitly so `dist` never depends on globs. */
export const MIGRATIONS: Array<new () => MigrationInterface> = [
  CreateApiKeys1764115200000,
  CreateGenerations1764201600000,
  PerKeyLimits1764979200000,
  UsageShards1765065600000,
  ActiveGenerationsFunction1765152000000,
  HotPathFunctions1765238400000,
  TraceContext1765324800000,
  ClaimStartedAt1765411200000,
  Webhooks1765497600000,
  CreateBatches1765584000000,
  LeaseClaims1765670400000,
];
