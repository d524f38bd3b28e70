import { PROBLEM_CONTENT_TYPE, defaultDetailFor, problemDetails } from '@app/exceptions';
import { accessRootLogger, getLogger } from '@app/logging';
import { BanList, normalizeIp } from '@app/security';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

const logger = getLogger('HttpServer');

/**
 * Requests Node's HTTP parser rejects (a raw newline in a header, a malformed request line,
 * headers too large) never reach Express; they still get what every answer gets: the security
 * headers, a request id, problem details, an access line and a count toward the client's limit.
 */
export function answerClientErrors(
  server: Server,
  options: { headers: Record<string, string>; bans: BanList },
): void {
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const requestId = randomUUID();
    const ip = normalizeIp((socket as Socket).remoteAddress);
    // The request line was not readable: neither its path nor a finer reason can be trusted.
    const body = JSON.stringify(
      problemDetails({
        status,
        code: 'BAD_REQUEST',
        detail: defaultDetailFor(400),
        instance: '/',
        requestId,
      }),
    );
    logger.warn(
      { status, parserError: error.code, requestId },
      'rejected a malformed HTTP request',
    );
    accessRootLogger().info(
      { status, path: '/', ip, requestId, parserError: error.code, durationMs: 0 },
      'request completed',
    );
    if (!options.bans.isExempt(ip)) options.bans.consumeRequest(ip).catch(() => undefined);
    const headers = {
      ...options.headers,
      'Content-Type': PROBLEM_CONTENT_TYPE,
      'Content-Length': String(Buffer.byteLength(body)),
      'X-Request-Id': requestId,
      Connection: 'close',
    };
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        Object.entries(headers)
          .map(([name, value]) => `${name}: ${value}\r\n`)
          .join('') +
        '\r\n' +
        body,
    );
  });
}
