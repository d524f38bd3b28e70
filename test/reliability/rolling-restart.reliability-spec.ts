import { RunningProcess, sleep, startApi } from '../support/processes';
import {
  Load,
  Outcome,
  createKey,
  flushRedis,
  idOf,
  postGeneration,
  reliabilityEnv,
  send,
  summary,
  waitFor,
} from './support';

type Api = RunningProcess & { url: string };

/**
 * Two api replicas behind a client-side balancer that, like Kubernetes, sends traffic only to
 * replicas whose /health/ready answers 200. Each replica in turn gets SIGTERM and is replaced.
 */
describe('rolling restart under steady load', () => {
  it('fails no request the client did not choose to retry', async () => {
    await flushRedis(String(reliabilityEnv().REDIS_URL));
    const env = reliabilityEnv({ SHUTDOWN_DRAIN_DELAY_MS: '1500' });
    const key = await createKey(env);
    const replicas: Api[] = await Promise.all([startApi(env), startApi(env)]);
    const ready = new Set<Api>(replicas);
    const auth = { headers: { Authorization: `Bearer ${key}` } };
    const created = await postGeneration(replicas[0].url, key, 'read me');
    expect(created.status).toBe(202);
    const path = `/api/v1/generations/${idOf(created)}`;

    // the balancer's readiness probe, every 100 ms
    let probing = true;
    const prober = (async () => {
      while (probing) {
        await Promise.all(
          replicas.map(async (replica) => {
            const probe = await send(`${replica.url}/health/ready`);
            if (probe.status === 200) ready.add(replica);
            else ready.delete(replica);
          }),
        );
        await sleep(100);
      }
    })();

    let turn = 0;
    const pick = (avoid?: Api): Api | undefined => {
      const candidates = [...ready].filter((replica) => replica !== avoid);
      return candidates[turn++ % Math.max(1, candidates.length)];
    };
    const load = new Load(6, async (): Promise<Outcome> => {
      const first = pick();
      if (!first) return { at: Date.now(), target: 'none', status: 0, networkError: 'NO_BACKEND' };
      const outcome = await send(first.url + path, auth);
      if (!outcome.networkError) return outcome;
      // a connection refused or reset before any answer: the client retries it elsewhere
      const second = pick(first) ?? first;
      return { ...(await send(second.url + path, auth)), retried: true };
    });

    const exitCodes: (number | null)[] = [];
    await sleep(2000);
    for (let index = 0; index < 2; index += 1) {
      const old = replicas[index];
      const exited = old.waitForExit(30000);
      old.proc.kill('SIGTERM');
      exitCodes.push(await exited);
      ready.delete(old);
      const replacement = await startApi(env);
      replicas[index] = replacement;
      await waitFor(() => ready.has(replacement), 10000, 'the new replica to be ready');
      await sleep(2000);
    }
    const outcomes = await load.stop();
    probing = false;
    await prober;
    await Promise.all(replicas.map((replica) => replica.stop()));

    expect(exitCodes).toEqual([0, 0]);
    expect(outcomes.length).toBeGreaterThan(200);
    const failed = outcomes.filter((outcome) => outcome.status !== 200);
    expect({ failed: failed.length, statuses: summary(outcomes) }).toEqual({
      failed: 0,
      statuses: { '200': outcomes.length },
    });
  });
});
