import { ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { freePort } from './ports';
import { sleep } from './processes';
import { tempDir } from './test-env';

const run = promisify(execFile);

/** One redis-server (or sentinel) process of a topology, on its own port. */
class RedisProcess {
  private proc?: ChildProcess;

  constructor(
    readonly port: number,
    private readonly args: string[],
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  client(): Redis {
    const client = new Redis(this.port, '127.0.0.1', {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    client.on('error', () => undefined);
    return client;
  }

  async start(): Promise<void> {
    this.proc = spawn('redis-server', this.args, { stdio: 'ignore' });
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const client = this.client();
      try {
        await client.connect();
        await client.ping();
        return;
      } catch {
        await sleep(50);
      } finally {
        client.disconnect();
      }
    }
    throw new Error(`redis-server ${this.args.join(' ')} did not start on ${this.port}`);
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  }

  /** Runs one command against this server on a connection of its own. */
  async command(...args: string[]): Promise<unknown> {
    const client = this.client();
    try {
      await client.connect();
      return await client.call(args[0], ...args.slice(1));
    } finally {
      client.disconnect();
    }
  }
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(200);
  }
  throw new Error(`${what} within ${timeoutMs} ms${lastError ? ` (${String(lastError)})` : ''}`);
}

const SERVER_ARGS = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];

/**
 * 1 master, 1 replica and 3 sentinels on free ports (STACK.md: each sentinel writes its own
 * config file; a 1 s down-after so a failover takes seconds).
 */
export class RedisSentinelSet {
  static readonly MASTER_NAME = 'rocket';

  private constructor(
    readonly master: RedisProcess,
    readonly replica: RedisProcess,
    readonly sentinels: RedisProcess[],
  ) {}

  static async start(): Promise<RedisSentinelSet> {
    const dir = tempDir('sentinel');
    // a replica's full sync writes an RDB file into its folder: a temporary one
    const serverArgs = [...SERVER_ARGS, '--dir', dir];
    const masterPort = await freePort();
    const master = new RedisProcess(masterPort, ['--port', String(masterPort), ...serverArgs]);
    await master.start();
    const replicaPort = await freePort();
    const replica = new RedisProcess(replicaPort, [
      '--port',
      String(replicaPort),
      ...serverArgs,
      '--replicaof',
      '127.0.0.1',
      String(masterPort),
    ]);
    await replica.start();
    const sentinels: RedisProcess[] = [];
    for (let index = 0; index < 3; index += 1) {
      const port = await freePort();
      const file = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${RedisSentinelSet.MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${RedisSentinelSet.MASTER_NAME} 1000`,
          `sentinel failover-timeout ${RedisSentinelSet.MASTER_NAME} 10000`,
          `sentinel parallel-syncs ${RedisSentinelSet.MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      const sentinel = new RedisProcess(port, [file, '--sentinel']);
      await sentinel.start();
      sentinels.push(sentinel);
    }
    const set = new RedisSentinelSet(master, replica, sentinels);
    await set.untilReady();
    return set;
  }

  /** `REDIS_SENTINELS` for these sentinels. */
  get sentinelList(): string {
    return this.sentinels.map((sentinel) => sentinel.address).join(',');
  }

  /** Every sentinel knows the replica and the two other sentinels: a failover can happen. */
  private async untilReady(): Promise<void> {
    await until('replica in sync', async () => {
      const info = String(await this.replica.command('INFO', 'replication'));
      return info.includes('master_link_status:up') ? true : undefined;
    });
    for (const sentinel of this.sentinels) {
      await until('sentinels know each other and the replica', async () => {
        const replicas = (await sentinel.command(
          'SENTINEL',
          'REPLICAS',
          RedisSentinelSet.MASTER_NAME,
        )) as unknown[];
        const others = (await sentinel.command(
          'SENTINEL',
          'SENTINELS',
          RedisSentinelSet.MASTER_NAME,
        )) as unknown[];
        return replicas.length >= 1 && others.length >= 2 ? true : undefined;
      });
    }
  }

  /** The master's port as the sentinels name it now. */
  async masterPort(): Promise<number> {
    const [, port] = (await this.sentinels[0].command(
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      RedisSentinelSet.MASTER_NAME,
    )) as [string, string];
    return Number(port);
  }

  /** SIGKILLs the master, then waits until the sentinels have promoted the replica. */
  async killMaster(timeoutMs = 30000): Promise<void> {
    await this.master.kill();
    await until(
      'the sentinels promote the replica',
      async () => ((await this.masterPort()) === this.replica.port ? true : undefined),
      timeoutMs,
    );
    await until(
      'the promoted replica takes writes',
      async () => {
        const info = String(await this.replica.command('INFO', 'replication'));
        return info.includes('role:master') ? true : undefined;
      },
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    for (const server of [...this.sentinels, this.replica, this.master]) await server.kill();
  }
}

/**
 * A Redis Cluster of 3 masters (no replicas) on free ports, each with its cluster bus on a
 * second free port (port + 10000 overflows for high OS-assigned ports: STACK.md).
 */
export class RedisClusterSet {
  private constructor(readonly masters: RedisProcess[]) {}

  static async start(size = 3): Promise<RedisClusterSet> {
    const dir = tempDir('cluster');
    const masters: RedisProcess[] = [];
    for (let index = 0; index < size; index += 1) {
      const port = await freePort();
      const busPort = await freePort();
      const server = new RedisProcess(port, [
        '--port',
        String(port),
        ...SERVER_ARGS,
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(busPort),
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '2000',
        '--dir',
        dir,
      ]);
      await server.start();
      masters.push(server);
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...masters.map((server) => server.address),
      '--cluster-yes',
    ]);
    for (const server of masters) {
      await until('cluster_state:ok', async () => {
        const info = String(await server.command('CLUSTER', 'INFO'));
        return info.includes('cluster_state:ok') ? true : undefined;
      });
    }
    return new RedisClusterSet(masters);
  }

  /** `REDIS_CLUSTER_NODES` for this cluster. */
  get nodeList(): string {
    return this.masters.map((server) => server.address).join(',');
  }

  async stop(): Promise<void> {
    for (const server of this.masters) await server.kill();
  }
}
