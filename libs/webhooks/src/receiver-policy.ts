import { AppConfig } from '@app/config';
import { Inject, Injectable } from '@nestjs/common';
import { HOST_RESOLVER } from './tokens';
import { HostResolutionError, HostResolver } from './host-resolver';
import { isPublicAddress } from './receiver-address';

/** The longest `callbackUrl` a generation may carry (SPEC §14). */
export const CALLBACK_URL_MAX_LENGTH = 2048;

/**
 * Why a receiver is not acceptable, in words a client may read (no address is echoed);
 * `retryable` when it may be acceptable later (its name did not resolve).
 */
export class ReceiverRefused extends Error {
  constructor(
    readonly reason: string,
    readonly retryable = false,
  ) {
    super(reason);
    this.name = 'ReceiverRefused';
  }
}

/** Where one delivery goes: the URL, and the address its connection must reach. */
export interface ReceiverTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/**
 * The rules a webhook receiver must meet, at POST time and again at every delivery: https
 * (http as well outside production), at most 2,048 characters, no credentials in the URL and,
 * unless WEBHOOK_ALLOW_PRIVATE, a host that is — and resolves only to — public unicast
 * addresses. A delivery connects to the address this check returned, so a name that resolves
 * elsewhere by the time of the connection (DNS rebinding) cannot redirect it.
 */
@Injectable()
export class ReceiverPolicy {
  private readonly schemes: string[];
  private readonly allowPrivate: boolean;

  constructor(
    config: AppConfig,
    @Inject(HOST_RESOLVER) private readonly resolver: HostResolver,
  ) {
    this.schemes = config.isProduction ? ['https:'] : ['https:', 'http:'];
    this.allowPrivate = config.webhooks.allowPrivate;
  }

  /** The URL's form alone; a `ReceiverRefused` says what is wrong. */
  parse(raw: string): URL {
    if (raw.length > CALLBACK_URL_MAX_LENGTH)
      throw new ReceiverRefused(
        `callbackUrl must be at most ${CALLBACK_URL_MAX_LENGTH} characters`,
      );
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ReceiverRefused('callbackUrl must be an absolute URL');
    }
    if (!this.schemes.includes(url.protocol))
      throw new ReceiverRefused(
        this.schemes.length === 1
          ? 'callbackUrl must be an https:// URL'
          : 'callbackUrl must be an http:// or https:// URL',
      );
    if (url.username || url.password)
      throw new ReceiverRefused('callbackUrl must not carry a user name or password');
    if (url.href.length > CALLBACK_URL_MAX_LENGTH)
      throw new ReceiverRefused(
        `callbackUrl must be at most ${CALLBACK_URL_MAX_LENGTH} characters`,
      );
    return url;
  }

  /**
   * What POST accepts: the URL normalised (`href`). Its host is resolved only when private
   * addresses are refused — outside that rule a name is resolved at delivery.
   */
  async accept(raw: string): Promise<string> {
    const url = this.parse(raw);
    if (!this.allowPrivate) await this.addressesOf(url);
    return url.href;
  }

  /** Where a delivery to `raw` connects: resolved now, checked now. */
  async target(raw: string): Promise<ReceiverTarget> {
    const url = this.parse(raw);
    const [address] = await this.addressesOf(url);
    return { url, address, family: address.includes(':') ? 6 : 4 };
  }

  /** The host's addresses; every one must be public unless private ones are allowed. */
  private async addressesOf(url: URL): Promise<string[]> {
    let addresses: string[];
    try {
      addresses = await this.resolver.resolve(url.hostname);
    } catch (error) {
      if (error instanceof HostResolutionError)
        throw new ReceiverRefused(
          `callbackUrl's host could not be resolved (${error.reason})`,
          true,
        );
      throw error;
    }
    if (!this.allowPrivate && !addresses.every(isPublicAddress))
      throw new ReceiverRefused("callbackUrl's host must be a public address");
    return addresses;
  }
}
