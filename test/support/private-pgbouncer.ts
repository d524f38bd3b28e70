import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './ports';
import { sleep } from './processes';
import { tempDir } from './test-env';

/**
 * Debian's PgBouncer on a free port in front of a PostgreSQL server, in transaction mode (how
 * production runs it). PgBouncer refuses to run as root (STACK.md), so it runs as `postgres`.
 */
export class PrivatePgBouncer {
  private proc?: ChildProcess;
  private log = '';

  private constructor(
    readonly port: number,
    private readonly configFile: string,
  ) {}

  /** Serves `databases` only, as a production PgBouncer would (not the maintenance database). */
  static async start(
    databases: string[],
    target = { host: '127.0.0.1', port: 5432 },
  ): Promise<PrivatePgBouncer> {
    const dir = tempDir('pgbouncer');
    const port = await freePort();
    const users = join(dir, 'users.txt');
    writeFileSync(users, '"postgres" "postgres"\n');
    const configFile = join(dir, 'pgbouncer.ini');
    writeFileSync(
      configFile,
      [
        '[databases]',
        ...databases.map((name) => `${name} = host=${target.host} port=${target.port}`),
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${users}`,
        'admin_users = postgres',
        'pool_mode = transaction',
        'max_client_conn = 1000',
        'default_pool_size = 20',
        'server_reset_query =',
        '',
      ].join('\n'),
    );
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chmodSync(dir, 0o755);
    for (const file of [dir, users, configFile]) chownSync(file, uid, gid);
    const bouncer = new PrivatePgBouncer(port, configFile);
    await bouncer.up();
    return bouncer;
  }

  /** A URL to `database` through PgBouncer. */
  url(database: string): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/${database}`;
  }

  async up(): Promise<void> {
    this.proc = spawn('runuser', ['-u', 'postgres', '--', pgBouncerBinary(), this.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout?.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
    this.proc.stderr?.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
    for (let attempt = 0; attempt < 100; attempt += 1) {
      try {
        await this.admin('SHOW VERSION');
        return;
      } catch {
        if (this.proc.exitCode !== null) break;
        await sleep(100);
      }
    }
    throw new Error(`pgbouncer did not start on ${this.port}:\n${this.log}`);
  }

  /** A command of PgBouncer's admin console (`SHOW STATS`, `SHOW POOLS`). */
  async admin(command: string): Promise<Array<Record<string, unknown>>> {
    const client = new Client({ connectionString: this.url('pgbouncer') });
    await client.connect();
    try {
      return (await client.query(command)).rows as Array<Record<string, unknown>>;
    } finally {
      await client.end();
    }
  }

  get output(): string {
    return this.log;
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  }
}

/**
 * Where PgBouncer is installed, by its absolute path: `runuser` looks a bare name up in root's
 * PATH as `postgres`, and a PATH folder that user cannot read turns "not installed" into a
 * misleading "Permission denied".
 */
function pgBouncerBinary(): string {
  const folders = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin'];
  const found = folders.map((folder) => join(folder, 'pgbouncer')).find((path) => existsSync(path));
  if (!found)
    throw new Error(
      "pgbouncer is not installed: `apt-get install pgbouncer` (Debian's package; .ci/run installs it)",
    );
  return found;
}
