import type { AppConfig } from '@app/config';
import { HostResolutionError, HostResolver } from './host-resolver';
import { ReceiverPolicy, ReceiverRefused } from './receiver-policy';

/** A resolver from a table; counts what it was asked. */
class TableResolver implements HostResolver {
  asked: string[] = [];
  constructor(private readonly table: Record<string, string[]>) {}
  async resolve(hostname: string): Promise<string[]> {
    this.asked.push(hostname);
    const literal = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    if (/^[\d.]+$|:/.test(literal)) return [literal];
    const found = this.table[hostname];
    if (!found) throw new HostResolutionError(hostname, 'no such host');
    return found;
  }
}

function policy(isProduction: boolean, allowPrivate: boolean, resolver: HostResolver) {
  const config = { isProduction, webhooks: { allowPrivate } } as unknown as AppConfig;
  return new ReceiverPolicy(config, resolver);
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ReceiverRefused) return error.reason;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('ReceiverPolicy', () => {
  const table = {
    'hooks.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    'internal.example.com': ['10.0.0.7'],
  };

  it('in production: https only, public addresses only, every address of a name checked', async () => {
    const resolver = new TableResolver(table);
    const rules = policy(true, false, resolver);
    expect(await rules.accept('https://hooks.example.com/h?x=1')).toBe(
      'https://hooks.example.com/h?x=1',
    );
    expect(await reasonOf(rules.accept('http://hooks.example.com/h'))).toBe(
      'callbackUrl must be an https:// URL',
    );
    expect(await reasonOf(rules.accept('https://internal.example.com/h'))).toBe(
      "callbackUrl's host must be a public address",
    );
    expect(await reasonOf(rules.accept('https://[::ffff:127.0.0.1]/h'))).toBe(
      "callbackUrl's host must be a public address",
    );
    expect(await reasonOf(rules.accept('https://nowhere.example.com/h'))).toBe(
      "callbackUrl's host could not be resolved (no such host)",
    );
    expect(await reasonOf(rules.accept('ftp://hooks.example.com/h'))).toBe(
      'callbackUrl must be an https:// URL',
    );
  });

  it('at delivery: the first checked address, its family, and unresolvable names retryable', async () => {
    const rules = policy(true, false, new TableResolver(table));
    const target = await rules.target('https://hooks.example.com/h');
    expect(target).toMatchObject({ address: '93.184.215.14', family: 4 });
    expect(target.url.hostname).toBe('hooks.example.com');
    const refused = await rules.target('https://nowhere.example.com/h').catch((error) => error);
    expect(refused).toBeInstanceOf(ReceiverRefused);
    expect((refused as ReceiverRefused).retryable).toBe(true);
    const private_ = await rules.target('https://internal.example.com/h').catch((error) => error);
    expect((private_ as ReceiverRefused).retryable).toBe(false);
  });

  it('outside production: http too, and with private receivers allowed no name is resolved at POST', async () => {
    const resolver = new TableResolver(table);
    const rules = policy(false, true, resolver);
    expect(await rules.accept('http://127.0.0.1:8080/h')).toBe('http://127.0.0.1:8080/h');
    expect(await rules.accept('http://not-resolved.example/h')).toBe(
      'http://not-resolved.example/h',
    );
    expect(resolver.asked).toEqual([]);
    expect((await rules.target('http://internal.example.com/h')).address).toBe('10.0.0.7');
  });

  it('WEBHOOK_ALLOW_PRIVATE in production lets loopback through, still https only', async () => {
    const rules = policy(true, true, new TableResolver(table));
    expect(await rules.accept('https://127.0.0.1:8443/h')).toBe('https://127.0.0.1:8443/h');
    expect(await reasonOf(rules.accept('http://127.0.0.1:8443/h'))).toBe(
      'callbackUrl must be an https:// URL',
    );
  });

  it('refuses credentials, relative and over-long URLs before resolving anything', async () => {
    const resolver = new TableResolver(table);
    const rules = policy(true, false, resolver);
    expect(await reasonOf(rules.accept('https://u:p@hooks.example.com/h'))).toBe(
      'callbackUrl must not carry a user name or password',
    );
    expect(await reasonOf(rules.accept('/relative'))).toBe('callbackUrl must be an absolute URL');
    expect(await reasonOf(rules.accept(`https://hooks.example.com/${'a'.repeat(2030)}`))).toBe(
      'callbackUrl must be at most 2048 characters',
    );
    // within 2,048 as typed, over it once normalised (spaces percent-encoded)
    expect(await reasonOf(rules.accept(`https://hooks.example.com/${'a b'.repeat(600)}`))).toBe(
      'callbackUrl must be at most 2048 characters',
    );
    expect(resolver.asked).toEqual([]);
  });
});
