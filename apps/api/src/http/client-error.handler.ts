import { PROBLEM_CONTENT_TYPE, defaultDetailFor, problemDetails } from '@app/exceptions';
import { getLogger } from '@app/logging';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

const logger = getLogger('HttpServer');

/**
 * Requests Node's HTTP parser rejects (a raw newline in a header, a malformed request line)
 * never reach Express; they still get problem details instead of Node's bare 400.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const requestId = randomUUID();
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
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\n` +
        'X-Content-Type-Options: nosniff\r\n' +
        'Cache-Control: no-store\r\n' +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}
