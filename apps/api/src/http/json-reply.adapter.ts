import { StreamableFile } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Response } from 'express';

/** The Content-Type Express's `res.json` ends up sending, set once instead of re-parsed. */
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Nest's Express adapter with a cheaper answer for what nearly every route returns: a JSON
 * object. Express's `res.json` → `res.send` re-derives the Content-Type on every response
 * (`mime.contentType`, then `content-type`'s parse and format to add the charset) and checks
 * freshness; with ETags off (the app sets `etag` false and no route sets ETag or
 * Last-Modified) none of that can change the answer, and it was the largest single cost of a
 * liveness probe after the socket write. The bytes, the status and the headers are the ones
 * Express sends (Content-Type with its charset, Content-Length; no body for HEAD, 204 and 304).
 * Anything else — strings, streams, errors, a non-JSON Content-Type a handler chose — goes the
 * adapter's own way.
 */
export class JsonReplyExpressAdapter extends ExpressAdapter {
  override reply(response: Response, body: unknown, statusCode?: number): unknown {
    if (
      body === null ||
      typeof body !== 'object' ||
      body instanceof Error ||
      !isJsonReply(response, body)
    )
      return super.reply(response, body, statusCode);
    return sendJson(response, body, statusCode);
  }
}

/**
 * Writes `body` as JSON the way Express's `res.json` would (Content-Type with its charset,
 * Content-Length, no body for HEAD, 204 and 304), without re-deriving the Content-Type or
 * checking freshness: the answer of every JSON route, and of the liveness probe.
 */
export function sendJson(response: Response, body: object, statusCode?: number): Response {
  if (statusCode) response.statusCode = statusCode;
  const status = response.statusCode;
  if (status === 204 || status === 304) {
    response.removeHeader('Content-Type');
    response.removeHeader('Content-Length');
    return response.end();
  }
  const text = JSON.stringify(body);
  // as Express sends it: a short body as a string, a longer one encoded once into a Buffer
  const chunk = text.length < 1000 ? text : Buffer.from(text);
  response.setHeader('Content-Type', JSON_CONTENT_TYPE);
  response.setHeader('Content-Length', Buffer.byteLength(chunk));
  return response.req.method === 'HEAD' ? response.end() : response.end(chunk);
}

/** A plain JSON answer: no stream, no Content-Type of another kind set by the handler. */
function isJsonReply(response: Response, body: object): boolean {
  if (body instanceof StreamableFile) return false;
  const type = response.getHeader('Content-Type');
  return type === undefined || (typeof type === 'string' && type.startsWith('application/json'));
}
