import { randomUUID } from 'node:crypto';
import { readLog } from '../support/log-files';
import { START_SCRIPT_FLAGS, sleep, startApi, startWorker } from '../support/processes';
import {
  Load,
  createKey,
  flushRedis,
  reliabilityEnv,
  rssMb,
  send,
  summary,
  idOf,
  postGeneration,
} from './support';

const SECONDS = 60;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

describe('sustained load for a minute', () => {
  it('keeps RSS level and loses no log line', async () => {
    await flushRedis(String(reliabilityEnv().REDIS_URL));
    const env = reliabilityEnv({ RATE_LIMIT_EXEMPT_IPS: '' });
    const key = await createKey(env);
    // the api as its start scripts run it: with their heap limits, the memory a user sees
    const [api, worker] = await Promise.all([startApi(env, START_SCRIPT_FLAGS), startWorker(env)]);
    const auth = { Authorization: `Bearer ${key}` };
    const sent = new Set<string>();
    try {
      const created = await postGeneration(api.url, key);
      const read = `/api/v1/generations/${idOf(created)}`;
      let count = 0;
      const load = new Load(8, () => {
        count += 1;
        const requestId = randomUUID();
        sent.add(requestId);
        const headers = { ...auth, 'X-Request-Id': requestId };
        if (count % 10 === 0)
          return postGeneration(api.url, key, `sustained ${count}`, { 'X-Request-Id': requestId });
        return send(`${api.url}${count % 3 === 0 ? '/api/v1/me' : read}`, { headers });
      });
      const samples: { at: number; rss: number }[] = [];
      const started = Date.now();
      while (Date.now() - started < SECONDS * 1000) {
        await sleep(1000);
        samples.push({ at: (Date.now() - started) / 1000, rss: rssMb(api) });
      }
      const outcomes = await load.stop();
      expect(outcomes.length).toBeGreaterThan(2000);
      const statuses = summary(outcomes);
      expect(Object.keys(statuses).sort()).toEqual(['200', '202']);

      // levels off: after a 20 s warm-up, the last 20 s sit where the middle 20 s did
      const middle = median(samples.filter((s) => s.at > 20 && s.at <= 40).map((s) => s.rss));
      const last = median(samples.filter((s) => s.at > 40).map((s) => s.rss));
      expect({ middle, last, grew: last - middle < 25 }).toEqual({ middle, last, grew: true });

      // every request has its access line, exactly once, after a graceful stop flushed them
      await Promise.all([api.stop(), worker.stop()]);
      const access = readLog(String(env.LOG_DIR), 'api', 'access').filter((line) =>
        sent.has(String(line.requestId)),
      );
      expect(access.length).toBe(sent.size);
      expect(new Set(access.map((line) => line.requestId)).size).toBe(sent.size);
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
    }
  });
});
