import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

const BIN = '/usr/lib/postgresql/15/bin';

/**
 * A throw-away PostgreSQL cluster on its own port, for tests that stop, restart or freeze the
 * database; the shared one is never touched. initdb refuses to run as root, so the cluster
 * belongs to the `postgres` user.
 */
export class PrivatePostgres {
  private constructor(
    readonly port: number,
    private readonly dataDir: string,
    private readonly settings: Record<string, string>,
  ) {}

  /** `settings`: server parameters of the cluster (`-c name=value`), e.g. a slow WAL writer. */
  static async start(settings: Record<string, string> = {}): Promise<PrivatePostgres> {
    const dataDir = mkdtempSync(join(tmpdir(), 'rl-pg-'));
    chmodSync(dataDir, 0o700);
    const { uid, gid } = postgresUser();
    chownSync(dataDir, uid, gid);
    asPostgres(`${BIN}/initdb`, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
    const cluster = new PrivatePostgres(await freePort(), dataDir, settings);
    cluster.up();
    return cluster;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  up(): void {
    asPostgres(`${BIN}/pg_ctl`, [
      '-D',
      this.dataDir,
      '-o',
      [
        `-p ${this.port} -k ${this.dataDir} -c listen_addresses=127.0.0.1`,
        ...Object.entries(this.settings).map(([name, value]) => `-c ${name}=${value}`),
      ].join(' '),
      '-w',
      '-l',
      join(this.dataDir, 'server.log'),
      'start',
    ]);
  }

  down(): void {
    asPostgres(`${BIN}/pg_ctl`, ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
  }

  /** Stops the server as a crash would: no shutdown checkpoint, unflushed WAL lost. */
  crash(): void {
    asPostgres(`${BIN}/pg_ctl`, ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
  }

  destroy(): void {
    try {
      asPostgres(`${BIN}/pg_ctl`, ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already stopped
    }
  }
}

function postgresUser(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

function asPostgres(command: string, args: string[]): void {
  execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}
