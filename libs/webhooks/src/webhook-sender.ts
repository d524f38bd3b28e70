import { Injectable } from '@nestjs/common';
import http from 'node:http';
import https from 'node:https';
import type { LookupAddress } from 'node:dns';
import { performance } from 'node:perf_hooks';
import type { ReceiverTarget } from './receiver-policy';

/** One attempt's whole wait: connection, TLS, request and the response's status line. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** The longest Retry-After of a 429 that is honoured. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/** What one attempt got: an answer (any status), or none (network error, timeout). */
export type DeliveryResponse =
  | { answered: true; status: number; retryAfterMs?: number; durationMs: number }
  | { answered: false; reason: string; durationMs: number };

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now, at most an hour. */
export function retryAfterMsOf(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/**
 * Sends one webhook attempt with `node:http`/`https`: a fresh connection to the address the
 * receiver check returned (the `lookup` hands it over; TLS still verifies the URL's host name),
 * no redirect followed, the response body never read, DELIVERY_TIMEOUT_MS for the whole wait.
 */
@Injectable()
export class WebhookSender {
  send(
    target: ReceiverTarget,
    headers: Record<string, string>,
    body: string,
    signal?: AbortSignal,
  ): Promise<DeliveryResponse> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const timeout = AbortSignal.timeout(DELIVERY_TIMEOUT_MS);
    const stop = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const { address, family } = target;
    const send = target.url.protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve) => {
      const request = send(
        target.url,
        {
          method: 'POST',
          agent: false,
          signal: stop,
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            'user-agent': 'rocket-launch-webhooks/1',
          },
          lookup: (
            _hostname: string,
            options: { all?: boolean },
            callback: (
              error: NodeJS.ErrnoException | null,
              address: string | LookupAddress[],
              family?: number,
            ) => void,
          ) =>
            options.all ? callback(null, [{ address, family }]) : callback(null, address, family),
        },
        (response) => {
          resolve({
            answered: true,
            status: response.statusCode ?? 0,
            retryAfterMs: retryAfterMsOf(response.headers['retry-after']),
            durationMs: elapsed(),
          });
          // the body is never read: the status is the answer
          response.destroy();
        },
      );
      request.on('error', (error: NodeJS.ErrnoException) => {
        const reason = timeout.aborted
          ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`
          : stop.aborted
            ? 'stopped'
            : (error.code ?? error.message);
        resolve({ answered: false, reason, durationMs: elapsed() });
      });
      request.end(body);
    });
  }
}
