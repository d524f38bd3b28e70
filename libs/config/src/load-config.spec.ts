import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigValidationError } from './config-validation.error';
import { KNOWN_VARIABLES } from './defaults';
import { loadConfig } from './load-config';

const NO_DOTENV = { envFilePath: '/nonexistent/.env' };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, NO_DOTENV);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

function secretFile(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'rl-secret-')), 'value');
  writeFileSync(path, content);
  return path;
}

describe('loadConfig', () => {
  it('applies the documented defaults for development', () => {
    const config = loadConfig({}, NO_DOTENV);
    expect(config.environment).toBe('development');
    expect(config.http.port).toBe(3000);
    expect(config.database.url).toBe('postgres://postgres:postgres@localhost:5432/rocket_launch');
    expect(config.database.poolMax).toBe(10);
    expect(config.logging).toMatchObject({ level: 'debug', format: 'pretty', maxSize: '50M' });
    expect(config.rateLimit.perMinute).toBe(600);
    expect(config.rateLimit.exemptIps).toEqual(['127.0.0.1', '::1']);
    expect(config.http.trustProxy).toBe(false);
    expect(config.shutdown.drainDelayMs).toBe(0);
    expect(config.http.docsEnabled).toBe(true);
  });

  it('uses production defaults when ENVIRONMENT=production', () => {
    const config = loadConfig({ ENVIRONMENT: 'production' }, NO_DOTENV);
    expect(config.isProduction).toBe(true);
    expect(config.logging).toMatchObject({ level: 'info', format: 'json' });
    expect(config.rateLimit.perMinute).toBe(60);
    expect(config.shutdown.drainDelayMs).toBe(5000);
    expect(config.http.docsEnabled).toBe(false);
  });

  it('falls back to NODE_ENV and uses test defaults', () => {
    const config = loadConfig({ NODE_ENV: 'test' }, NO_DOTENV);
    expect(config.environment).toBe('test');
    expect(config.logging.level).toBe('warn');
  });

  it('parses TRUST_PROXY hop counts as numbers and lists as lists', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }, NO_DOTENV).http.trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }, NO_DOTENV).http.trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
    ]);
  });

  it('keeps an empty RATE_LIMIT_EXEMPT_IPS as "no exemptions"', () => {
    expect(loadConfig({ RATE_LIMIT_EXEMPT_IPS: '' }, NO_DOTENV).rateLimit.exemptIps).toEqual([]);
  });

  it.each([
    ['ENVIRONMENT', 'staging', /^ENVIRONMENT must be one of development, test, production/],
    ['PORT', 'abc', /^PORT must be an integer from 0 to 65535 \(got "abc"\)/],
    ['PORT', '70000', /^PORT must be an integer/],
    ['DATABASE_URL', 'mysql://x', /^DATABASE_URL must be a postgres:\/\/ URL/],
    ['REDIS_URL', 'localhost:6379', /^REDIS_URL must be a redis:\/\//],
    ['DB_POOL_MAX', '0', /^DB_POOL_MAX must be an integer from 1 to 1000/],
    ['LOG_LEVEL', 'loud', /^LOG_LEVEL must be one of/],
    ['LOG_FORMAT', 'xml', /^LOG_FORMAT must be json or pretty/],
    ['LOG_TO_FILES', 'maybe', /^LOG_TO_FILES must be true or false/],
    ['LOG_MAX_SIZE', '50 megabytes', /^LOG_MAX_SIZE must be a size/],
    ['TRUST_PROXY', 'true', /^TRUST_PROXY must be a hop count/],
    ['TRUST_PROXY', '10.0.0.0/33', /^TRUST_PROXY must be/],
    ['CORS_ORIGINS', 'not a url', /^CORS_ORIGINS must be a comma-separated list of origins/],
    ['BODY_LIMIT', 'lots', /^BODY_LIMIT must be a size/],
    ['RATE_LIMIT_EXEMPT_IPS', '1.2.3.4,nope', /^RATE_LIMIT_EXEMPT_IPS must be/],
    [
      'API_KEY_CACHE_SECONDS',
      '61',
      /^API_KEY_CACHE_SECONDS must be a whole number of seconds from 0 to 60/,
    ],
    ['HEALTH_DISK_THRESHOLD_PERCENT', '90', /^HEALTH_DISK_THRESHOLD_PERCENT must be a fraction/],
    ['GENAI_PROVIDER', 'magic', /^GENAI_PROVIDER must be local or openai/],
    ['METRICS_TOKEN', 'short', /^METRICS_TOKEN must be at least 16 characters/],
  ])('rejects %s=%s with a line naming the variable', (name, value, expected) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });

  it('reports every bad variable on its own line', () => {
    const problems = problemsOf({ PORT: 'x', DB_POOL_MAX: 'y', LOG_LEVEL: 'z' });
    expect(problems).toHaveLength(3);
    expect(problems.map((line) => line.split(' ')[0]).sort()).toEqual([
      'DB_POOL_MAX',
      'LOG_LEVEL',
      'PORT',
    ]);
  });

  it('never echoes a URL that may hold a password', () => {
    const [line] = problemsOf({ DATABASE_URL: 'mysql://user:hunter2@db/x' });
    expect(line).not.toContain('hunter2');
  });

  it('requires 16 characters of BULL_BOARD_PASSWORD in production', () => {
    const short = { BULL_BOARD_USERNAME: 'ops', BULL_BOARD_PASSWORD: 'short' };
    expect(problemsOf({ ENVIRONMENT: 'production', ...short })).toEqual([
      'BULL_BOARD_PASSWORD must be at least 16 characters in production',
    ]);
    expect(() => loadConfig(short, NO_DOTENV)).not.toThrow();
    const long = { ENVIRONMENT: 'production', ...short, BULL_BOARD_PASSWORD: 'p'.repeat(16) };
    expect(() => loadConfig(long, NO_DOTENV)).not.toThrow();
  });

  it('requires OPENAI_API_KEY in production with the openai provider', () => {
    expect(problemsOf({ ENVIRONMENT: 'production', GENAI_PROVIDER: 'openai' })).toEqual([
      'OPENAI_API_KEY is required in production when GENAI_PROVIDER is openai',
    ]);
    expect(() => loadConfig({ GENAI_PROVIDER: 'openai' }, NO_DOTENV)).not.toThrow();
  });

  it('requires the Bull Board user name and password together', () => {
    expect(problemsOf({ BULL_BOARD_USERNAME: 'ops' })).toEqual([
      'BULL_BOARD_USERNAME and BULL_BOARD_PASSWORD must be set together',
    ]);
  });

  describe('Redis modes and the migration URL (SPEC §13)', () => {
    it('is standalone by default, with Bull prefix bull and migrations through DATABASE_URL', () => {
      const config = loadConfig({ DATABASE_URL: 'postgres://u@pgbouncer:6432/app' }, NO_DOTENV);
      expect(config.redis).toMatchObject({ mode: 'standalone', sentinels: [], clusterNodes: [] });
      expect(config.queue.prefix).toBe('bull');
      expect(config.database.migrationUrl).toBe('postgres://u@pgbouncer:6432/app');
    });

    it('reads Sentinel mode from REDIS_SENTINELS and the master name', () => {
      const config = loadConfig(
        {
          REDIS_SENTINELS: 'sentinel-0:26379, [fd00::1]:26380',
          REDIS_SENTINEL_NAME: 'mymaster',
          REDIS_SENTINEL_PASSWORD: 's3cret',
          DATABASE_MIGRATION_URL: 'postgres://u@postgres:5432/app',
        },
        NO_DOTENV,
      );
      expect(config.redis).toMatchObject({
        mode: 'sentinel',
        sentinels: [
          { host: 'sentinel-0', port: 26379 },
          { host: 'fd00::1', port: 26380 },
        ],
        sentinelName: 'mymaster',
        sentinelPassword: 's3cret',
      });
      expect(config.database.migrationUrl).toBe('postgres://u@postgres:5432/app');
    });

    it('reads Cluster mode from REDIS_CLUSTER_NODES', () => {
      const config = loadConfig({ REDIS_CLUSTER_NODES: 'a:7000,b:7001,c:7002' }, NO_DOTENV);
      expect(config.redis.mode).toBe('cluster');
      expect(config.redis.clusterNodes).toHaveLength(3);
    });

    it.each([
      [
        { REDIS_SENTINELS: 'sentinel', REDIS_SENTINEL_NAME: 'm' },
        /^REDIS_SENTINELS must be a comma-separated list of host:port/,
      ],
      [{ REDIS_SENTINELS: 'a:26379' }, /^REDIS_SENTINEL_NAME must name the Sentinel master/],
      [{ REDIS_CLUSTER_NODES: 'a:99999' }, /^REDIS_CLUSTER_NODES must be a comma-separated list/],
      [
        { REDIS_CLUSTER_NODES: 'a:7000', REDIS_URL: 'redis://:pw@x:6379/2' },
        /^REDIS_URL must name database 0 or none in Cluster mode/,
      ],
      [
        { REDIS_CLUSTER_NODES: 'a:7000', REDIS_SENTINELS: 'b:26379', REDIS_SENTINEL_NAME: 'm' },
        /^REDIS_SENTINELS and REDIS_CLUSTER_NODES: set one Redis mode, not both/,
      ],
      [
        { REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' },
        /^REDIS_TLS_CA_FILE: cannot read \/nonexistent\/ca.pem \(ENOENT\)/,
      ],
      [{ QUEUE_PREFIX: 'bull:{x}' }, /^QUEUE_PREFIX must be 1 to 50 letters/],
      [
        { DATABASE_MIGRATION_URL: 'mysql://x' },
        /^DATABASE_MIGRATION_URL must be a postgres:\/\/ URL/,
      ],
    ])('rejects %j with one line naming the variable', (env, expected) => {
      const problems = problemsOf(env as Record<string, string>);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(expected);
    });
  });

  describe('NAME_FILE', () => {
    it('reads the value from the file without its trailing newline', () => {
      const config = loadConfig({ OPENAI_API_KEY_FILE: secretFile('sk-test\n') }, NO_DOTENV);
      expect(config.genai.openai.apiKey).toBe('sk-test');
    });

    it('works for any variable', () => {
      expect(loadConfig({ PORT_FILE: secretFile('4000\n') }, NO_DOTENV).http.port).toBe(4000);
    });

    it('rejects NAME and NAME_FILE together', () => {
      expect(problemsOf({ PORT: '1', PORT_FILE: secretFile('2') })).toEqual([
        'PORT: give either PORT or PORT_FILE, not both',
      ]);
    });

    it('names a file it cannot read', () => {
      expect(problemsOf({ REDIS_URL_FILE: '/nonexistent/secret' })).toEqual([
        'REDIS_URL_FILE: cannot read /nonexistent/secret (ENOENT)',
      ]);
    });
  });

  describe('.env', () => {
    const dotenv = (): string => {
      const path = join(mkdtempSync(join(tmpdir(), 'rl-dotenv-')), '.env');
      writeFileSync(path, 'PORT=4100\nLOG_LEVEL=error\n');
      return path;
    };

    it('is read outside production, and the real environment wins', () => {
      const config = loadConfig({ LOG_LEVEL: 'info' }, { envFilePath: dotenv() });
      expect(config.http.port).toBe(4100);
      expect(config.logging.level).toBe('info');
    });

    it('is ignored when the environment says production', () => {
      const config = loadConfig({ ENVIRONMENT: 'production' }, { envFilePath: dotenv() });
      expect(config.http.port).toBe(3000);
    });
  });
});

describe('webhook settings', () => {
  const key = (bytes: number) => `whsec_${Buffer.alloc(bytes, 1).toString('base64')}`;

  it('defaults: no secret, 8 attempts from 5 s, private receivers allowed outside production only', () => {
    const development = loadConfig({}, NO_DOTENV).webhooks;
    expect(development).toEqual({
      secrets: [],
      attempts: 8,
      backoffMs: 5000,
      allowPrivate: true,
      dnsServers: [],
    });
    expect(loadConfig({ ENVIRONMENT: 'production' }, NO_DOTENV).webhooks.allowPrivate).toBe(false);
    expect(
      loadConfig({ ENVIRONMENT: 'production', WEBHOOK_ALLOW_PRIVATE: 'true' }, NO_DOTENV).webhooks
        .allowPrivate,
    ).toBe(true);
  });

  it('takes one whsec_ key, or several separated by spaces during a rotation, also from a file', () => {
    expect(loadConfig({ WEBHOOK_SECRET: key(24) }, NO_DOTENV).webhooks.secrets).toEqual([key(24)]);
    expect(
      loadConfig({ WEBHOOK_SECRET: ` ${key(32)}  ${key(64)} ` }, NO_DOTENV).webhooks.secrets,
    ).toEqual([key(32), key(64)]);
    const file = secretFile(`${key(32)}\n`);
    expect(loadConfig({ WEBHOOK_SECRET_FILE: file }, NO_DOTENV).webhooks.secrets).toEqual([
      key(32),
    ]);
  });

  it('refuses a malformed secret in one line that never echoes it', () => {
    for (const bad of [
      'not-a-secret-at-all',
      key(16),
      key(65),
      `whsec_${'%'.repeat(40)}`,
      `${key(32)} whsec_short`,
      Buffer.alloc(32, 1).toString('base64'),
    ]) {
      const problems = problemsOf({ WEBHOOK_SECRET: bad });
      expect(problems).toEqual([
        'WEBHOOK_SECRET must be whsec_ followed by the base64 of 24 to 64 random bytes (several, separated by spaces, during a rotation)',
      ]);
    }
  });

  it('checks attempts, backoff and DNS servers', () => {
    expect(
      problemsOf({
        WEBHOOK_ATTEMPTS: '0',
        WEBHOOK_BACKOFF_MS: '10',
        WEBHOOK_ALLOW_PRIVATE: 'maybe',
        WEBHOOK_DNS_SERVERS: '10.0.0.2',
      }).map((line) => line.split(' ')[0]),
    ).toEqual([
      'WEBHOOK_ATTEMPTS',
      'WEBHOOK_BACKOFF_MS',
      'WEBHOOK_ALLOW_PRIVATE',
      'WEBHOOK_DNS_SERVERS',
    ]);
    expect(
      loadConfig({ WEBHOOK_DNS_SERVERS: '10.0.0.2:53, [fd00::53]:5353' }, NO_DOTENV).webhooks
        .dnsServers,
    ).toEqual(['10.0.0.2:53', '[fd00::53]:5353']);
  });
});

describe('config/.env.example', () => {
  it('documents every variable the platform reads', () => {
    const example = readFileSync(join(__dirname, '../../../config/.env.example'), 'utf8');
    const documented = new Set(
      [...example.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]),
    );
    expect(KNOWN_VARIABLES.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('holds only values the platform accepts', () => {
    const example = readFileSync(join(__dirname, '../../../config/.env.example'), 'utf8');
    const values = Object.fromEntries(
      [...example.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((match) => [match[1], match[2]]),
    );
    expect(() => loadConfig(values, NO_DOTENV)).not.toThrow();
  });
});
