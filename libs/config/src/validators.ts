import { isIP } from 'node:net';
import { ValidateBy, ValidationOptions, buildMessage } from 'class-validator';

/** Turns an integer-looking string into a number; anything else is left as is for the validator to name. */
export function toInteger(value: unknown): unknown {
  return typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
}

export function toNumber(value: unknown): unknown {
  return typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())
    ? Number(value.trim())
    : value;
}

export function toBoolean(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const normalized = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalized)) return true;
  if (['false', '0', 'no', 'off'].includes(normalized)) return false;
  return value;
}

export function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** An IP address or a CIDR block (`10.0.0.0/8`, `fd00::/8`). */
export function isAddressOrCidr(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

export function isTrustProxy(value: string): boolean {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) <= 32;
  const entries = splitList(trimmed);
  return (
    entries.length > 0 &&
    entries.every((entry) => PROXY_NAMES.includes(entry) || isAddressOrCidr(entry))
  );
}

export function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.origin === value.replace(/\/$/, '')
    );
  } catch {
    return false;
  }
}

export function IsUrlWithProtocol(protocols: string[], options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isUrlWithProtocol',
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string') return false;
          try {
            const url = new URL(value);
            return protocols.includes(url.protocol.replace(/:$/, '')) && url.hostname.length > 0;
          } catch {
            return false;
          }
        },
        defaultMessage: buildMessage((prefix) => `${prefix}$property must be a valid URL`, options),
      },
    },
    options,
  );
}

function listValidator(name: string, accept: (value: string) => boolean) {
  return (options?: ValidationOptions) =>
    ValidateBy(
      {
        name,
        validator: {
          validate: (value: unknown) => typeof value === 'string' && accept(value),
          defaultMessage: buildMessage((prefix) => `${prefix}$property is invalid`, options),
        },
      },
      options,
    );
}

/** `host:port`, the way Sentinel and Cluster node lists are written (IPv6 in brackets). */
export function parseHostPort(entry: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(entry.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1] ?? match[2], port };
}

export const IsHostPortList = listValidator(
  'isHostPortList',
  (value) => splitList(value).length > 0 && splitList(value).every((e) => !!parseHostPort(e)),
);

export const IsTrustProxy = listValidator('isTrustProxy', isTrustProxy);
export const IsAddressList = listValidator('isAddressList', (value) =>
  splitList(value).every(isAddressOrCidr),
);
export const IsOriginList = listValidator(
  'isOriginList',
  (value) => splitList(value).length > 0 && splitList(value).every(isOrigin),
);
