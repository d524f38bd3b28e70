import { withTimeout } from '@app/lifecycle';
import { Resolver } from 'node:dns/promises';
import { addressLiteralOf } from './receiver-address';

/** One DNS query's wait, and tries per server (c-ares' own settings). */
const QUERY_TIMEOUT_MS = 1500;
const QUERY_TRIES = 2;
/** A whole resolution never waits longer than this. */
export const RESOLVE_TIMEOUT_MS = 5000;

/** A receiver's host could not be turned into addresses (no such name, DNS down or slow). */
export class HostResolutionError extends Error {
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(`${host}: ${reason}`);
    this.name = 'HostResolutionError';
  }
}

/** Turns a URL's host into the addresses a connection may go to. */
export interface HostResolver {
  resolve(hostname: string): Promise<string[]>;
}

/**
 * Resolves receivers' names through DNS with c-ares (`dns.promises.Resolver`): queries of its
 * own with a bounded wait, on the event loop — not `dns.lookup`, whose getaddrinfo calls hold
 * libuv's four pool threads (shared with file writes and crypto) for as long as a slow name
 * server takes. A and AAAA are asked together. Servers: WEBHOOK_DNS_SERVERS, else the system's.
 * `/etc/hosts` is not read; `localhost` and `*.localhost` are the loopback (RFC 6761).
 */
export class DnsHostResolver implements HostResolver {
  private readonly resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });

  constructor(servers: string[] = []) {
    if (servers.length > 0) this.resolver.setServers(servers);
  }

  async resolve(hostname: string): Promise<string[]> {
    const literal = addressLiteralOf(hostname);
    if (literal) return [literal];
    const name = hostname.replace(/\.$/, '').toLowerCase();
    if (name === 'localhost' || name.endsWith('.localhost')) return ['127.0.0.1', '::1'];
    const answers = await withTimeout(
      Promise.allSettled([this.resolver.resolve4(name), this.resolver.resolve6(name)]),
      RESOLVE_TIMEOUT_MS,
      `resolving ${name}`,
    ).catch(() => {
      // c-ares ends its own queries after QUERY_TIMEOUT_MS × QUERY_TRIES per server
      throw new HostResolutionError(name, 'DNS did not answer in time');
    });
    const addresses = answers.flatMap((answer) =>
      answer.status === 'fulfilled' ? answer.value : [],
    );
    if (addresses.length > 0) return addresses;
    const codes = answers.map((answer) =>
      answer.status === 'rejected' ? (answer.reason as NodeJS.ErrnoException).code : undefined,
    );
    const missing = codes.every((code) => code === 'ENOTFOUND' || code === 'ENODATA');
    throw new HostResolutionError(
      name,
      missing ? 'no such host' : `DNS failed (${codes.filter(Boolean).join(', ')})`,
    );
  }
}
